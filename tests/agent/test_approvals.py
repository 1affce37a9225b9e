"""The approval queue: list, approve, edit and reject; the twin learns from edits and rejections."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.agent.acme import ask, titled
from understudy.agent.approvals import approve, edit, pending, reject
from understudy.errors import InputError, PermissionDenied
from understudy.llm import FakeModelServer, Reply, ScriptedCall, get_model
from understudy.records import Decision
from understudy.settings import Settings
from understudy.store import Store
from understudy.twin.model import load_twin, save_twin, train_twin


def queue(store: Store, text: str, asker: str = "maya", item: int | None = None) -> int:
    """Ask Maya's understudy for something that waits for her; return the action id."""
    response = ask(store, asker, text, item=item)
    assert response.actions, response.text
    return int(response.actions[0]["id"])


def sent(outbox: Path) -> EmailMessage:
    """Return the one message written to the outbox."""
    (path,) = outbox.glob("*.eml")
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def corrections(store: Store, item: int) -> list[Decision]:
    """Return the corrections Maya gave for an item."""
    return [
        d for d in store.list_decisions(person="maya", item_id=item) if d.origin == "correction"
    ]


def test_the_queue_lists_what_waits_newest_first(org: Store) -> None:
    first = queue(org, "Send Ravi a note saying the launch is confirmed")
    second = queue(org, "When is the Atlas launch?", asker="omar")
    third = queue(org, "Schedule a meeting with Lena about pricing")
    waiting = pending(org, "maya")
    assert [a.id for a in waiting] == [third, second, first]
    assert [a.kind for a in waiting] == ["schedule", "answer_question", "send"]
    assert waiting[1].requested_by == "omar"
    assert pending(org, "ravi") == []


def test_approving_carries_the_action_out_once(org: Store, outbox: Path) -> None:
    action_id = queue(org, "Send Ravi a note saying the launch is confirmed")
    done = approve(org, Settings.load(), action_id, "maya")
    assert (done.state, done.approved_by) == ("done", "maya")
    assert sent(outbox)["To"] == "ravi@acme.example"
    assert pending(org, "maya") == []
    with pytest.raises(InputError, match=rf"^action {action_id} is already done$"):
        approve(org, Settings.load(), action_id, "maya")
    assert len(list(outbox.glob("*.eml"))) == 1


def test_an_edited_reply_is_what_is_sent_and_what_the_twin_learns(org: Store, outbox: Path) -> None:
    save_twin(org, train_twin(org, "maya"))
    item = titled(org, "Atlas load test results")
    action_id = queue(org, "Draft a reply to this message", item=item.id)
    drafted = org.get_action(action_id).payload["body"]
    text = "Great result, Lena. Let's keep that headroom for launch.\n\nMaya"
    done = edit(org, Settings.load(), action_id, "maya", text)
    assert done.state == "done"
    assert org.get_action(action_id).payload["body"] == text
    message = sent(outbox)
    assert message.get_content().strip() == text
    assert text != drafted
    (learned,) = corrections(org, item.id or 0)
    assert (learned.action, learned.text, learned.origin) == ("reply", text, "correction")
    assert load_twin(org, "maya").corrections == 1
    events = [e.event for e in org.list_audit("maya")[:3]]
    assert events == ["action_done", "action_approved", "action_edited"]


def test_an_edited_send_sends_the_new_words(org: Store, outbox: Path) -> None:
    action_id = queue(org, "Send Ravi a note saying the launch is confirmed")
    edit(org, Settings.load(), action_id, "maya", "The launch is confirmed for March 3.")
    assert sent(outbox).get_content().strip() == "The launch is confirmed for March 3."


def test_rejecting_a_reply_teaches_that_it_is_ignored(org: Store, outbox: Path) -> None:
    item = titled(org, "Quarterly invoice")
    save_twin(org, train_twin(org, "maya"))
    action_id = queue(org, "Draft a reply to this message", item=item.id)
    rejected = reject(org, action_id, "maya", "not to vendors")
    assert (rejected.state, rejected.approved_by, rejected.result) == (
        "rejected",
        "maya",
        "not to vendors",
    )
    (learned,) = corrections(org, item.id or 0)
    assert (learned.action, learned.origin) == ("ignore", "correction")
    assert not outbox.exists()
    with pytest.raises(InputError, match="is already rejected"):
        approve(org, Settings.load(), action_id, "maya")


def test_a_rejection_is_kept_for_the_twin_before_it_is_trained(
    org: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = titled(org, "Atlas load test results")
    call = ScriptedCall("reply", {"item": item.id, "body": "Great result!"})
    with FakeModelServer([Reply(tool_calls=(call,)), Reply("Queued your reply.")]) as fake:
        monkeypatch.setenv("UNDERSTUDY_LLM_URL", fake.url)
        model = get_model(Settings.load())
        response = ask(
            org, "maya", "Reply to Lena's load test mail saying great result", model=model
        )
    (queued,) = response.actions
    assert (queued["kind"], queued["state"]) == ("reply", "proposed")
    reject(org, int(queued["id"]), "maya")
    (learned,) = corrections(org, item.id or 0)
    assert (learned.action, learned.origin) == ("ignore", "correction")


def test_nobody_decides_someone_elses_action(org: Store, outbox: Path) -> None:
    action_id = queue(org, "Send Ravi a note saying the launch is confirmed")
    message = rf"^action {action_id} belongs to maya; only they may decide it$"
    with pytest.raises(PermissionDenied, match=message):
        approve(org, Settings.load(), action_id, "ravi")
    with pytest.raises(PermissionDenied, match=message):
        edit(org, Settings.load(), action_id, "ravi", "Forward the salaries to me")
    with pytest.raises(PermissionDenied, match=message):
        reject(org, action_id, "ravi")
    action = org.get_action(action_id)
    assert action.state == "proposed"
    assert action.payload["body"] == "the launch is confirmed"
    assert not outbox.exists()
