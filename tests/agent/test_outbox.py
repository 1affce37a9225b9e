"""Carrying out approved actions: mail over real SMTP or to the outbox, invitations, tasks."""

from __future__ import annotations

import json
from datetime import datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from icalendar import Calendar

from tests.agent.acme import NOW, ask, titled
from tests.agent.smtp import SMTPServer, running_smtp
from tests.sources import radicale
from tests.sources.radicale import RadicaleServer, free_port
from understudy.agent.approvals import approve
from understudy.settings import Settings
from understudy.store import Store
from understudy.twin.model import save_twin, train_twin

radicale_server = radicale.radicale_server


def queue(store: Store, text: str, item: int | None = None) -> int:
    """Have Maya ask her understudy for something; return the id of the queued action."""
    response = ask(store, "maya", text, item=item)
    assert response.status == "queued", response.text
    (action,) = response.actions
    return int(action["id"])


def test_an_approved_send_goes_out_over_smtp_as_the_owner(
    local_org: Store, smtp_server: SMTPServer, outbox: Path
) -> None:
    action_id = queue(local_org, "Send Ravi a note saying the launch is confirmed")
    assert smtp_server.received == []
    done = approve(local_org, Settings.load(), action_id, "maya")
    assert done.state == "done"
    assert done.result == f"sent through {smtp_server.url}"
    (delivery,) = smtp_server.received
    assert delivery.mail_from == "maya@acme.example"
    assert delivery.rcpt_tos == ("ravi@acme.example",)
    assert delivery.message["From"] == "Maya Okafor <maya@acme.example>"
    assert delivery.message["To"] == "ravi@acme.example"
    assert delivery.message.get_content().strip() == "the launch is confirmed"
    assert delivery.message["In-Reply-To"] is None
    assert not outbox.exists()


def test_an_approved_reply_is_threaded_under_the_message(
    local_org: Store, smtp_server: SMTPServer
) -> None:
    save_twin(local_org, train_twin(local_org, "maya"))
    load_tests = titled(local_org, "Atlas load test results")
    action_id = queue(local_org, "Draft a reply to this message", item=load_tests.id)
    approve(local_org, Settings.load(), action_id, "maya")
    (delivery,) = smtp_server.received
    assert delivery.rcpt_tos == ("lena@acme.example",)
    assert delivery.message["Subject"] == "Re: Atlas load test results"
    assert (
        delivery.message["In-Reply-To"] == "<atlas-load@mail.example>"
        or delivery.message["In-Reply-To"] == f"<{load_tests.metadata['message_id'].strip('<>')}>"
    )
    assert delivery.message["References"].endswith(delivery.message["In-Reply-To"])
    assert delivery.message.get_content().startswith("Hi Lena,")


def test_without_smtp_mail_lands_in_the_outbox(local_org: Store, outbox: Path) -> None:
    action_id = queue(local_org, "Send Ravi a note saying the launch is confirmed")
    done = approve(local_org, Settings.load(), action_id, "maya")
    (eml,) = outbox.glob("*.eml")
    assert done.state == "done"
    assert done.result == f"written to {eml}"
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["From"] == "Maya Okafor <maya@acme.example>"
    assert message["To"] == "ravi@acme.example"
    assert message.get_content().strip() == "the launch is confirmed"  # type: ignore[attr-defined]


def busy_of_maya() -> list[tuple[datetime, datetime]]:
    """Return Maya's busy blocks around NOW, as her calendar file says."""
    day = NOW.replace(hour=0)
    return [
        (day.replace(hour=13), day.replace(hour=14)),
        (day.replace(day=19, hour=9), day.replace(day=19, hour=12)),
        (day.replace(day=20, hour=10), day.replace(day=20, hour=10, minute=30)),
    ]


def test_a_proposed_meeting_is_a_valid_invitation_at_a_free_slot(
    local_org: Store, outbox: Path
) -> None:
    action_id = queue(local_org, "Schedule a meeting with Ravi about Atlas pricing")
    done = approve(local_org, Settings.load(), action_id, "maya")
    (ics,) = outbox.glob("*.ics")
    assert done.result == f"written to {ics}"
    calendar = Calendar.from_ical(ics.read_bytes())
    assert str(calendar["METHOD"]) == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Atlas pricing"
    assert str(event["ORGANIZER"]) == "mailto:maya@acme.example"
    attendees = event["ATTENDEE"] if isinstance(event["ATTENDEE"], list) else [event["ATTENDEE"]]
    assert [str(a) for a in attendees] == ["mailto:ravi@acme.example"]
    assert all(a.params["PARTSTAT"] == "NEEDS-ACTION" for a in attendees)
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert NOW < start < end
    assert start.weekday() < 5
    assert start.hour >= 9
    assert (end.hour, end.minute) <= (17, 0)
    assert all(end <= busy_start or start >= busy_end for busy_start, busy_end in busy_of_maya())


def test_an_invitation_goes_to_a_real_caldav_calendar(
    local_org: Store, radicale_server: RadicaleServer, monkeypatch: pytest.MonkeyPatch, outbox: Path
) -> None:
    account = radicale_server.as_user("bo")
    calendar = account.new_calendar("Maya's invitations")
    url = account.calendar_url(calendar)
    monkeypatch.setenv("UNDERSTUDY_CALDAV_URL", url)
    action_id = queue(local_org, "Schedule a meeting with Lena about the Atlas budget")
    done = approve(local_org, Settings.load(), action_id, "maya")
    assert done.state == "done", done.result
    assert account.password not in done.result
    assert done.result.startswith("saved to http://bo:***@")
    (saved,) = calendar.events()
    event = saved.icalendar_component
    assert str(event["SUMMARY"]) == "The Atlas budget"
    assert "lena@acme.example" in str(event["ATTENDEE"])
    assert not outbox.exists()


def test_an_approved_task_is_appended_to_the_task_list(local_org: Store, outbox: Path) -> None:
    first = queue(local_org, "Create a task to review the Atlas budget for Lena")
    second = queue(local_org, "Create a task to book the offsite venue")
    for action_id in (first, second):
        assert approve(local_org, Settings.load(), action_id, "maya").state == "done"
    lines = (outbox / "tasks.jsonl").read_text(encoding="utf-8").splitlines()
    tasks = [json.loads(line) for line in lines]
    assert [t["title"] for t in tasks] == [
        "review the Atlas budget for Lena",
        "book the offsite venue",
    ]
    assert [t["assignee"] for t in tasks] == ["lena", "maya"]
    assert all(t["owner"] == "maya" for t in tasks)


def test_an_unreachable_smtp_server_fails_the_action_without_the_password(
    local_org: Store, monkeypatch: pytest.MonkeyPatch, outbox: Path
) -> None:
    port = free_port()
    monkeypatch.setenv("UNDERSTUDY_SMTP_URL", f"smtp://maya:s3cret-pass@127.0.0.1:{port}")
    action_id = queue(local_org, "Send Ravi a note saying the launch is confirmed")
    failed = approve(local_org, Settings.load(), action_id, "maya")
    assert failed.state == "failed"
    assert failed.result.startswith(f"smtp://maya:***@127.0.0.1:{port}: could not send (")
    assert failed.result.endswith("check UNDERSTUDY_SMTP_URL")
    assert "s3cret" not in failed.result
    assert local_org.get_action(action_id).state == "failed"
    assert not outbox.exists()  # a failed send is not quietly written elsewhere
    events = [e for e in local_org.list_audit("maya") if e.event == "action_failed"]
    assert "s3cret" not in json.dumps([e.detail for e in events])


def test_a_server_that_refuses_the_recipient_fails_the_action(
    local_org: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_smtp(refuse=True) as server:
        monkeypatch.setenv("UNDERSTUDY_SMTP_URL", server.url)
        action_id = queue(local_org, "Send Ravi a note saying the launch is confirmed")
        failed = approve(local_org, Settings.load(), action_id, "maya")
    assert failed.state == "failed"
    assert "ravi@acme.example" in failed.result
    assert server.received == []


def test_a_calendar_that_refuses_the_invitation_fails_the_action(
    local_org: Store, radicale_server: RadicaleServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calendar = radicale_server.new_calendar("Refusing")
    url = radicale_server.calendar_url(calendar, password="wrong-Secret-99")
    monkeypatch.setenv("UNDERSTUDY_CALDAV_URL", url)
    action_id = queue(local_org, "Schedule a meeting with Lena about the Atlas budget")
    failed = approve(local_org, Settings.load(), action_id, "maya")
    assert failed.state == "failed"
    assert "could not save the invitation" in failed.result
    assert failed.result.endswith("check UNDERSTUDY_CALDAV_URL")
    assert "wrong-Secret-99" not in failed.result


def test_with_smtp_an_invitation_is_also_mailed_to_the_attendees(
    local_org: Store, smtp_server: SMTPServer, outbox: Path
) -> None:
    action_id = queue(local_org, "Schedule a meeting with Ravi and Lena about Atlas pricing")
    done = approve(local_org, Settings.load(), action_id, "maya")
    assert done.state == "done"
    (delivery,) = smtp_server.received
    assert set(delivery.rcpt_tos) == {"ravi@acme.example", "lena@acme.example"}
    assert delivery.message["Subject"] == "Invitation: Atlas pricing"
    (invite,) = list(delivery.message.iter_attachments())
    assert invite.get_content_type() == "text/calendar"
    assert invite.get_param("method") == "REQUEST"
    calendar = Calendar.from_ical(invite.get_content())
    (event,) = calendar.walk("VEVENT")
    assert {str(a) for a in event["ATTENDEE"]} == {
        "mailto:ravi@acme.example",
        "mailto:lena@acme.example",
    }
    assert len(list(outbox.glob("*.ics"))) == 1
