"""Carry out approved actions: mail over SMTP, invitations as iCalendar, tasks.

With no SMTP server configured, mail is written as .eml files to
``$UNDERSTUDY_HOME/outbox`` (so nothing is ever lost, and a test can read
it); invitations go to CalDAV when ``caldav_url`` is set, else as .ics
files there too, and are also mailed to the attendees when SMTP is set.
"""

from __future__ import annotations

import json
import smtplib
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from icalendar import Calendar, Event, vCalAddress

from understudy.errors import UnderstudyError
from understudy.records import Action, Principal
from understudy.settings import Settings, ensure_home
from understudy.store import Store
from understudy.store.sources import redact_url

__all__ = ["DeliveryError", "execute_action"]


class DeliveryError(UnderstudyError):
    """An approved action could not be carried out."""


def _address(store: Store, target: str) -> str:
    if "@" in target:
        return target
    person = store.get_person(target)
    if person is None or not person.emails:
        raise DeliveryError(f"no email address for {target!r}; add one in the org file")
    return person.emails[0]


def _outbox(settings: Settings) -> Path:
    path = ensure_home(settings.home) / "outbox"
    path.mkdir(exist_ok=True)
    return path


def _send(settings: Settings, message: EmailMessage) -> str:
    url = settings.text("smtp_url")
    if not url:
        path = _outbox(settings) / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(bytes(message))
        return f"written to {path}"
    parts = urlsplit(url)
    secure = parts.scheme == "smtps"
    client_class = smtplib.SMTP_SSL if secure else smtplib.SMTP
    try:
        with client_class(
            parts.hostname or "localhost", parts.port or (465 if secure else 25), timeout=30
        ) as client:
            if not secure and parts.query == "starttls":
                client.starttls()
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(
            f"{redact_url(url)}: could not send ({redact_url(str(exc))}); check UNDERSTUDY_SMTP_URL"
        ) from None
    return f"sent through {redact_url(url)}"


def _mail(store: Store, settings: Settings, action: Action) -> str:
    owner = store.get_person(action.owner)
    sender = owner.emails[0] if owner and owner.emails else f"{action.owner}@localhost"
    message = EmailMessage()
    message["From"] = f"{owner.name} <{sender}>" if owner else sender
    message["To"] = ", ".join(_address(store, t) for t in action.payload.get("to", []))
    message["Subject"] = str(action.payload.get("subject", ""))
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    item_id = action.payload.get("in_reply_to")
    if item_id:
        item = store.get_item(Principal.maintenance(), int(item_id))
        reference = _message_id(item.metadata.get("message_id")) if item else ""
        if item is not None and reference:
            # Stored ids keep their angle brackets (as in the headers); never double them.
            earlier = [_message_id(r) for r in item.metadata.get("references") or []]
            message["In-Reply-To"] = reference
            message["References"] = " ".join(dict.fromkeys([*filter(None, earlier), reference]))
    body = str(action.payload.get("body", ""))
    if action.payload.get("forward_of"):
        body = _forwarded(store, action, int(action.payload["forward_of"]), body)
    message.set_content(body)
    return _send(settings, message)


def _forwarded(store: Store, action: Action, item_id: int, note: str) -> str:
    """Return the note followed by the forwarded item, read as the owner at sending time."""
    item = store.get_item(Principal.person(action.owner), item_id)
    if item is None:
        raise DeliveryError(
            f"item {item_id} can no longer be read by {action.owner}; nothing was forwarded"
        )
    meta = item.metadata
    sender = str(meta.get("from") or item.author or "")
    lines = ["---------- Forwarded message ----------"] + ([f"From: {sender}"] if sender else [])
    lines.append(f"Date: {format_datetime(item.timestamp)}")
    lines.append(f"Subject: {item.title}")
    if meta.get("to") or item.recipients:
        lines.append(f"To: {', '.join(map(str, meta.get('to') or item.recipients))}")
    attached = [a.name for a in item.attachments]
    lines += ["", item.body.rstrip()]
    if attached:
        lines += ["", f"Attachments (not included): {', '.join(attached)}"]
    return (f"{note.rstrip()}\n\n" if note.strip() else "") + "\n".join(lines) + "\n"


def _message_id(value: object) -> str:
    """Return a Message-ID in its header form, ``<id@host>``, or "" for none."""
    text = str(value or "").strip().strip("<>").strip()
    return f"<{text}>" if text else ""


def _invitation(store: Store, action: Action) -> tuple[bytes, str]:
    payload = action.payload
    start = datetime.fromisoformat(str(payload["start"]))
    calendar = Calendar()
    calendar.add("prodid", "-//Understudy//understudy//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    event = Event()
    uid = f"{uuid.uuid4()}@understudy"
    event.add("uid", uid)
    event.add("summary", str(payload.get("title", "Meeting")))
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=int(payload.get("minutes") or 30)))
    event.add("dtstamp", datetime.now(UTC))
    organizer = vCalAddress(f"mailto:{_address(store, action.owner)}")
    event.add("organizer", organizer)
    for attendee in payload.get("attendees", []):
        address = vCalAddress(f"mailto:{_address(store, str(attendee))}")
        address.params["PARTSTAT"] = "NEEDS-ACTION"
        address.params["RSVP"] = "TRUE"
        event.add("attendee", address, encode=False)
    calendar.add_component(event)
    return calendar.to_ical(), uid


def _meeting(store: Store, settings: Settings, action: Action) -> str:
    body, uid = _invitation(store, action)
    url = settings.text("caldav_url")
    if url:
        import caldav

        library: Any = caldav  # the client resolves its classes lazily
        try:
            client = library.DAVClient(url=url)
            client.calendar(url=url).save_event(body.decode("utf-8"))
        except Exception as exc:  # the caldav client raises many kinds
            raise DeliveryError(
                f"{redact_url(url)}: could not save the invitation ({redact_url(str(exc))}); "
                "check UNDERSTUDY_CALDAV_URL"
            ) from None
        where = f"saved to {redact_url(url)}"
    else:
        path = _outbox(settings) / f"{uid.split('@')[0]}.ics"
        path.write_bytes(body)
        where = f"written to {path}"
    if settings.text("smtp_url"):
        message = EmailMessage()
        message["From"] = _address(store, action.owner)
        message["To"] = ", ".join(
            _address(store, str(a)) for a in action.payload.get("attendees", [])
        )
        message["Subject"] = f"Invitation: {action.payload.get('title', 'Meeting')}"
        message.set_content("You are invited; the invitation is attached.")
        message.add_attachment(
            body,
            maintype="text",
            subtype="calendar",
            filename="invite.ics",
            params={"method": "REQUEST"},
        )
        where += "; " + _send(settings, message)
    return where


def _task(settings: Settings, action: Action) -> str:
    path = _outbox(settings) / "tasks.jsonl"
    record: dict[str, Any] = {
        "owner": action.owner,
        **action.payload,
        "created": datetime.now(UTC).isoformat(),
    }
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record, default=str) + "\n")
    return f"added to {path}"


def execute_action(store: Store, settings: Settings, action: Action) -> Action:
    """Carry out an approved action and record its result (done or failed)."""
    if action.id is None:
        raise ValueError("only stored actions can be executed")
    try:
        if action.kind in ("send", "reply", "forward"):
            result = _mail(store, settings, action)
        elif action.kind == "schedule":
            result = _meeting(store, settings, action)
        elif action.kind == "create_task":
            result = _task(settings, action)
        else:
            raise DeliveryError(f"no way to carry out a {action.kind!r} action")
    except DeliveryError as exc:
        return store.update_action(action.id, "failed", result=str(exc))
    return store.update_action(action.id, "done", result=result)
