"""A question queued for the owner is answered back to its asker once the owner decides."""

from __future__ import annotations

import pytest

from tests.agent.acme import ask
from understudy.agent.approvals import approve, edit, reject
from understudy.errors import InputError
from understudy.settings import Settings
from understudy.store import Store

QUESTION = "When is the Atlas launch?"


def queued(store: Store, text: str = QUESTION, asker: str = "omar") -> int:
    """Ask Maya's understudy as someone she shares nothing with; return the queued question."""
    response = ask(store, asker, text)
    assert response.status == "declined"
    assert response.text.endswith("I have passed your question to Maya Okafor.")
    (action,) = response.actions
    assert (action["kind"], action["state"]) == ("answer_question", "proposed")
    return int(action["id"])


def test_an_approved_question_is_answered_with_what_the_owner_may_read(org: Store) -> None:
    action_id = queued(org)
    done = approve(org, Settings.load(), action_id, "maya")
    assert (done.state, done.approved_by, done.result) == ("done", "maya", "answered omar")
    answer = done.payload["answer"]
    assert answer["text"].startswith("The understudy of Maya Okafor: With Maya Okafor's approval: ")
    assert (answer["from"], answer["asker"], answer["status"]) == (
        "the understudy of Maya Okafor",
        "omar",
        "answered",
    )
    assert answer["citations"]
    assert answer["items"]
    disclosed = next(e for e in org.list_audit("maya") if e.event == "disclose")
    assert (disclosed.actor, disclosed.disclosed_to, disclosed.request) == (
        "maya",
        "omar",
        QUESTION,
    )
    assert list(disclosed.items_read) == answer["items"]
    assert disclosed.detail == {"id": action_id, "status": "answered"}


def test_an_edited_question_sends_the_owners_own_words(org: Store) -> None:
    action_id = queued(org)
    done = edit(org, Settings.load(), action_id, "maya", "March 3, if the load test holds.")
    answer = done.payload["answer"]
    assert answer["text"] == (
        "The understudy of Maya Okafor: Maya Okafor's answer: March 3, if the load test holds."
    )
    assert (answer["citations"], answer["items"]) == ([], [])
    events = [e.event for e in org.list_audit("maya")[:3]]
    assert events == ["disclose", "action_approved", "action_edited"]


def test_a_rejected_question_tells_the_asker_the_owner_declined(org: Store) -> None:
    action_id = queued(org)
    rejected = reject(org, action_id, "maya", "omar should ask Lena")
    assert (rejected.state, rejected.result) == ("rejected", "omar should ask Lena")
    answer = rejected.payload["answer"]
    assert answer["text"] == (
        "The understudy of Maya Okafor: Maya Okafor declined to answer your question."
    )
    assert "Lena" not in answer["text"]  # the owner's reason stays hers
    assert answer["status"] == "declined"
    declined = org.list_audit("maya")[0]
    assert (declined.event, declined.disclosed_to, declined.items_read) == (
        "answer_declined",
        "omar",
        (),
    )


def test_an_answered_question_cannot_be_decided_again(org: Store) -> None:
    action_id = queued(org)
    approve(org, Settings.load(), action_id, "maya")
    with pytest.raises(InputError, match="already done"):
        reject(org, action_id, "maya")
    assert org.get_action(action_id).payload["answer"]["status"] == "answered"
