"""Read one email message from its bytes, wherever the bytes came from.

Maildir, mbox, .eml files and IMAP all hand raw bytes to ``parse_mail``,
which returns a ``ParsedMail`` (headers, body text, attachments with their
text, and a content key), and ``mail_draft`` turns that into a ``Draft``.
``read_envelope`` reads only the headers, for the cheap pass that rebuilds
threads over a whole mailbox.

Speed matters, so parsing uses the ``compat32`` policy and decodes headers
here rather than through ``policy.default`` (several times faster). Decoding
never raises: wrong or unknown charsets fall back to UTF-8 and then cp1252
with replacement characters, and the message is flagged. Only a message that
cannot be read at all raises ``UnreadableMail``.
"""

from __future__ import annotations

import binascii
import email.utils
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from typing import Any

from understudy.errors import InputError
from understudy.records import Attachment
from understudy.sources.base import Contact, Draft
from understudy.sources.decisions import normalize_subject
from understudy.sources.documents import DOCUMENT_TYPES, content_type_for, extract_text

__all__ = [
    "ATTACHMENT_EXTRACT_LIMIT",
    "ATTACHMENT_TEXT_LIMIT",
    "BODY_TEXT_LIMIT",
    "Envelope",
    "ParsedMail",
    "UnreadableMail",
    "decode_header_text",
    "decode_text",
    "html_to_text",
    "mail_draft",
    "parse_addresses",
    "parse_mail",
    "parse_message",
    "read_envelope",
]

BODY_TEXT_LIMIT = 1_000_000
ATTACHMENT_EXTRACT_LIMIT = 20 * 2**20
ATTACHMENT_TEXT_LIMIT = 1_000_000
EARLIEST_PLAUSIBLE_DATE = datetime(1990, 1, 1, tzinfo=UTC)
# How far a Date header may lie after the time the message was stored.
FUTURE_DATE_SLACK = timedelta(days=2)
_EMAIL = re.compile(r"^[^@\s<>(),;:\"]+@[^@\s<>(),;:\"]+$")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_TRUNCATION_DEFECTS = ("CloseBoundaryNotFoundDefect", "StartBoundaryNotFoundDefect")
_MAIL_HEADERS = ("from", "date", "subject", "message-id", "to", "cc", "received", "sender")
_PARSER = BytesParser(policy=compat32)
_DOCUMENT_KINDS = frozenset(DOCUMENT_TYPES.values())
_CHARSET = re.compile(r'charset\s*=\s*"?([^";\s]+)', re.IGNORECASE)


class UnreadableMail(InputError):
    """A message that cannot be read at all; the connector reports it as a problem."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """What a message's headers say: who, when, what, and how it links to others."""

    message_id: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    sender: Contact | None
    to: tuple[Contact, ...]
    cc: tuple[Contact, ...]
    bcc: tuple[Contact, ...]
    timestamp: datetime
    date_key: str
    date_fallback: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def recipients(self) -> tuple[Contact, ...]:
        """Return To, Cc and Bcc contacts, each address once."""
        seen: dict[str, Contact] = {}
        for contact in (*self.to, *self.cc, *self.bcc):
            seen.setdefault(contact.email, contact)
        return tuple(seen.values())


@dataclass(frozen=True, slots=True)
class ParsedMail:
    """One message read from its bytes, before it is placed in a mailbox."""

    envelope: Envelope
    body: str
    attachments: tuple[Attachment, ...]
    key: str
    metadata: dict[str, Any]
    problems: tuple[str, ...] = ()


def decode_text(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """Return ``data`` as text, and a warning when the declared charset did not fit."""
    if data.isascii():
        return _clean(data.decode("ascii")), None
    declared = (charset or "").strip().strip('"').lower()
    if declared:
        try:
            # Codecs that are not text encodings (base64, rot13) raise LookupError here.
            return _clean(data.decode(declared)), None
        except (LookupError, UnicodeError, ValueError):
            pass
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        return _clean(text), f"charset {declared or 'missing'}: decoded as cp1252"
    return _clean(text), (f"charset {declared}: decoded as utf-8" if declared else None)


def _clean(text: str) -> str:
    # PostgreSQL refuses NUL characters in text and JSON.
    return text.replace("\x00", "") if "\x00" in text else text


def _header_str(value: Any) -> str:
    """Return a raw compat32 header value as text, fixing undeclared 8-bit bytes."""
    text = str(value)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape")
        return decode_text(raw, None)[0]
    return text


_BASE64 = re.compile(r"^[A-Za-z0-9+/]*=*$")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?\s]*)\?=")


def _encoded_word(charset: str, encoding: str, payload: str) -> str | None:
    """Return one RFC 2047 encoded word decoded, or None when it is broken."""
    data = payload.encode("ascii", "replace")
    try:
        if encoding in "qQ":
            decoded = binascii.a2b_qp(data, header=True)
        elif _BASE64.match(payload):
            decoded = binascii.a2b_base64(data + b"=" * (-len(data) % 4))
        else:
            return None
    except (binascii.Error, ValueError):
        return None
    return decode_text(decoded, charset.split("*")[0])[0]


def decode_header_text(value: Any) -> str:
    """Return a header value unfolded, with RFC 2047 encoded words decoded.

    Each encoded word is decoded on its own, so one broken word (bad base64,
    unknown charset) stays as written while the others are decoded.
    """
    text = " ".join(_header_str(value).split())
    if "=?" not in text:
        return _clean(text)
    pieces: list[str] = []
    end = 0
    for found in _ENCODED_WORD.finditer(text):
        between = text[end : found.start()]
        # Whitespace between two encoded words is folding, not content.
        if not (pieces and not between.strip()):
            pieces.append(between)
        decoded = _encoded_word(*found.groups())
        pieces.append(found.group(0) if decoded is None else decoded)
        end = found.end()
    pieces.append(text[end:])
    return _clean(" ".join("".join(pieces).split()))


def parse_addresses(values: Iterable[str]) -> tuple[Contact, ...]:
    """Return the contacts in address headers; entries without a usable address are dropped."""
    found: dict[str, Contact] = {}
    for value in values:
        text = _header_str(value)
        if not any(c in text for c in '"<(;:\\'):
            pairs = [("", part) for part in text.split(",")]
        else:
            pairs = email.utils.getaddresses([text])
        for name, address in pairs:
            address = address.strip(" \t\r\n'").lower()
            if _EMAIL.match(address) and address not in found:
                label = decode_header_text(name).strip("'\" ") if name else ""
                found[address] = Contact(address, label)
    return tuple(found.values())


def _message_ids(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_MESSAGE_ID.findall(value)))


def _parse_date(value: str) -> datetime | None:
    try:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None
        return datetime.fromtimestamp(email.utils.mktime_tz(parsed), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _timestamp(value: str, received: datetime) -> tuple[datetime, str, str | None]:
    """Return the message time, the date part of its content key, and why it fell back."""
    if not value:
        return received, "", "missing"
    parsed = _parse_date(value)
    if parsed is None:
        return received, " ".join(value.split()), f"unparseable: {value[:80]}"
    if parsed < EARLIEST_PLAUSIBLE_DATE or parsed > received + FUTURE_DATE_SLACK:
        return received, parsed.isoformat(), f"implausible: {parsed.date().isoformat()}"
    return parsed, parsed.isoformat(), None


def _split_headers(head: bytes) -> dict[str, list[str]]:
    """Return the fields of a header block by lower-cased name; folded lines stay folded.

    Faster than the feed parser for the one thing needed from every copy of
    every message; like it, a line that is not a header ends the block.
    """
    found: dict[str, list[str]] = {}
    values: list[str] | None = None
    for number, line in enumerate(head.decode("ascii", "surrogateescape").split("\n")):
        if not line.strip():
            break
        if line[0] in " \t":
            if values is not None:
                values[-1] += "\n" + line
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or " " in name or "\t" in name:
            if number == 0 and line.startswith("From "):
                continue  # an mbox separator left at the top
            break
        values = found.setdefault(name.lower(), [])
        values.append(value.strip())
    return found


def _content_type(headers: dict[str, list[str]]) -> tuple[str, str | None]:
    """Return the content type of a message (text/plain when absent or invalid) and its charset."""
    value = headers.get("content-type", [""])[0]
    ctype = value.split(";", 1)[0].strip().lower()
    found = _CHARSET.search(value)
    return (ctype if "/" in ctype else "text/plain"), (found.group(1) if found else None)


def _headers(message: Message) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        found.setdefault(name.lower(), []).append(value)
    return found


def _first(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return decode_header_text(values[0]) if values else ""


def _named(contacts: tuple[Contact, ...], names: list[str]) -> tuple[Contact, ...]:
    """Return contacts with Enron's X-From/X-To display names where they had none."""
    if len(names) != len(contacts):
        return contacts
    return tuple(
        c if c.name or not n or "@" in n else Contact(c.email, n)
        for c, n in zip(contacts, names, strict=True)
    )


def _envelope(headers: dict[str, list[str]], received: datetime) -> Envelope:
    date_value = _first(headers, "date")
    timestamp, date_key, fallback = _timestamp(date_value, received)
    senders = parse_addresses(headers.get("from", ()))
    sender = senders[0] if senders else None
    if sender is not None:
        sender = _named((sender,), [_first(headers, "x-from").strip('"')])[0]
    to = parse_addresses(headers.get("to", ()))
    x_to = _first(headers, "x-to")
    if x_to:
        to = _named(to, [n.split("<")[0].strip().strip('"') for n in x_to.split(",")])
    extra = {k: _first(headers, f"x-{k}") for k in ("folder", "origin")}
    return Envelope(
        message_id=(_message_ids(_first(headers, "message-id")) or ("",))[0],
        in_reply_to=_message_ids(_first(headers, "in-reply-to")),
        references=_message_ids(_first(headers, "references")),
        subject=_first(headers, "subject"),
        sender=sender,
        to=to,
        cc=parse_addresses(headers.get("cc", ())),
        bcc=parse_addresses(headers.get("bcc", ())),
        timestamp=timestamp,
        date_key=date_key,
        date_fallback=fallback,
        extra={k: v for k, v in extra.items() if v},
    )


def _check_readable(raw: bytes, headers: dict[str, list[str]]) -> None:
    if not raw.strip():
        raise UnreadableMail("empty file: no message in it")
    if not any(name in headers for name in _MAIL_HEADERS):
        raise UnreadableMail("not an email message: none of From, Date, Subject or To found")


def _head_bytes(raw: bytes) -> bytes:
    """Return the header block of a message, with the blank line that ends it."""
    ends = [(i + len(sep)) for sep in (b"\n\n", b"\r\n\r\n") if (i := raw.find(sep)) >= 0]
    return raw[: min(ends)] if ends else raw


def read_envelope(raw: bytes, received: datetime) -> Envelope:
    """Return the envelope of a message from (the start of) its bytes; headers only."""
    headers = _split_headers(_head_bytes(raw))
    _check_readable(raw, headers)
    return _envelope(headers, received)


def html_to_text(html: str) -> str:
    """Return the visible text of an HTML body or attachment."""
    return extract_text(html.encode("utf-8"), "body.html", "text/html").text


def attachment_text(
    data: bytes, content_type: str, name: str, charset: str | None = None
) -> tuple[str, str | None]:
    """Return the text of an attachment and an error when it could not be read.

    Documents (PDF, DOCX, PPTX, XLSX, HTML) go through the same extraction as
    document folders; other text uses the charset the part declares.
    """
    if len(data) > ATTACHMENT_EXTRACT_LIMIT:
        return "", "too large"
    kind = content_type_for(name, content_type)
    if kind == "text/html":
        return html_to_text(decode_text(data, charset)[0]), None
    if kind.startswith("text/"):
        return decode_text(data, charset)[0][:ATTACHMENT_TEXT_LIMIT], None
    if kind not in _DOCUMENT_KINDS:
        return "", None
    found = extract_text(data, name, kind)
    return found.text[:ATTACHMENT_TEXT_LIMIT], found.error


def calendar_facts(text: str) -> dict[str, str]:
    """Return the method, UID, summary and first attendee reply of an iCalendar text."""
    facts: dict[str, str] = {}
    unfolded = re.sub(r"\r?\n[ \t]", "", text)
    for line in unfolded.splitlines():
        name, _, value = line.partition(":")
        upper = name.upper()
        if upper == "METHOD":
            facts.setdefault("calendar_method", value.strip().upper())
        elif upper == "UID":
            facts.setdefault("calendar_uid", value.strip())
        elif upper == "SUMMARY":
            facts.setdefault("calendar_summary", value.strip())
        elif upper.startswith("ATTENDEE") and "PARTSTAT=" in upper:
            status = upper.split("PARTSTAT=", 1)[1].split(";")[0].split(":")[0]
            facts.setdefault("attendee_partstat", status.strip('"'))
    if facts.get("calendar_method") == "REPLY" and "attendee_partstat" in facts:
        facts["partstat"] = facts["attendee_partstat"]
    facts.pop("attendee_partstat", None)
    return facts


class _Reading:
    """The body text, attachments and flags gathered while walking one message."""

    def __init__(self) -> None:
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[Attachment] = []
        self.warnings: list[str] = []
        self.metadata: dict[str, Any] = {}
        self.truncated = False

    def text_of(self, part: Message) -> str:
        """Return the decoded text of a text part, noting charset trouble."""
        payload = _payload(part)
        text, warning = decode_text(payload, part.get_content_charset())
        if warning:
            self.warnings.append(warning)
        if part.get("x-understudy-truncated"):
            self.truncated = True
        return text


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except (ValueError, TypeError, LookupError, AssertionError):
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _is_attachment(part: Message) -> bool:
    if (
        "content-disposition" not in part
        and "name" not in str(part.get("content-type", "")).lower()
    ):
        return False
    disposition = str(part.get("content-disposition", "")).split(";")[0].strip().lower()
    return disposition == "attachment" or part.get_filename() is not None


def _walk(part: Message, reading: _Reading, depth: int = 0) -> None:
    ctype = part.get_content_type()
    if part.is_multipart() and ctype.startswith("multipart/") and depth < 20:
        children = [p for p in part.get_payload() if isinstance(p, Message)]
        if ctype == "multipart/alternative":
            children = _best_alternative(children)
        for child in children:
            _walk(child, reading, depth + 1)
    elif ctype == "text/plain" and not _is_attachment(part):
        reading.plain.append(reading.text_of(part))
    elif ctype == "text/html" and not _is_attachment(part):
        reading.html.append(html_to_text(reading.text_of(part)))
    else:
        reading.attachments.append(_attachment(part, reading, len(reading.attachments)))


def _best_alternative(children: list[Message]) -> list[Message]:
    """Return the one body to read of a multipart/alternative, plus any calendar parts."""
    calendars = [c for c in children if c.get_content_type() == "text/calendar"]
    bodies = [c for c in children if c.get_content_type() != "text/calendar"]
    for wanted in ("text/plain", "multipart/", "text/html"):
        for child in bodies:
            if child.get_content_type().startswith(wanted) and (
                wanted != "text/plain" or _payload(child).strip()
            ):
                return [child, *calendars]
    return bodies[:1] + calendars


def _attachment_name(part: Message, index: int) -> str:
    try:
        name = part.get_filename()
    except (ValueError, LookupError, TypeError):
        name = None
    if name:
        return decode_header_text(name)
    subtype = part.get_content_subtype() or "bin"
    return f"part-{index + 1}.{subtype}"


def _attachment(part: Message, reading: _Reading, index: int) -> Attachment:
    ctype = part.get_content_type()
    name = _attachment_name(part, index)
    omitted = str(part.get("x-understudy-omitted", "")).strip()
    if omitted.isdigit():
        return Attachment(name, ctype, int(omitted), "", "too large")
    if ctype == "message/rfc822":
        return _forwarded(part, name, reading)
    data = _payload(part)
    if ctype == "text/calendar":
        text, _ = decode_text(data, part.get_content_charset())
        for key, value in calendar_facts(text).items():
            reading.metadata.setdefault(key, value)
        return Attachment(name, ctype, len(data), text[:ATTACHMENT_TEXT_LIMIT])
    text, error = attachment_text(data, ctype, name, part.get_content_charset())
    return Attachment(name, ctype, len(data), _clean(text), error)


def _forwarded(part: Message, name: str, reading: _Reading) -> Attachment:
    inner = part.get_payload()
    message = inner[0] if isinstance(inner, list) and inner else None
    if not isinstance(message, Message):
        return Attachment(name, "message/rfc822", 0, "", "empty forwarded message")
    nested = _Reading()
    _walk(message, nested, 10)
    headers = _headers(message)
    lines = [f"{h.title()}: {_first(headers, h)}" for h in ("from", "date", "subject")]
    body = "\n\n".join(nested.plain) or "\n\n".join(nested.html)
    subject = _first(headers, "subject")
    label = f"{subject}.eml" if subject and name.startswith("part-") else name
    reading.warnings.extend(nested.warnings)
    text = "\n".join(lines) + "\n\n" + body
    return Attachment(label, "message/rfc822", len(text), text[:ATTACHMENT_TEXT_LIMIT])


def _defects(message: Message) -> list[str]:
    names: list[str] = []
    for part in message.walk():
        names.extend(type(defect).__name__ for defect in getattr(part, "defects", ()))
    return names


def content_key(envelope: Envelope, body: str, attachments: Iterable[Attachment]) -> str:
    """Return the key under which copies of one message (in any folder) are the same.

    It is made of the sender, the date, the normalized subject, the body text
    with whitespace folded, and the attachment names; not of the Message-ID,
    which Enron's copies do not share.
    """
    body_hash = hashlib.blake2b(" ".join(body.split()).encode("utf-8"), digest_size=16)
    parts = [
        envelope.sender.email if envelope.sender else "",
        envelope.date_key,
        normalize_subject(envelope.subject),
        body_hash.hexdigest(),
        *sorted(a.name for a in attachments),
    ]
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=16).hexdigest()


def parse_mail(raw: bytes, received: datetime) -> ParsedMail:
    """Read a whole message; ``received`` dates it when its Date header is missing or absurd."""
    head = _head_bytes(raw)
    headers = _split_headers(head)
    _check_readable(raw, headers)
    envelope = _envelope(headers, received)
    reading = _Reading()
    defects: list[str] = []
    if not _read_single_part(headers, raw[len(head) :], reading):
        message = _PARSER.parsebytes(raw)
        _walk(message, reading)
        defects = _defects(message)
    body = "\n\n".join(t for t in reading.plain if t.strip()) or "\n\n".join(reading.html)
    metadata = dict(reading.metadata)
    if len(body) > BODY_TEXT_LIMIT:
        metadata["body_chars"] = len(body)
        body = body[:BODY_TEXT_LIMIT]
        reading.truncated = True
    if reading.truncated:
        metadata["truncated"] = True
    if envelope.date_fallback:
        metadata["date_fallback"] = envelope.date_fallback
    if reading.warnings:
        metadata["warnings"] = sorted(set(reading.warnings))
    attachments = tuple(reading.attachments)
    return ParsedMail(
        envelope=envelope,
        body=body,
        attachments=attachments,
        key=content_key(envelope, body, attachments),
        metadata=metadata,
        problems=_problems(envelope, defects),
    )


def _read_single_part(headers: dict[str, list[str]], data: bytes, reading: _Reading) -> bool:
    """Read a message that is one text part straight from its bytes; False if it is not.

    Most mail is one text/plain part; decoding it here skips the feed
    parser's line-by-line pass over the body, the bulk of the parsing time.
    """
    ctype, charset = _content_type(headers)
    disposition = headers.get("content-disposition", [""])[0].lower()
    named = "name" in headers.get("content-type", [""])[0].lower()
    if ctype not in ("text/plain", "text/html") or "attachment" in disposition or named:
        return False
    encoding = headers.get("content-transfer-encoding", [""])[0].strip().lower()
    try:
        if encoding == "quoted-printable":
            data = binascii.a2b_qp(data)
        elif encoding == "base64":
            data = binascii.a2b_base64(data)
        elif encoding not in ("", "7bit", "8bit", "binary"):
            return False
    except (binascii.Error, ValueError):
        return False
    text, warning = decode_text(data, charset)
    if warning:
        reading.warnings.append(warning)
    if "x-understudy-truncated" in headers:
        reading.truncated = True
    if ctype == "text/html":
        reading.html.append(html_to_text(text))
    else:
        reading.plain.append(text)
    return True


def _problems(envelope: Envelope, defects: list[str]) -> tuple[str, ...]:
    """Return what is wrong with a message that is still worth storing."""
    found = []
    if envelope.sender is None:
        found.append("no usable From header; stored without an author")
    if envelope.date_fallback == "missing":
        found.append("no Date header; dated by the time the file was stored")
    if any(name in _TRUNCATION_DEFECTS for name in defects):
        found.append("truncated MIME: a multipart boundary is missing; stored what was readable")
    return tuple(found)


def mail_draft(
    parsed: ParsedMail,
    *,
    folder: str,
    folders: Iterable[str] = (),
    sent: bool = False,
    path: str = "",
    thread_id: str | None = None,
) -> Draft:
    """Return the draft of a parsed message as it sits in a mailbox."""
    envelope = parsed.envelope
    recipients = envelope.recipients
    metadata: dict[str, Any] = {
        "message_id": envelope.message_id,
        "in_reply_to": list(envelope.in_reply_to),
        "references": list(envelope.references),
        "from": envelope.sender.email if envelope.sender else "",
        "to": [c.email for c in envelope.to],
        "cc": [c.email for c in envelope.cc],
        "bcc": [c.email for c in envelope.bcc],
        "folders": sorted(set(folders) | {folder}),
        "sent": sent,
        "path": path,
        **{f"x_{k}": v for k, v in envelope.extra.items()},
        **parsed.metadata,
    }
    author = envelope.sender
    readers = tuple(dict.fromkeys(([author] if author else []) + list(recipients)))
    return Draft(
        external_id=parsed.key,
        kind="email",
        timestamp=envelope.timestamp,
        title=envelope.subject,
        body=parsed.body,
        author=author,
        recipients=recipients,
        readers=readers,
        thread_id=thread_id or _header_thread(envelope),
        folder=folder,
        attachments=parsed.attachments,
        metadata=metadata,
    )


def _header_thread(envelope: Envelope) -> str | None:
    """Return a thread id from the headers alone: the id of the thread's first message."""
    root = (envelope.references or envelope.in_reply_to or (envelope.message_id,))[0]
    if not root:
        return None
    return "t:" + hashlib.blake2b(root.encode("utf-8"), digest_size=12).hexdigest()


def parse_message(
    raw: bytes,
    received: datetime,
    *,
    folder: str = "INBOX",
    owner_emails: Iterable[str] = (),
    path: str = "",
) -> Draft:
    """Return the draft of one message on its own, threaded by its headers only."""
    parsed = parse_mail(raw, received)
    owners = {e.strip().lower() for e in owner_emails}
    sender = parsed.envelope.sender
    return mail_draft(
        parsed, folder=folder, sent=bool(sender and sender.email in owners), path=path
    )
