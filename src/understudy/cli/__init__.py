"""The ``understudy`` command line."""

from understudy.cli.app import app, entry, main

__all__ = ["app", "entry", "main"]
