"""The same server on SQLite and on PostgreSQL: a tiny company, asked through the API and A2A."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.relay.clients import bearer
from understudy.agent import issue_token
from understudy.api import create_app
from understudy.brain import chunk_pending, embed_pending, get_embedder
from understudy.directory import load_org, parse_org
from understudy.records import Item, Source
from understudy.settings import Settings
from understudy.store import open_store

ORG = {
    "groups": [{"id": "hr", "name": "HR"}, {"id": "staff", "name": "Staff"}],
    "people": [
        {"id": "ann", "name": "Ann Lee", "emails": ["ann@co.example"], "groups": ["hr"]},
        {"id": "bo", "name": "Bo Park", "emails": ["bo@co.example"], "groups": ["staff"]},
    ],
}
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SALARY = "Bo Park's salary rises to 98,000 from April."


def _documents(source_id: int) -> list[Item]:
    shared = Item(
        source_id=source_id,
        external_id="launch.md",
        kind="document",
        timestamp=T0,
        readers=frozenset({"group:everyone"}),
        title="Launch plan",
        body="The Orion launch moves to May 4 because the load test failed twice.",
        author="ann",
    )
    private = Item(
        source_id=source_id,
        external_id="pay.md",
        kind="document",
        timestamp=T0,
        readers=frozenset({"group:hr"}),
        title="Pay review",
        body=f"Pay review for the launch team. {SALARY}",
        author="ann",
    )
    return [shared, private]


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Yield the settings of a tiny company on each store."""
    environ = {"UNDERSTUDY_HOME": str(tmp_path / "home"), "UNDERSTUDY_EMBEDDING_MODEL": "hash"}
    if request.param == "postgres":
        environ["UNDERSTUDY_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    chosen = Settings.load(environ)
    store = open_store(chosen)
    load_org(store, parse_org(ORG))
    source = store.add_source(Source(kind="files", location="/docs", owner="ann"))
    assert source.id is not None
    store.put_items(_documents(source.id))
    chunk_pending(store)
    embed_pending(store, get_embedder(chosen))
    store.close()
    return chosen


def test_the_server_works_the_same_on_both_stores(settings: Settings) -> None:
    store = open_store(settings)
    bo = bearer(issue_token(store, "bo"))
    store.close()
    with TestClient(create_app(settings)) as client:
        launch = client.post(
            "/api/ask", json={"question": "When is the Orion launch?", "to": "ann"}, headers=bo
        ).json()
        pay = client.post(
            "/api/ask", json={"question": "What does the pay review say?", "to": "ann"}, headers=bo
        ).json()
        found = client.get("/api/search", params={"q": "pay review salary"}, headers=bo).json()
        card = client.get("/a2a/ann/.well-known/agent-card.json", headers=bo).json()
    assert launch["status"] == "answered"
    assert launch["text"].startswith("The understudy of Ann Lee:")
    assert [c["title"] for c in launch["citations"]] == ["Launch plan"]
    assert pay["status"] == "declined", pay
    assert SALARY not in str(pay)
    assert all(r["title"] != "Pay review" for r in found["results"])
    assert card["name"] == "Understudy of Ann Lee"
