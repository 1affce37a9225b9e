"""Keep modules and functions small, the CLI documented, and docs in step with code."""

from __future__ import annotations

import ast
from pathlib import Path

from understudy.cli import app
from understudy.cli.reference import cli_reference

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "src" / "understudy").rglob("*.py"))
MAX_MODULE_LINES = 800
MAX_FUNCTION_LINES = 60


def test_modules_stay_under_800_lines() -> None:
    big = {
        str(p.relative_to(ROOT)): n
        for p in SOURCES
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert big == {}, f"split these modules: {big}"


def test_functions_stay_under_60_lines() -> None:
    long: dict[str, int] = {}
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = length
    assert long == {}, f"split these functions: {long}"


def test_init_modules_hold_no_logic() -> None:
    for path in SOURCES:
        if path.name != "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        logic = [
            node
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
        ]
        assert logic == [], f"{path.relative_to(ROOT)} defines {[n.name for n in logic]}"


def test_cli_reference_is_up_to_date() -> None:
    written = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert written == cli_reference(app), "run: python scripts/cli_docs.py"
