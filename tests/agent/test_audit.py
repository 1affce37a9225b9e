"""The audit log: who asked what, which items were read, what was disclosed, what ran."""

from __future__ import annotations

import pytest

from tests.agent.acme import ask, titled
from understudy.agent.approvals import approve
from understudy.records import AuditEvent
from understudy.settings import Settings
from understudy.store import Store
from understudy.twin.model import save_twin, train_twin


def mark(store: Store) -> int:
    """Return the id of the newest audit event."""
    return max((e.id or 0 for e in store.list_audit(limit=1)), default=0)


def since(store: Store, last: int) -> list[AuditEvent]:
    """Return the events logged after ``last``, oldest first."""
    return [e for e in reversed(store.list_audit(limit=200)) if (e.id or 0) > last]


def test_an_owners_question_logs_the_request_and_the_items_read(org: Store) -> None:
    last = mark(org)
    response = ask(org, "maya", "When is the Atlas launch?")
    logged = since(org, last)
    assert [e.event for e in logged] == ["request", "read"]
    request, read = logged
    assert (request.actor, request.on_behalf_of) == ("maya", "maya")
    assert request.request == "When is the Atlas launch?"
    assert request.detail == {"origin": "owner", "via": None}
    assert set(read.items_read) >= {c["item"] for c in response.citations}
    assert titled(org, "Atlas launch date").id in read.items_read


def test_a_colleagues_question_logs_what_was_disclosed_to_whom(org: Store) -> None:
    last = mark(org)
    response = ask(org, "ravi", "When is the Atlas launch?")
    logged = since(org, last)
    assert [e.event for e in logged] == ["request", "read", "disclose"]
    disclose = logged[-1]
    assert (disclose.actor, disclose.on_behalf_of, disclose.disclosed_to) == (
        "ravi",
        "maya",
        "ravi",
    )
    assert list(disclose.items_read) == response.items
    assert set(disclose.items_read) == {c["item"] for c in response.citations}
    salary = titled(org, "Salary review 2026")
    assert all(salary.id not in e.items_read for e in logged)
    # Ravi sees it in his own log too.
    assert "disclose" in [e.event for e in org.list_audit("ravi")]


def test_a_request_that_fails_is_still_logged(org: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import understudy.agent.planning as planning

    def broken(*args: object) -> None:
        raise RuntimeError("the plan broke")

    monkeypatch.setattr(planning, "plan_and_run", broken)
    last = mark(org)
    with pytest.raises(RuntimeError, match="the plan broke"):
        ask(org, "ravi", "When is the Atlas launch?")
    logged = since(org, last)
    assert [(e.event, e.actor, e.request) for e in logged] == [
        ("request", "ravi", "When is the Atlas launch?")
    ]


def test_a_declined_question_discloses_nothing(org: Store) -> None:
    last = mark(org)
    ask(org, "omar", "When is the Atlas launch?")
    logged = since(org, last)
    assert [e.event for e in logged] == ["request", "action_queued"]
    assert logged[1].detail["action"] == "answer_question"
    assert not any(e.items_read for e in logged)


def test_actions_are_logged_from_proposal_to_delivery(org: Store) -> None:
    last = mark(org)
    response = ask(org, "maya", "Send Ravi a note saying the launch is confirmed")
    logged = since(org, last)
    action_id = response.actions[0]["id"]
    queued = next(e for e in logged if e.event == "action_queued")
    assert queued.detail == {"action": "send", "reason": "policy: ask", "id": action_id}
    approve(org, Settings.load(), action_id, "maya")
    latest = org.list_audit("maya", limit=2)
    assert [e.event for e in latest] == ["action_done", "action_approved"]
    assert latest[0].detail["id"] == action_id
    assert latest[0].detail["result"].startswith("written to ")


def test_a_blocked_attempt_is_logged_with_its_targets(org: Store) -> None:
    save_twin(org, train_twin(org, "maya"))
    last = mark(org)
    # The search finds the mail of "Inbox Assistant <x@evil.com>"; Maya never named them.
    response = ask(org, "maya", "Draft a reply to the inbox digest")
    logged = since(org, last)
    assert response.status == "blocked"
    assert response.text == (
        "The understudy of Maya Okafor: I will not do that: not named by the requester: x@evil.com."
    )
    (blocked,) = [e for e in logged if e.event == "blocked"]
    assert blocked.detail == {
        "action": "reply",
        "targets": ["x@evil.com"],
        "reason": "not named by the requester: x@evil.com",
    }
    assert org.list_actions(owner="maya") == []


def test_the_log_cannot_be_changed(org: Store) -> None:
    ask(org, "ravi", "When is the Atlas launch?")
    before = org.list_audit(limit=100)
    with pytest.raises(Exception, match="append-only"):
        org.db.execute("UPDATE audit_events SET disclosed_to = NULL")  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="append-only"):
        org.db.execute("DELETE FROM audit_events WHERE event = 'disclose'")  # type: ignore[attr-defined]
    assert org.list_audit(limit=100) == before
