"""``understudy demo`` end to end: generate, load through the connectors, show the CEO."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from understudy.cli import main
from understudy.records import Principal
from understudy.settings import Settings
from understudy.store import open_store


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    home = tmp_path_factory.mktemp("demo-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UNDERSTUDY_HOME", str(home))
        patch.setenv("UNDERSTUDY_EMBEDDING_MODEL", "hash")
        capture: dict[str, object] = {"home": home}
        for run in ("first", "second"):
            import contextlib
            import io

            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                assert main(["demo", "--today", "2026-11-20", "--json"]) == 0
            capture[run] = json.loads(out.getvalue())
    return capture


def test_the_ceo_sees_the_planted_urgent_items_first(demo_run: dict[str, object]) -> None:
    overview = demo_run["first"]["overview"]  # type: ignore[index]
    top = [w["subject"] for w in overview["waiting"][:4]]
    assert any("URGENT: revised FY forecast" in s for s in top)
    assert any("Decision needed" in s for s in top)
    assert not any(w["subject"].startswith(("Declined:", "Accepted:")) for w in overview["waiting"])


def test_the_ceo_sees_todays_meetings_and_the_slipping_project(demo_run: dict[str, object]) -> None:
    overview = demo_run["first"]["overview"]  # type: ignore[index]
    assert len(overview["meetings"]) >= 4
    assert all(m["start"].startswith("2026-11-20") for m in overview["meetings"])
    atlas = next(p for p in overview["projects"] if p["project"] == "atlas")
    assert len(atlas["overdue_tasks"]) >= 3


def test_a_second_run_adds_nothing(demo_run: dict[str, object]) -> None:
    first = demo_run["first"]["sources"]  # type: ignore[index]
    second = demo_run["second"]["sources"]  # type: ignore[index]
    assert sum(s["added"] for s in first) > 5000
    assert sum(s["added"] for s in second) == 0
    assert sum(s["problems"] for s in first) == 0
    print(f"first run {demo_run['first']['seconds']}s, second {demo_run['second']['seconds']}s")  # type: ignore[index]


def test_the_hr_document_is_for_hr_only(
    demo_run: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = demo_run["home"]
    assert isinstance(home, Path)
    monkeypatch.setenv("UNDERSTUDY_HOME", str(home))
    manifest = json.loads((home / "demo" / "manifest.json").read_text())
    fact = next(f for f in manifest["planted"] if f["kind"] == "hr_private")
    phrase = fact["evidence"]["phrase"]
    store = open_store(Settings.load())
    people = {p.id: p for p in store.list_people()}
    hr = [p for p in people.values() if "hr" in p.groups]
    others = [p for p in people.values() if "hr" not in p.groups]
    assert hr
    assert others

    def sees_phrase(person: str) -> bool:
        hits = store.search_text(Principal.person(person), phrase, limit=50)
        chunks = store.get_chunks(Principal.person(person), [h.chunk_id for h in hits])
        return any(phrase.lower() in c.text.lower() for c in chunks)

    assert sees_phrase(hr[0].id)
    assert not any(sees_phrase(p.id) for p in others)


def test_the_ceo_asks_the_organization_and_hr_declines(demo_run: dict[str, object]) -> None:
    first = demo_run["first"]
    assert isinstance(first, dict)
    org = first["organization"]
    assert org["answers"], org
    for answer in org["answers"]:
        assert answer["text"].startswith("The understudy of ")
        assert answer["citations"]
    assert any("slip" in a["text"].lower() for a in org["answers"])
    declined = first["declined"]
    assert declined["status"] == "declined"
    assert "cannot share" in declined["text"]
    assert declined["citations"] == []
