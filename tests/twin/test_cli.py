"""The twin from the command line: train, predict, correct, report, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.twin.mailboxes import item_titled
from understudy.cli import main
from understudy.cli.common import open_configured_store

ORG = """
[[people]]
id = "ann"
name = "Ann Lee"
emails = ["ann@co.example"]
manager = "bo"

[[people]]
id = "bo"
name = "Bo Boss"
emails = ["bo@co.example"]

[[people]]
id = "pat"
name = "Pat Peer"
emails = ["pat@co.example"]
manager = "bo"

[[people]]
id = "ray"
name = "Ray Report"
emails = ["ray@co.example"]
manager = "ann"
"""
PREDICTION_KEYS = {
    "distribution",
    "p_reply",
    "latency_bucket",
    "folder",
    "p_folder",
    "confidence",
    "neighbours",
    "explanation",
    "draft",
}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def item_id(title: str) -> int:
    store = open_configured_store()
    try:
        return item_titled(store, title).id or 0
    finally:
        store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def deployment(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    ann_root: Path,
    tmp_path: Path,
) -> Path:
    """Configure a store (SQLite in the home, or PostgreSQL) holding Ann's org and mail."""
    if request.param == "postgres":
        monkeypatch.setenv("UNDERSTUDY_DATABASE_URL", request.getfixturevalue("postgres_url"))
    org = tmp_path / "org.toml"
    org.write_text(ORG)
    assert run(capsys, "org", "load", str(org))[0] == 0
    code, out, err = run(capsys, "ingest", "maildir", str(ann_root), "--owner", "ann", "--json")
    assert code == 0, err
    assert json.loads(out)["problems"] == 0
    return ann_root


def predict(capsys: pytest.CaptureFixture[str], item: int) -> dict[str, Any]:
    code, out, err = run(capsys, "predict", str(item), "--for", "ann", "--json")
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def test_train_predict_correct_and_report(
    deployment: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, "twin", "train", "--for", "ann", "--json")
    assert code == 0, err
    (trained,) = json.loads(out)
    assert trained["person"] == "ann"
    assert trained["folders"] == ["Projects", "Receipts"]

    boss = item_id("Budget Line 35")
    prediction = predict(capsys, boss)
    assert set(prediction) >= PREDICTION_KEYS
    assert prediction["p_reply"] > 0.5
    assert prediction["latency_bucket"] == "<=25min"
    assert str(prediction["draft"]).startswith("Hi Bo,")
    assert any("bo@co.example" in line for line in prediction["explanation"])

    code, out, err = run(
        capsys, "feedback", str(boss), "--for", "ann", "--action", "ignore", "--json"
    )
    assert code == 0, err
    assert json.loads(out) == {
        "person": "ann",
        "item": boss,
        "action": "ignore",
        "target": None,
        "origin": "correction",
    }
    assert predict(capsys, boss)["p_reply"] < prediction["p_reply"]

    out_dir = tmp_path / "report"
    code, _, err = run(capsys, "twin", "report", "--for", "ann", "--out", str(out_dir))
    assert code == 0, err
    pngs = sorted(p.name for p in out_dir.glob("*.png"))
    assert pngs == ["activity-ann.png", "reliability-ann.png", "risk-coverage-ann.png"]
    for name in pngs:
        assert (out_dir / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    report = json.loads((out_dir / "twin-ann.json").read_text())
    assert report["style"]["audiences"]["boss"]["greeting"] == "Hi {name},"


def one_line_error(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code, _, err = run(capsys, *args)
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return code, lines[0]


def test_errors_are_one_clear_line(deployment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    boss = str(item_id("Budget Line 35"))

    code, line = one_line_error(capsys, "predict", boss, "--for", "nobody")
    assert code == 4
    assert "no person 'nobody'; run 'understudy people'" in line

    for command in (
        ("predict", boss, "--for", "ann"),
        ("feedback", boss, "--for", "ann", "--action", "ignore"),
        ("twin", "report", "--for", "ann"),
    ):
        code, line = one_line_error(capsys, *command)
        assert code == 4
        assert "no twin for 'ann' yet; run 'understudy twin train --for ann'" in line

    code, line = one_line_error(capsys, "twin", "train", "--for", "nobody")
    assert (code, "no person 'nobody'" in line) == (4, True)
    code, line = one_line_error(capsys, "twin", "train", "--for", "bo", "--json")
    assert code == 4
    assert "no received mail for 'bo'" in line

    assert run(capsys, "twin", "train", "--for", "ann", "--json")[0] == 0
    code, line = one_line_error(capsys, "predict", "999999", "--for", "ann")
    assert "item 999999 does not exist" in line
    code, line = one_line_error(
        capsys, "feedback", boss, "--for", "ann", "--action", "file", "--json"
    )
    assert code == 2
    assert "--action file needs --target FOLDER" in line
