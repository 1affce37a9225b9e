"""``understudy eval twin`` on maildir roots in the Enron layout: figures, plots, predictions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import shared_data
from tests.twin.mailboxes import (
    ANN,
    BOSS,
    NEWS,
    PEER,
    REPORT,
    Mail,
    answering_mails,
    habits_mails,
    write_enron,
)
from understudy.cli import main

SHAPE: dict[str, Any] = {
    "user": None,
    "n_train": None,
    "n_test": None,
    "reply": {"roc_auc", "pr_auc", "ece", "brier"},
    "latency": {"macro_f1"},
    "filing": {"accuracy", "macro_f1", "n_folders"},
    "triage": {"reply_recall_at_top10"},
    "autonomy": {"filing_coverage_at_95", "threshold"},
    "baselines": {
        "majority": {"reply_roc_auc", "filing_accuracy"},
        "sender_rate": {"reply_roc_auc"},
    },
}


def ann_mails() -> list[Mail]:
    """Return Ann's habits, with a copy of every boss message in Enron's all_documents view."""
    mails = habits_mails()
    for mail in mails:
        if mail.sender == BOSS:
            mail.folders = ("INBOX", "all_documents")
    return mails


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write three people's mailboxes in the Enron layout."""
    base = tmp_path_factory.mktemp("enron-like")
    write_enron(base / "lee-a", ann_mails())
    write_enron(base / "boss-b", answering_mails(BOSS, ANN, NEWS))
    write_enron(base / "peer-p", answering_mails(PEER, REPORT, NEWS))
    return base


def evaluate(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> dict[str, Any]:
    code = main(["eval", "twin", "--maildir", str(root), "--user", "lee-a", "--json", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    report: dict[str, Any] = json.loads(out)
    return report


def assert_shape(report: dict[str, Any], shape: dict[str, Any]) -> None:
    assert set(report) >= set(shape)
    for key, inner in shape.items():
        if isinstance(inner, set):
            assert set(report[key]) >= inner, key
        elif isinstance(inner, dict):
            assert_shape(report[key], inner)


def received(mails: list[Mail], since: datetime | None = None) -> list[Mail]:
    return [m for m in mails if m.sender != ANN and (since is None or m.at >= since)]


def test_eval_twin_reports_the_figures_plots_and_predictions(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, lines = tmp_path / "out", tmp_path / "predictions.jsonl"
    report = evaluate(capsys, root, "--out", str(out), "--predictions", str(lines))

    assert_shape(report, SHAPE)
    total = len(received(ann_mails()))
    assert report["user"] == "lee-a"
    assert (report["n_train"], report["n_test"]) == (int(total * 0.8), total - int(total * 0.8))
    assert report["reply"]["roc_auc"] > 0.8
    assert 0 <= report["reply"]["ece"] <= 1
    assert report["filing"]["n_folders"] == 2
    assert report["filing"]["accuracy"] > 0.8
    assert report["baselines"]["majority"]["reply_roc_auc"] == 0.5

    for name in ("reliability-lee-a.png", "risk-coverage-lee-a.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG")
    assert json.loads((out / "twin-lee-a.json").read_text()) == report

    records = [json.loads(line) for line in lines.read_text().splitlines()]
    assert all(set(r) == {"path", "p_reply", "folder", "p_folder"} for r in records)
    assert all(r["path"].startswith("lee-a/") and (root / r["path"]).is_file() for r in records)
    copies: dict[str, int] = {}
    for record in records:
        message_id = message_from_bytes((root / record["path"]).read_bytes())["Message-ID"]
        copies[message_id] = copies.get(message_id, 0) + 1
    assert len(copies) == report["n_test"]
    folders = {m.message_id: len(m.folders) for m in ann_mails()}
    assert copies == {message_id: folders[message_id] for message_id in copies}
    assert max(copies.values()) == 2  # a boss message and its all_documents copy


def test_test_from_moves_the_split(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    since = datetime(2024, 4, 1, tzinfo=UTC)
    report = evaluate(capsys, root, "--out", str(tmp_path), "--test-from", "2024-04-01")
    assert report["n_test"] == len(received(ann_mails(), since))
    assert report["n_train"] == len(received(ann_mails())) - len(received(ann_mails(), since))


def test_eval_errors_name_what_to_give(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["eval", "twin", "--maildir", str(root), "--user", "nobody-x"])
    err = capsys.readouterr().err
    assert code == 2
    assert "no such person folder; choose one of boss-b, lee-a, peer-p" in err
    code = main(["eval", "twin", "--maildir", str(root), "--user", "lee-a", "--test-from", "May"])
    assert code == 2
    assert "write the date as YYYY-MM-DD" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.shared_data
def test_enron_blair_l(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    maildir = shared_data("enron", "maildir")
    code = main(
        [
            "eval",
            "twin",
            "--maildir",
            str(maildir),
            "--user",
            "blair-l",
            "--json",
            "--out",
            str(tmp_path),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    assert_shape(report, SHAPE)
    assert report["n_test"] > 0
    assert report["reply"]["roc_auc"] > 0.6
