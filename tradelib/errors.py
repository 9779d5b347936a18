"""Exceptions raised by tradelib. Messages name the file, what is wrong and how to fix it."""

from __future__ import annotations


class TradelibError(Exception):
    """Base class for every error tradelib raises on purpose."""


class FetchError(TradelibError):
    """A file could not be downloaded or copied from the mirror."""


class ParseError(TradelibError):
    """A raw file does not have the layout its parser expects."""


class ValidationError(TradelibError):
    """A parsed table breaks a validation rule."""


class MissingDataError(TradelibError):
    """A needed raw file has not been fetched (and no mirror is configured)."""


class IntegrityError(TradelibError):
    """A stored file no longer matches the checksum recorded when it was fetched or built, or a
    mirror's MANIFEST is missing, partial or malformed."""
