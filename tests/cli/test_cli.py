"""The command line as a user meets it: help, JSON, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from understudy.cli import main

ORG = """
[[people]]
id = "ceo"
name = "Cat Ceo"
title = "Chief Executive Officer"
emails = ["cat@acme.example"]
groups = ["exec"]

[[people]]
id = "dev"
name = "Dan Dev"
title = "Engineer"
manager = "ceo"
emails = ["dan@acme.example"]

[[groups]]
id = "exec"

[[projects]]
id = "atlas"
name = "Atlas"
members = ["dev"]
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "understudy", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in (
        "config",
        "people",
        "projects",
        "org",
        "ingest",
        "sync",
        "sources",
        "stats",
        "demo",
    ):
        assert command in out


def test_people_json_after_loading_an_org_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    org = tmp_path / "org.toml"
    org.write_text(ORG)
    code, out, _ = run(capsys, "org", "load", str(org), "--json")
    assert code == 0
    assert json.loads(out) == {"people": 2, "groups": 1, "projects": 1}
    code, out, _ = run(capsys, "people", "--json")
    people = json.loads(out)
    assert [p["id"] for p in people] == ["ceo", "dev"]
    assert {"id", "name", "title", "emails", "groups"} <= set(people[0])
    assert people[0]["emails"] == ["cat@acme.example"]
    assert people[0]["groups"] == ["exec"]
    code, out, _ = run(capsys, "projects", "--json")
    assert json.loads(out)[0]["members"] == ["dev"]


def test_config_shows_where_each_value_came_from(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNDERSTUDY_TIMEZONE", "Europe/Oslo")
    code, out, _ = run(capsys, "config", "--json")
    rows = {row["name"]: row for row in json.loads(out)}
    assert code == 0
    assert rows["timezone"] == {**rows["timezone"], "value": "Europe/Oslo", "origin": "environment"}
    assert rows["org"]["origin"] == "default"


def test_stats_json_on_an_empty_home(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "stats", "--json")
    assert (code, json.loads(out)) == (0, {"items": {}, "decisions": {}})


def _one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_a_malformed_org_file_is_one_clear_line(tmp_path: Path) -> None:
    org = tmp_path / "org.toml"
    org.write_text("[[people]]\nid = 'x'\n")
    _one_line_error(cli("org", "load", str(org)), str(org), "missing field 'name'")


def test_an_unreachable_database_is_one_clear_line() -> None:
    url = "postgresql://nobody:secret@127.0.0.1:1/nowhere"
    result = cli("people", env={"UNDERSTUDY_DATABASE_URL": url})
    _one_line_error(
        result, "postgresql://nobody:***@127.0.0.1:1/nowhere", "UNDERSTUDY_DATABASE_URL"
    )
    assert "secret" not in result.stderr


def test_a_read_only_home_is_one_clear_line(tmp_path: Path) -> None:
    target = "/proc/1/understudy" if os.geteuid() == 0 else str(tmp_path / "ro" / "home")
    if os.geteuid() != 0:
        (tmp_path / "ro").mkdir()
        (tmp_path / "ro").chmod(0o500)
    _one_line_error(cli("people", env={"UNDERSTUDY_HOME": target}), target, "UNDERSTUDY_HOME")


def test_an_unknown_person_says_what_to_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "ingest", "files", str(tmp_path), "--owner", "ghost")
    assert code == 4
    assert "no person 'ghost'" in err
    assert "understudy people" in err
