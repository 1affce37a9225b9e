"""The manifest lists sources that exist and planted facts whose evidence is in the files."""

from __future__ import annotations

import csv
from pathlib import Path

from understudy.demo import DemoManifest


def _mail_ids(folder: Path) -> set[str]:
    ids = set()
    for path in folder.rglob("cur/*"):
        for line in path.read_text(encoding="ascii").splitlines():
            if line.lower().startswith("message-id:"):
                ids.add(line.split(":", 1)[1].strip())
                break
    return ids


def test_every_source_location_exists(demo_root: Path, manifest: DemoManifest) -> None:
    kinds = {s.kind for s in manifest.sources}
    assert kinds == {"maildir", "ics", "slack", "files", "tasks", "sql"}
    for source in manifest.sources:
        assert (demo_root / source.location).exists(), source.location
    assert sum(s.kind == "maildir" for s in manifest.sources) == 20


def test_sources_carry_the_readers_that_keep_hr_private(manifest: DemoManifest) -> None:
    assert manifest.source("files", "docs/hr").readers == ("group:hr",)  # type: ignore[union-attr]
    atlas = manifest.source("files", "docs/atlas")
    assert atlas is not None
    assert atlas.project == "atlas"
    assert atlas.readers == ("project:atlas",)
    assert manifest.source("files", "docs/company").readers == ("group:everyone",)  # type: ignore[union-attr]
    assert manifest.source("sql", "data/figures.sqlite").readers == ("group:exec", "group:finance")  # type: ignore[union-attr]


def test_planted_facts_point_at_evidence_in_the_files(
    demo_root: Path, manifest: DemoManifest
) -> None:
    assert [p.kind for p in manifest.planted] == [
        "board_request",
        "slipping_project",
        "decision_waiting",
        "hr_private",
    ]
    ceo_mail = _mail_ids(demo_root / "mail" / manifest.ceo)
    for kind in ("board_request", "slipping_project", "decision_waiting"):
        assert manifest.fact(kind).evidence["message_id"] in ceo_mail
    slip = manifest.fact("slipping_project").evidence
    assert all((demo_root / path).is_file() for path in slip["files"])
    with (demo_root / "tasks" / "tracker.csv").open(encoding="utf-8") as handle:
        keys = {row[0] for row in csv.reader(handle)}
    assert set(slip["tasks"]) <= keys
    assert manifest.fact("decision_waiting").evidence["task"] in keys
    hr = manifest.fact("hr_private").evidence
    assert hr["phrase"] in (demo_root / hr["path"]).read_text(encoding="utf-8")


def test_counts_match_what_was_written(demo_root: Path, manifest: DemoManifest) -> None:
    counts = manifest.counts
    assert counts["people"] == 20
    assert counts["mail_files"] == len(list((demo_root / "mail").rglob("cur/*")))
    assert 2500 <= counts["mail_files"] <= 4500
    assert counts["documents"] == len([p for p in (demo_root / "docs").rglob("*") if p.is_file()])
    assert counts["events"] > 40
    assert counts["chat_messages"] > 300
