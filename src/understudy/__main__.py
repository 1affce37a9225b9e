"""Run the CLI with ``python -m understudy``."""

from understudy.cli import entry

entry()
