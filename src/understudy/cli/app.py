"""The ``understudy`` command: one Typer app, errors printed as one line."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

import typer

from understudy import __version__
from understudy.cli import agent, brain, demo, directory, evaluate, ingest, serve, twin
from understudy.cli.common import err
from understudy.errors import UnderstudyError

__all__ = ["app", "main"]

app = typer.Typer(
    name="understudy",
    help="An AI understudy for every person: reads what they read, learns how they decide, "
    "answers within permissions, and asks before it acts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"understudy {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Run Understudy."""
    level = os.environ.get("UNDERSTUDY_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(
        level=getattr(logging, level, logging.WARNING), format="%(levelname)s %(name)s: %(message)s"
    )
    # Libraries that complain about every damaged file they are handed; our own
    # problem records already name the file and the reason.
    for noisy in ("pypdf", "fontTools", "PIL"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


for module in (directory, ingest, brain, agent, twin, evaluate, demo, serve):
    module.register(app)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; print an Understudy error as one line and exit with its code."""
    try:
        result = app(args=list(argv) if argv is not None else None, standalone_mode=False)
    except UnderstudyError as exc:
        err.print(f"[red]Error:[/red] {exc}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except typer.Abort:
        err.print("Aborted.")
        return 130
    except typer.Exit as exc:
        return int(exc.exit_code)
    except KeyboardInterrupt:
        err.print("Interrupted; what was committed is kept — run the command again to resume.")
        return 130
    except Exception as exc:
        # Usage errors come from the click that Typer bundles; they know how to show themselves.
        show = getattr(exc, "show", None)
        if callable(show) and isinstance(getattr(exc, "exit_code", None), int):
            show()
            return int(exc.exit_code)  # type: ignore[attr-defined]
        raise
    return result if isinstance(result, int) else 0


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
