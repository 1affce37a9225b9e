"""ingest, sync, sources and stats as a user runs them."""

from __future__ import annotations

import json
import mailbox
from email.message import EmailMessage
from pathlib import Path

import pytest

from understudy.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, object]:
    code = main(list(args))
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip().startswith(("{", "[")) else out


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    (root / "notes").mkdir(parents=True)
    (root / "notes" / "plan.md").write_text("# Launch plan\n\nShip the beta in March.\n")
    (root / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    return root


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    box = mailbox.Maildir(tmp_path / "mail", create=True)
    for n in range(3):
        message = EmailMessage()
        message["From"] = "Bo <bo@co.example>"
        message["To"] = "Ann <ann@co.example>"
        message["Subject"] = f"Question {n}"
        message["Date"] = f"Mon, 0{n + 1} Mar 2026 09:00:00 +0000"
        message["Message-ID"] = f"<q{n}@co.example>"
        message.set_content("Can you check the budget?")
        box.add(message)
    sent = box.add_folder("Sent")
    reply = EmailMessage()
    reply["From"] = "Ann <ann@co.example>"
    reply["To"] = "Bo <bo@co.example>"
    reply["Subject"] = "Re: Question 0"
    reply["Date"] = "Mon, 01 Mar 2026 09:20:00 +0000"
    reply["In-Reply-To"] = "<q0@co.example>"
    reply.set_content("Done.")
    sent.add(reply)
    return tmp_path / "mail"


def test_ingest_sync_sources_stats(
    capsys: pytest.CaptureFixture[str], docs: Path, maildir: Path
) -> None:
    code, report = run(capsys, "ingest", "files", str(docs), "--json")
    assert code == 0
    assert isinstance(report, dict)
    assert (report["added"], report["problems"]) == (1, 1)
    code, report = run(
        capsys, "ingest", "maildir", str(maildir), "--owner", "ann@co.example", "--json"
    )
    assert isinstance(report, dict)
    assert (report["added"], report["decisions"]) == (4, 1)

    code, reports = run(capsys, "sync", "--json")
    assert isinstance(reports, list)
    assert [r["added"] for r in reports] == [0, 0]

    code, sources = run(capsys, "sources", "--json")
    assert isinstance(sources, list)
    files = next(s for s in sources if s["kind"] == "files")
    assert files["items"] == 1
    assert any("broken.pdf" in e for e in files["recent_errors"])
    assert "broken.pdf" in (files["last_error"] or "")

    code, stats = run(capsys, "stats", "--json")
    assert stats == {"items": {"document": 1, "email": 4}, "decisions": {"reply": 1}}


def test_ingest_shows_progress_and_a_summary(
    capsys: pytest.CaptureFixture[str], docs: Path
) -> None:
    code = main(["ingest", "files", str(docs)])
    captured = capsys.readouterr()
    assert code == 0
    assert "1 added" in captured.out
    assert "broken.pdf" in captured.err


def test_unknown_kind_lists_the_kinds(capsys: pytest.CaptureFixture[str], docs: Path) -> None:
    code = main(["ingest", "fax", str(docs)])
    err = capsys.readouterr().err
    assert code == 2
    assert "unknown source kind 'fax'" in err
    assert "maildir" in err


def test_bad_option_is_explained(capsys: pytest.CaptureFixture[str], docs: Path) -> None:
    code = main(["ingest", "files", str(docs), "--option", "novalue"])
    assert code == 2
    assert "write it as KEY=VALUE" in capsys.readouterr().err
