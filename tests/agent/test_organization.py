"""Ask the organization: the understudies of those who know answer in parallel, or do not."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from understudy.agent import LocalRelay, ask_organization
from understudy.agent.organization import who_knows
from understudy.brain.search import Searcher
from understudy.records import Principal
from understudy.settings import Settings
from understudy.store import Store

QUESTION = "When does the Atlas launch happen?"


@pytest.fixture
def relay(org: Store) -> LocalRelay:
    """Return the in-process relay, with Hana sharing only with HR."""
    org.put_policy("hana", {"sharing": [{"who": ["group:hr"]}]})
    return LocalRelay(org, Settings.load())


def test_the_organization_answers_with_citations_and_says_who_did_not(
    org: Store, relay: LocalRelay
) -> None:
    people = ["ravi", "lena", "hana", "omar"]
    merged = ask_organization(org, relay, Searcher(org), "maya", QUESTION, people=people)
    assert merged.asked == people
    assert [a["owner"] for a in merged.answers] == ["ravi", "lena"]
    assert merged.declined == ["hana"]
    assert merged.nothing == ["omar"]
    assert merged.unanswered == []
    names = {"ravi": "Ravi Shah", "lena": "Lena Park"}
    for answer in merged.answers:
        assert answer["text"].startswith(f"The understudy of {names[answer['owner']]}: ")
        assert answer["citations"]
        for citation in answer["citations"]:
            both = Principal.all_of(answer["owner"], "maya")
            assert org.get_item(both, int(citation["item"])) is not None
    ravi = merged.answers[0]
    assert "March 3" in ravi["text"]
    disclosed = [e for e in org.list_audit("ravi") if e.event == "disclose"]
    assert disclosed[0].disclosed_to == "maya"


def test_who_knows_comes_from_experts_and_project_members(org: Store) -> None:
    found = who_knows(org, Searcher(org), "maya", QUESTION)
    assert "maya" not in found
    assert {"ravi", "lena"} <= set(found)


class SlowRelay:
    """A relay where some understudies answer only after the test is over, and one fails."""

    def __init__(self, inner: LocalRelay, slow: set[str], broken: set[str]) -> None:
        self.inner = inner
        self.slow = slow
        self.broken = broken
        self.released = threading.Event()

    def ask(self, owner: str, question: str, asker: str) -> dict[str, Any]:
        if owner in self.broken:
            raise OSError("connection refused")
        if owner in self.slow:
            self.released.wait(30)
            return {"owner": owner, "status": "answered", "citations": [{"n": 1}]}
        return self.inner.ask(owner, question, asker)


def test_late_understudies_are_left_unanswered_within_the_deadline(
    org: Store, relay: LocalRelay
) -> None:
    slow = SlowRelay(relay, slow={"lena"}, broken={"omar"})
    deadline = 1.5
    started = time.monotonic()
    try:
        merged = ask_organization(
            org, slow, Searcher(org), "maya", QUESTION, deadline, ["ravi", "lena", "omar"]
        )
        elapsed = time.monotonic() - started
    finally:
        slow.released.set()
    assert elapsed < deadline + 1.0
    assert [a["owner"] for a in merged.answers] == ["ravi"]
    assert sorted(merged.unanswered) == ["lena", "omar (OSError)"]
    assert merged.declined == []
