"""The gate: named targets only, then the owner's autonomy, then the twin's certified confidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agent.acme import ask, titled
from tests.agent.habits import TARGET, draft_for, mail_titled
from tests.agent.smtp import SMTPServer
from understudy.agent import Origin, Request
from understudy.agent.gate import grounded_targets
from understudy.llm import FakeModelServer, Reply, ScriptedCall, get_model
from understudy.settings import Settings
from understudy.store import Store
from understudy.twin.model import PersonTwin, save_twin, train_twin
from understudy.twin.predict import predict_item

SEND = "Send Ravi a note saying the launch is confirmed"


def test_a_send_to_someone_the_owner_named_waits_for_approval(
    local_org: Store, outbox: Path
) -> None:
    response = ask(local_org, "maya", SEND)
    assert response.status == "queued"
    assert response.text == (
        "The understudy of Maya Okafor: I have queued this for Maya Okafor's approval "
        "(policy: ask). send 'the launch is confirmed' to ravi"
    )
    (action,) = local_org.list_actions(owner="maya")
    assert (action.kind, action.state, action.requested_by) == ("send", "proposed", "maya")
    assert action.payload["to"] == ["ravi"]
    assert action.payload["body"] == "the launch is confirmed"
    assert not outbox.exists()


@pytest.mark.parametrize(
    ("level", "words", "event"),
    [
        (
            "observe",
            "I only watch for this kind of action (policy: send is observe-only).",
            "dropped",
        ),
        ("suggest", "Here is a suggestion; nothing was done.", "suggested"),
    ],
)
def test_observe_drops_and_suggest_only_drafts(
    local_org: Store, outbox: Path, level: str, words: str, event: str
) -> None:
    local_org.put_policy("maya", {"autonomy": {"send": level}})
    response = ask(local_org, "maya", SEND)
    assert response.text.startswith(f"The understudy of Maya Okafor: {words}")
    assert local_org.list_actions(owner="maya") == []
    assert f"action_{event}" in [e.event for e in local_org.list_audit("maya")]
    assert not outbox.exists()


def test_acting_alone_needs_a_certified_confidence(local_org: Store) -> None:
    # Sending has no twin confidence behind it, so even "act" asks first.
    local_org.put_policy("maya", {"autonomy": {"send": "act"}})
    response = ask(local_org, "maya", SEND)
    assert response.status == "queued"
    assert "not certain enough to act alone" in response.text
    assert [a.state for a in local_org.list_actions(owner="maya")] == ["proposed"]


def test_an_external_recipient_is_never_written_to_alone(local_org: Store, outbox: Path) -> None:
    local_org.put_policy("maya", {"autonomy": {"send": "act"}})
    response = ask(
        local_org, "maya", "Send partner@vendor.example a note saying the invoice is paid"
    )
    assert response.status == "queued"
    assert "goes outside the organization (partner@vendor.example)" in response.text
    assert [a.state for a in local_org.list_actions(owner="maya")] == ["proposed"]
    assert not outbox.exists()


def test_a_colleagues_request_never_acts_by_itself(local_org: Store, outbox: Path) -> None:
    local_org.put_policy(
        "maya", {"autonomy": {"send": "act", "schedule": "act", "create_task": "act"}}
    )
    for text in (
        "Send Lena a note saying the launch is confirmed",
        "Schedule a meeting with Lena about pricing",
        "Create a task for Lena to review pricing",
    ):
        response = ask(local_org, "ravi", text)
        assert response.status in ("declined", "answered")
    kinds = {a.kind for a in local_org.list_actions(owner="maya")}
    assert kinds <= {"answer_question"}
    assert all(a.state == "proposed" for a in local_org.list_actions(owner="maya"))
    assert not outbox.exists()


def test_what_the_requester_names_is_all_the_gate_lets_through(shared_org: Store) -> None:
    def named(text: str, item: int | None = None, asker: str = "maya") -> set[str]:
        origin = Origin.OWNER if asker == "maya" else Origin.COLLEAGUE
        request = Request("maya", asker, text, origin=origin, item_id=item)
        return grounded_targets(shared_org, request)

    assert {"ravi", "ravi@acme.example"} <= named("Send Ravi the plan")
    assert {"lena", "lena@acme.example"} <= named("send it to lena@acme.example")
    assert "someone@else.example" in named("forward to someone@else.example")
    assert "ravi" not in named("Order ravioli for the offsite")
    # Outsiders are named by their address only: display names come from their own mail.
    assert "x@evil.com" not in named("Summarize my inbox, Inbox Assistant")
    assert "partner@vendor.example" not in named("Reply to Pat Partner")
    # Pointing at an item names its sender and recipients.
    invoice = titled(shared_org, "Quarterly invoice")
    assert "partner@vendor.example" in named("Draft a reply to this message", invoice.id)
    # Nobody can point at what they may not read to name its people.
    salary = titled(shared_org, "Salary review 2026")
    assert "hana" not in named("Reply to this", salary.id, asker="ravi")


# --- acting alone with a real twin -------------------------------------------------------


def test_the_twin_is_certified_and_sure_of_the_newest_requests(
    ann: tuple[Store, PersonTwin],
) -> None:
    store, twin = ann
    threshold = twin.thresholds["reply"]
    assert threshold is not None
    boss = predict_item(store, twin, mail_titled(store, "Request b49"))
    assert boss.p_reply >= threshold
    fyi = predict_item(store, twin, mail_titled(store, "FYI 49"))
    assert fyi.p_reply < threshold


def test_act_with_a_certified_twin_replies_alone(
    ann: tuple[Store, PersonTwin], smtp_server: SMTPServer
) -> None:
    store, _ = ann
    store.put_policy("ann", {"autonomy": {"reply": "act"}, "precision": TARGET})
    status, action_id = draft_for(store, "Request b49")
    assert status == "answered"
    action = store.get_action(action_id)
    assert (action.state, action.approved_by) == ("done", "policy")
    assert action.result == f"sent through {smtp_server.url}"
    (delivery,) = smtp_server.received
    assert delivery.rcpt_tos == ("bo@co.example",)
    assert delivery.message["From"] == "Ann Lee <ann@co.example>"
    assert delivery.message["Subject"] == "Re: Request b49"
    assert delivery.message["In-Reply-To"] == "<b49@habits.example>"
    assert "all fine" in delivery.message.get_content()
    approved = [e for e in store.list_audit("ann") if e.event == "action_approved"]
    assert approved[0].detail["id"] == action_id
    assert "confidence" in approved[0].detail["reason"]


def test_act_still_asks_when_the_twin_is_not_sure(
    ann: tuple[Store, PersonTwin], smtp_server: SMTPServer
) -> None:
    store, _ = ann
    store.put_policy("ann", {"autonomy": {"reply": "act"}, "precision": TARGET})
    status, action_id = draft_for(store, "FYI 49")
    assert status == "queued"
    action = store.get_action(action_id)
    assert action.state == "proposed"
    assert action.payload["reason"] == "not certain enough to act alone"
    assert smtp_server.received == []


def test_act_never_replies_outside_the_company_alone(
    ann: tuple[Store, PersonTwin], smtp_server: SMTPServer
) -> None:
    store, twin = ann
    store.put_policy("ann", {"autonomy": {"reply": "act"}, "precision": TARGET})
    client = mail_titled(store, "Request c49")
    assert predict_item(store, twin, client).p_reply >= (twin.thresholds["reply"] or 1.0)
    status, action_id = draft_for(store, "Request c49")
    assert status == "queued"
    assert store.get_action(action_id).payload["reason"] == (
        "goes outside the organization (cleo@client.example)"
    )
    assert smtp_server.received == []


def test_ask_queues_even_what_the_twin_is_sure_of(
    ann: tuple[Store, PersonTwin], smtp_server: SMTPServer
) -> None:
    store, _ = ann
    store.put_policy("ann", {"autonomy": {"reply": "ask"}})
    status, action_id = draft_for(store, "Request b48")
    assert status == "queued"
    assert store.get_action(action_id).state == "proposed"
    assert smtp_server.received == []


def test_a_colleague_cannot_make_a_certified_twin_act(
    ann: tuple[Store, PersonTwin], smtp_server: SMTPServer
) -> None:
    store, _ = ann
    store.put_policy("ann", {"autonomy": {"reply": "act", "send": "act"}, "precision": TARGET})
    before = {a.id for a in store.list_actions()}
    status, _ = draft_for(store, "Request b47", asker="bo")
    assert status == "declined"
    ask(store, "bo", "Reply to Pat saying the numbers are fine", owner="ann")
    new = [a for a in store.list_actions() if a.id not in before]
    assert {a.kind for a in new} == {"answer_question"}
    assert smtp_server.received == []


def test_a_document_has_nobody_to_reply_to(local_org: Store) -> None:
    save_twin(local_org, train_twin(local_org, "maya"))
    deck = titled(local_org, "Board deck Q4")
    response = ask(local_org, "maya", "Draft a reply to this message", item=deck.id)
    assert response.text == "The understudy of Maya Okafor: Board deck Q4 has no sender to reply to"
    assert local_org.list_actions(owner="maya") == []
    assert "blocked" not in [e.event for e in local_org.list_audit("maya")]


def test_a_models_plan_for_the_owner_meets_the_same_gate(
    local_org: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The model passes one address as a plain string; it still means Ravi, whom Maya named.
    call = ScriptedCall(
        "send_message",
        {"to": "ravi@acme.example", "subject": "Launch", "body": "The launch is confirmed."},
    )
    with FakeModelServer([Reply(tool_calls=(call,)), Reply("Queued a note to Ravi.")]) as fake:
        monkeypatch.setenv("UNDERSTUDY_LLM_URL", fake.url)
        model = get_model(Settings.load())
        response = ask(local_org, "maya", "Send Ravi a note that the launch is on", model=model)
        offered = {t["function"]["name"] for t in fake.requests[0].tools}
    assert {"send_message", "reply", "propose_meeting", "create_task"} <= offered
    assert response.text == "The understudy of Maya Okafor: Queued a note to Ravi."
    (action,) = local_org.list_actions(owner="maya")
    assert (action.kind, action.state) == ("send", "proposed")
    assert action.payload["to"] == ["ravi@acme.example"]
    assert action.payload["reason"] == "policy: ask"
