"""Regenerate docs/cli.md from the CLI."""

from pathlib import Path

from understudy.cli import app
from understudy.cli.reference import cli_reference

target = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
target.write_text(cli_reference(app), encoding="utf-8")
print(f"wrote {target}")
