"""``python -m tradelib`` entry point."""

from tradelib.cli import main

raise SystemExit(main())
