"""What waits for the owner: a cited summary of their unanswered mail, without a model."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from tests.agent.acme import NOW, ask
from understudy.agent import Intent, Origin, Request, Understudy, recognize_intent
from understudy.agent.inbox import opening
from understudy.desk import build_overview
from understudy.llm import FakeModelServer, Reply, ScriptedCall, get_model
from understudy.settings import Settings
from understudy.store import Store


@pytest.mark.parametrize(
    "text",
    [
        "Summarize my inbox",
        "What's waiting for me?",
        "what is waiting on me today",
        "What needs my attention?",
        "Who is waiting on me?",
        "Go through my unread mail",
    ],
)
def test_owner_phrasings_ask_for_the_inbox(text: str) -> None:
    assert recognize_intent(text) == Intent.INBOX


@pytest.mark.parametrize(
    "text", ["Summarize the Atlas messages from Lena", "Send Ravi the summary of messages"]
)
def test_a_topic_or_a_command_is_not_the_inbox(text: str) -> None:
    assert recognize_intent(text) != Intent.INBOX


def test_the_owner_gets_what_waits_for_them_cited(shared_org: Store) -> None:
    response = ask(shared_org, "maya", "What's waiting for me?")
    waiting = build_overview(shared_org, "maya", NOW, UTC).waiting
    assert (response.status, response.intent) == ("answered", Intent.INBOX)
    assert [c["item"] for c in response.citations] == [w.item.id for w in waiting][:10]
    assert [c["n"] for c in response.citations] == list(range(1, len(response.citations) + 1))
    lines = response.text.splitlines()
    assert lines[0] == (
        f"The understudy of Maya Okafor: {len(waiting)} messages of the last 7 days "
        "wait for your answer:"
    )
    load_test = next(line for line in lines if "Atlas load test results" in line)
    assert load_test.startswith("[")
    assert load_test.endswith(
        '— from Lena Park, Tue 17 Nov 10:00: "The Atlas load test passed at 12,000 requests '
        'per second."'
    )
    assert response.actions == []
    read = next(e for e in shared_org.list_audit("maya", 20) if e.event == "read")
    assert set(response.items) <= set(read.items_read)
    assert response.items == [c["item"] for c in response.citations]


def test_a_colleague_never_gets_the_owners_inbox(shared_org: Store) -> None:
    before = {a.id for a in shared_org.list_actions(owner="maya")}
    response = ask(shared_org, "ravi", "Summarize my inbox")
    assert response.text == (
        "The understudy of Maya Okafor: Only Maya Okafor can ask what waits in their mail."
    )
    assert (response.status, response.citations, response.items) == ("declined", [], [])
    assert {a.id for a in shared_org.list_actions(owner="maya")} == before
    agent = ask(shared_org, "ravi", "What's waiting for me?", origin=Origin.AGENT)
    assert agent.status == "declined"


def test_nothing_waiting_is_said_plainly(shared_org: Store) -> None:
    later = NOW + timedelta(days=60)
    understudy = Understudy(shared_org, "maya", Settings.load(), now=later)
    response = understudy.handle(Request("maya", "maya", "What's waiting for me?"))
    assert response.text == (
        "The understudy of Maya Okafor: Nothing waits for you: every message of the last 7 days "
        "has an answer."
    )
    assert response.citations == []


def test_with_a_model_the_summary_is_still_the_items_own_words(
    shared_org: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = ask(shared_org, "maya", "Summarize my inbox")
    call = ScriptedCall("send_message", {"to": ["ravi"], "subject": "Inbox", "body": "all"})
    script = [Reply(tool_calls=(call,)), Reply("You have no mail at all.")]
    with FakeModelServer(script) as fake:
        monkeypatch.setenv("UNDERSTUDY_LLM_URL", fake.url)
        response = ask(shared_org, "maya", "Summarize my inbox", model=get_model(Settings.load()))
        offered = {t["function"]["name"] for t in fake.requests[0].tools}
    assert response.text == rules.text
    assert "You have no mail" not in response.text
    assert not offered & {"send_message", "reply", "forward", "create_task", "propose_meeting"}
    assert response.actions[0]["state"] == "blocked"


def test_the_opening_skips_the_greeting_and_quoted_mail() -> None:
    body = "Hi Maya,\n\nCan you sign off the budget by Friday?\n\nOn Mon, Lena wrote:\n> old"
    assert opening(body) == "Can you sign off the budget by Friday?"
    assert opening("word " * 40).endswith("…")
    assert len(opening("word " * 40)) <= 90
