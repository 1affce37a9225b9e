"""Forwarding: only when the requester asks, only to whom they name, queued, sent over SMTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agent.acme import EVIL, NOW, ask, titled
from tests.agent.smtp import SMTPServer
from understudy.agent import Origin, Request, Understudy
from understudy.agent.approvals import approve, edit, reject
from understudy.agent.registry import tools
from understudy.agent.tools import Proposal
from understudy.llm import FakeModelServer, Reply, ScriptedCall, get_model
from understudy.records import Decision
from understudy.settings import Settings
from understudy.store import Store

FORWARD = "Forward the board deck to Ravi saying please review before Thursday"


def test_forwarding_what_the_owner_names_waits_for_approval(local_org: Store, outbox: Path) -> None:
    deck = titled(local_org, "Board deck Q4")
    response = ask(local_org, "maya", FORWARD)
    assert response.status == "queued"
    assert response.text == (
        "The understudy of Maya Okafor: I have queued this for Maya Okafor's approval "
        "(policy: ask). forward 'Board deck Q4' to ravi"
    )
    (action,) = local_org.list_actions(owner="maya")
    assert (action.kind, action.state, action.requested_by) == ("forward", "proposed", "maya")
    assert action.payload["to"] == ["ravi"]
    assert action.payload["forward_of"] == deck.id
    assert action.payload["subject"] == "Fwd: Board deck Q4"
    assert action.payload["body"] == "please review before Thursday"
    assert not outbox.exists()
    queued = [e for e in local_org.list_audit("maya") if e.event == "action_queued"]
    assert queued[0].detail["action"] == "forward"


def test_an_approved_forward_goes_out_over_smtp_with_the_item(
    local_org: Store, smtp_server: SMTPServer
) -> None:
    (queued,) = ask(local_org, "maya", FORWARD).actions
    done = approve(local_org, Settings.load(), int(queued["id"]), "maya")
    assert (done.state, done.approved_by) == ("done", "maya")
    assert done.result == f"sent through {smtp_server.url}"
    (delivery,) = smtp_server.received
    assert delivery.rcpt_tos == ("ravi@acme.example",)
    assert delivery.message["Subject"] == "Fwd: Board deck Q4"
    assert delivery.message["From"] == "Maya Okafor <maya@acme.example>"
    body = delivery.message.get_content().replace("\r\n", "\n")
    assert body.startswith("please review before Thursday\n\n---------- Forwarded message")
    assert "Revenue grew 18 percent." in body
    events = [e.event for e in local_org.list_audit("maya")[:2]]
    assert events == ["action_done", "action_approved"]


def test_an_edited_forward_carries_the_owners_note(
    local_org: Store, smtp_server: SMTPServer
) -> None:
    (queued,) = ask(local_org, "maya", FORWARD).actions
    edit(local_org, Settings.load(), int(queued["id"]), "maya", "FYI, for Thursday.")
    body = smtp_server.received[0].message.get_content().replace("\r\n", "\n")
    assert body.startswith("FYI, for Thursday.\n\n---------- Forwarded message")
    assert "please review" not in body


def test_a_rejected_forward_is_not_sent_and_teaches_no_ignore(
    local_org: Store, smtp_server: SMTPServer
) -> None:
    (queued,) = ask(local_org, "maya", FORWARD).actions
    rejected = reject(local_org, int(queued["id"]), "maya", "not yet")
    assert rejected.state == "rejected"
    assert smtp_server.received == []
    deck = titled(local_org, "Board deck Q4")
    learned: list[Decision] = local_org.list_decisions(person="maya", item_id=deck.id)
    assert [d for d in learned if d.origin == "correction"] == []


def test_act_still_asks_before_forwarding(local_org: Store, smtp_server: SMTPServer) -> None:
    # The twin certifies no forward, so no confidence ever clears a threshold for one.
    local_org.put_policy("maya", {"autonomy": {"forward": "act"}, "precision": 0.5})
    response = ask(local_org, "maya", FORWARD)
    assert response.status == "queued"
    assert "not certain enough to act alone" in response.text
    assert smtp_server.received == []


@pytest.mark.parametrize(("level", "status"), [("observe", "answered"), ("suggest", "answered")])
def test_observe_and_suggest_never_queue_a_forward(
    local_org: Store, outbox: Path, level: str, status: str
) -> None:
    local_org.put_policy("maya", {"autonomy": {"forward": level}})
    assert ask(local_org, "maya", FORWARD).status == status
    assert local_org.list_actions(owner="maya") == []
    assert not outbox.exists()


def test_forwarding_a_pointed_item_names_its_recipient(local_org: Store) -> None:
    notes = titled(local_org, "Atlas load test results")
    response = ask(local_org, "maya", "Forward this to Lena", item=notes.id)
    (action,) = local_org.list_actions(owner="maya")
    assert response.status == "queued"
    assert (action.payload["forward_of"], action.payload["to"]) == (notes.id, ["lena"])


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Forward the board deck", "Forward it to whom? Name them after 'to'."),
        ("Forward the zebra migration memo to Ravi", "I could not find what to forward."),
    ],
)
def test_a_forward_without_a_recipient_or_an_item_does_nothing(
    local_org: Store, text: str, words: str
) -> None:
    response = ask(local_org, "maya", text)
    assert response.text == f"The understudy of Maya Okafor: {words}"
    assert local_org.list_actions(owner="maya") == []


def test_a_colleague_cannot_have_anything_forwarded(local_org: Store, outbox: Path) -> None:
    response = ask(local_org, "ravi", "Forward the board deck to Ravi")
    assert response.status == "declined"
    assert {a.kind for a in local_org.list_actions(owner="maya")} <= {"answer_question"}
    assert not outbox.exists()


def test_the_gate_blocks_a_forward_the_requester_did_not_ask_for(local_org: Store) -> None:
    deck = titled(local_org, "Board deck Q4")
    request = Request("maya", "maya", "Send Ravi a note that the deck is ready", Origin.OWNER)
    understudy = Understudy(local_org, "maya", Settings.load(), now=NOW)
    proposal = Proposal("forward", "email", {"to": ["ravi"], "forward_of": deck.id}, ("ravi",))
    decision = understudy.gate(request, proposal)
    assert (decision.outcome, decision.reason) == (
        "blocked",
        "the requester did not ask to forward anything",
    )
    assert local_org.list_actions(owner="maya") == []
    assert local_org.list_audit("maya")[0].event == "blocked"
    assert "forward" in tools()


def test_a_model_steered_by_an_item_is_never_offered_forward(
    local_org: Store, monkeypatch: pytest.MonkeyPatch, outbox: Path
) -> None:
    # Maya names Ravi but asks for no forward; the model, steered by what it read, tries one.
    deck = titled(local_org, "Board deck Q4")
    steered = (
        ScriptedCall("forward", {"item": deck.id, "to": ["ravi"]}),
        ScriptedCall("forward", {"item": deck.id, "to": [EVIL]}),
    )
    local_org.put_policy("maya", {"autonomy": {"forward": "act"}, "precision": 0.5})
    with FakeModelServer([Reply(tool_calls=steered), Reply("Forwarded.")]) as fake:
        monkeypatch.setenv("UNDERSTUDY_LLM_URL", fake.url)
        model = get_model(Settings.load())
        ask(local_org, "maya", "Send Ravi a note that the launch is on", model=model)
        offered = {t["function"]["name"] for t in fake.requests[0].tools}
    assert "forward" not in offered
    assert "send_message" in offered
    assert local_org.list_actions(owner="maya") == []
    refused = [e for e in local_org.list_audit("maya") if e.event == "blocked"]
    assert [e.detail["tool"] for e in refused] == ["forward", "forward"]
    assert not outbox.exists()


def test_a_model_asked_to_forward_still_reaches_only_whom_the_owner_named(
    local_org: Store, monkeypatch: pytest.MonkeyPatch, outbox: Path
) -> None:
    deck = titled(local_org, "Board deck Q4")
    calls = (
        ScriptedCall("forward", {"item": deck.id, "to": [EVIL]}),
        ScriptedCall("forward", {"item": deck.id, "to": "ravi@acme.example", "note": "FYI"}),
    )
    with FakeModelServer([Reply(tool_calls=calls), Reply("Queued the forward.")]) as fake:
        monkeypatch.setenv("UNDERSTUDY_LLM_URL", fake.url)
        model = get_model(Settings.load())
        response = ask(local_org, "maya", "Forward the board deck to Ravi", model=model)
    assert response.text == "The understudy of Maya Okafor: Queued the forward."
    (action,) = local_org.list_actions(owner="maya")
    assert (action.kind, action.state, action.payload["to"]) == (
        "forward",
        "proposed",
        ["ravi@acme.example"],
    )
    blocked = [e for e in local_org.list_audit("maya") if e.event == "blocked"]
    assert blocked[0].detail["targets"] == [EVIL]
    assert not outbox.exists()


def test_pointing_at_an_item_names_neither_its_sender_nor_another_item(local_org: Store) -> None:
    notes = titled(local_org, "Atlas load test results")
    deck = titled(local_org, "Board deck Q4")
    request = Request("maya", "maya", "Forward this to Ravi", Origin.OWNER, item_id=notes.id)
    understudy = Understudy(local_org, "maya", Settings.load(), now=NOW)
    sender = str(notes.author)

    def gate(item: int | None, to: str) -> tuple[str, str]:
        proposal = Proposal("forward", "email", {"to": [to], "forward_of": item}, (to,), item)
        decision = understudy.gate(request, proposal)
        return decision.outcome, decision.reason

    assert gate(deck.id, "ravi") == (
        "blocked",
        "forwards another item than the one the requester pointed at",
    )
    assert gate(notes.id, sender) == ("blocked", f"not named by the requester: {sender}")
    assert gate(notes.id, "ravi")[0] == "queued"
