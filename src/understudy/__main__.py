"""Run the CLI with ``python -m understudy``."""

from understudy.cli import entry

if __name__ == "__main__":  # not when a spawned server worker imports this module
    entry()
