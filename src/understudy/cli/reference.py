"""Write the CLI reference (docs/cli.md) from the commands themselves."""

from __future__ import annotations

from typing import Any

import typer

__all__ = ["cli_reference"]


# Typer vendors its own click, so commands are inspected by shape, not by class.


def _params(command: Any) -> list[str]:
    lines: list[str] = []
    for param in command.params:
        if param.name == "help" or getattr(param, "hidden", False):
            continue
        if param.param_type_name == "argument":
            text = (getattr(param, "help", None) or "").strip()
            lines.append(f"- `{(param.name or '').upper()}`: {text}".rstrip(": "))
            continue
        if param.param_type_name == "option":
            flags = ", ".join(f"`{flag}`" for flag in param.opts)
            text = (param.help or "").strip()
            lines.append(f"- {flags}: {text}" if text else f"- {flags}")
    return lines


def _walk(command: Any, path: str, out: list[str]) -> None:
    if hasattr(command, "commands"):
        for name in sorted(command.commands):
            _walk(command.commands[name], f"{path} {name}", out)
        return
    usage = " ".join(command.collect_usage_pieces(command.context_class(command)))
    out.append(f"## `{path}`\n")
    out.append((command.help or "").strip().split("\n\n")[0] + "\n")
    out.append(f"```\n{path} {usage}\n```\n")
    params = _params(command)
    if params:
        out.append("\n".join(params) + "\n")


def cli_reference(app: typer.Typer) -> str:
    """Return the Markdown reference of every command of ``app``."""
    root = typer.main.get_command(app)
    out = [
        "# CLI reference\n",
        "Generated from the commands by `python scripts/cli_docs.py`; "
        "a test fails when it is out of date.\n",
    ]
    _walk(root, "understudy", out)
    return "\n".join(out)
