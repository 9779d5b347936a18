"""Output folders a command owns: never delete or overwrite a file the command did not create.

API (for every command that writes a folder of outputs: ``student``, ``run``, ``site``/book)
--------------------------------------------------------------------------------------------
``d = OwnedDir.claim(path, command="student")``
    Take ``path`` as the output folder of ``command``. Allowed: a folder that does not exist
    (it is created), an empty folder, or a folder that already carries this command's marker
    file ``.tradelib-owned.json``. Refused with :class:`OutputDirError` (a message naming the
    folder, what is wrong and what to do): an existing *file*, a non-empty folder without the
    marker, a folder owned by another command, the committed ``notebooks/`` folder (or a folder
    inside it, or one that contains it, e.g. the project root), and a folder that cannot be
    written. ``protected=[...]`` adds more folders that must never be outputs.
    ``legacy={names}``: a folder without the marker whose entries are *all* among these names
    (outputs an older tradelib wrote to its default location, before markers existed) is
    adopted: the marker is created and those files are recorded as the command's own.
``d.path(name)``
    Absolute path of ``name`` (a relative path inside the folder; ``..`` is refused).
``d.write_bytes(name, data)`` / ``d.write_text(name, text)``
    Write one file atomically (temporary file in the same folder, fsync, rename) and record it
    in the marker. Refused if ``name`` exists but was not created by this command.
``with d.atomic(name) as tmp: <write to tmp>``
    For writers that need a path (papermill, nbformat, pandas): write to ``tmp`` (a hidden
    temporary path in the folder); on success it is renamed to ``name`` and recorded; on any
    error or interrupt the temporary file is removed and ``name`` is left as it was.
``d.owned()``
    The set of names (relative paths) this command created in the folder.
``d.remove_stale(keep)``
    Delete the files this command created that are not in ``keep`` (names); files it did not
    create are never touched. Returns the deleted paths.
``d.remove(name)``
    Delete one file this command created (refused for a file it did not create).
``d.remove_partials()``
    Delete temporary files a killed writer of this command left behind (only temporaries of
    files it owns); call it while holding the command's own lock.

The marker is JSON ``{"tool": "tradelib", "command": ..., "files": [...]}``; every update is
atomic and serialised with an advisory lock on the folder (``fcntl.flock``), so two processes
writing into the same folder do not lose each other's records. Files are created with the
usual permissions (``0666`` minus the umask), not ``0600``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from tradelib.data.fetch import atomic_write_bytes, current_umask
from tradelib.errors import TradelibError

MARKER = ".tradelib-owned.json"
_PART = re.compile(r"[A-Za-z0-9_]+\.part(\.\w+)?")  # what follows ".<name>." in a temp file


class OutputDirError(TradelibError):
    """An output folder cannot be used (not ours, protected, not writable, ...)."""


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def atomic_write(dest: Path, data: bytes) -> None:
    """Write ``data`` to ``dest`` through a temporary file in the same folder and a rename.

    On any error (full disk, interrupt) the temporary file is removed and ``dest`` is unchanged.
    The file gets the usual permissions (``0666 & ~umask``). Same writer as the data layer's
    (:func:`tradelib.data.fetch.atomic_write_bytes`), plus an fsync of the folder.
    """
    dest = Path(dest)
    atomic_write_bytes(dest, [data])
    _fsync_dir(dest.parent)


def default_protected() -> list[Path]:
    """Folders no command may use as an output: the committed notebooks of this checkout."""
    from tradelib import config

    return [config.project_root() / "notebooks"]


def _is_within(a: Path, b: Path) -> bool:
    try:
        a.relative_to(b)
        return True
    except ValueError:
        return False


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``folder`` (serialises marker updates between processes)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


class OwnedDir:
    """An output folder owned by one command (see the module docstring for the API)."""

    def __init__(self, root: Path, command: str) -> None:
        self.root = root
        self.command = command

    # ------------------------------------------------------------------ claiming
    @classmethod
    def claim(cls, path: str | os.PathLike[str], *, command: str,
              protected: Iterable[str | os.PathLike[str]] | None = None,
              option: str = "--out", legacy: Iterable[str] | None = None) -> OwnedDir:
        """Take ``path`` as ``command``'s output folder, or raise :class:`OutputDirError`."""
        root = Path(path).expanduser()
        shown = f"{option} {path}"
        guarded = [Path(p).expanduser().resolve() for p in
                   (default_protected() if protected is None else
                    [*default_protected(), *protected])]
        resolved = root.resolve()
        for g in guarded:
            if _is_within(resolved, g) or _is_within(g, resolved):
                raise OutputDirError(
                    f"{shown}: refusing to write into {resolved}, which is or holds the "
                    f"committed folder {g}; its files would be overwritten or deleted. Choose an "
                    "empty or new folder elsewhere (e.g. the default)."
                )
        if root.exists() and not root.is_dir():
            raise OutputDirError(
                f"{shown}: {root} is an existing file, not a folder. Pass a new or empty folder."
            )
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputDirError(
                f"{shown}: cannot create the folder {root} ({exc.strerror or exc}). Pass a folder "
                "you can write to."
            ) from None
        self = cls(root, command)
        with self._lock():
            marker = root / MARKER
            if marker.exists():
                info = self._read_marker()
                owner = info.get("command")
                if owner != command:
                    raise OutputDirError(
                        f"{shown}: {root} holds the output of `{owner}` (marker {MARKER}), not of "
                        f"`{command}`. Pass another folder."
                    )
            else:
                others = [p.name for p in root.iterdir()]
                known = set(legacy or ())
                if others and known and all(n in known and (root / n).is_file() for n in others):
                    self._write_marker({"tool": "tradelib", "command": command,
                                        "files": sorted(others)})
                    return self
                if others:
                    listed = ", ".join(sorted(others)[:5]) + (" ..." if len(others) > 5 else "")
                    raise OutputDirError(
                        f"{shown}: {root} is not empty ({len(others)} entries: {listed}) and was "
                        f"not created by `python -m tradelib {command}` (no {MARKER} marker). "
                        "Refusing to overwrite or delete files tradelib did not write: pass a new "
                        "or empty folder."
                    )
                self._write_marker({"tool": "tradelib", "command": command, "files": []})
        return self

    # ------------------------------------------------------------------ marker
    def _lock(self):
        return _locked(self.root)

    def _read_marker(self) -> dict:
        marker = self.root / MARKER
        try:
            info = json.loads(marker.read_text(encoding="utf-8"))
            valid = isinstance(info, dict) and isinstance(info.get("files", []), list)
        except (OSError, ValueError) as exc:
            valid, info = False, exc
        if not valid:
            raise OutputDirError(
                f"{marker}: the ownership marker is damaged ({info}). Delete the folder {self.root} "
                "yourself after checking what is in it, or pass a new folder."
            ) from None
        return info

    def _write_marker(self, info: dict) -> None:
        # an OSError (disk full, no permission) propagates: the command line names the file
        # and says what to do
        atomic_write(self.root / MARKER, json.dumps(info, indent=1, sort_keys=True).encode())

    def _update(self, add: Iterable[str] = (), drop: Iterable[str] = ()) -> None:
        with self._lock():
            info = self._read_marker()
            files = (set(info.get("files", [])) | set(add)) - set(drop)
            info["files"] = sorted(files)
            self._write_marker(info)

    def owned(self) -> set[str]:
        """Names of the files this command created here."""
        return set(self._read_marker().get("files", []))

    # ------------------------------------------------------------------ files
    def path(self, name: str) -> Path:
        """The absolute path of ``name`` inside the folder."""
        rel = Path(name)
        if rel.is_absolute() or ".." in rel.parts or name in ("", MARKER):
            raise OutputDirError(f"{name!r}: not a plain file name inside {self.root}")
        return self.root / rel

    def _check_writable(self, name: str) -> Path:
        dest = self.path(name)
        if (dest.exists() or dest.is_symlink()) and name not in self.owned():
            raise OutputDirError(
                f"{dest}: exists but was not written by `python -m tradelib {self.command}`; "
                "refusing to overwrite it. Move it away or pass another folder."
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        return dest

    def write_bytes(self, name: str, data: bytes) -> Path:
        """Write one file atomically and record it as ours."""
        dest = self._check_writable(name)
        self._update(add=[name])  # recorded first: a crash leaves a record, never a foreign file
        atomic_write(dest, data)
        return dest

    def write_text(self, name: str, text: str) -> Path:
        """:meth:`write_bytes` for UTF-8 text."""
        return self.write_bytes(name, text.encode("utf-8"))

    @contextlib.contextmanager
    def atomic(self, name: str) -> Iterator[Path]:
        """Yield a temporary path; rename it to ``name`` (recorded) when the block succeeds.

        The temporary path is hidden (starts with ``.``) and ends like ``name`` (``.part.ipynb``)
        so tools that check the extension accept it.
        """
        dest = self._check_writable(name)
        self._update(add=[name])
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=f".part{dest.suffix}",
                                   dir=dest.parent)
        os.close(fd)
        try:
            yield Path(tmp)
            os.chmod(tmp, 0o666 & ~current_umask())
            os.replace(tmp, dest)
            _fsync_dir(dest.parent)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def remove_partials(self) -> list[Path]:
        """Delete temporary files left by a killed writer of this command (``.<name>.*.part*``
        for a name this command owns). Call it only while no other writer of the same command
        uses the folder (e.g. under the command's own lock)."""
        gone = []
        for name in self.owned():
            dest = self.path(name)
            if not dest.parent.is_dir():
                continue
            for tmp in dest.parent.glob(f".{dest.name}.*.part*"):
                if _PART.fullmatch(tmp.name[len(dest.name) + 2:]):
                    tmp.unlink(missing_ok=True)
                    gone.append(tmp)
        return gone

    def remove(self, name: str) -> None:
        """Delete one file this command created."""
        dest = self.path(name)
        if name not in self.owned():
            raise OutputDirError(f"{dest}: not created by `{self.command}`; not deleting it")
        with contextlib.suppress(FileNotFoundError):
            dest.unlink()
        self._update(drop=[name])

    def remove_stale(self, keep: Iterable[str]) -> list[Path]:
        """Delete the files this command created that are not in ``keep``; return them."""
        keep = set(keep)
        gone = []
        for name in sorted(self.owned() - keep):
            dest = self.path(name)
            with contextlib.suppress(FileNotFoundError):
                dest.unlink()
                gone.append(dest)
        self._update(drop=self.owned() - keep)
        return gone
