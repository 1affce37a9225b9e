"""Parsing one message from bytes: the part IMAP and every mail connector share."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from understudy.sources.base import Contact
from understudy.sources.mail import (
    BODY_TEXT_LIMIT,
    UnreadableMail,
    decode_header_text,
    parse_addresses,
    parse_mail,
    parse_message,
)
from understudy.sources.maildir import MessageShrinker

RECEIVED = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def build(subject: str, body: str, sender: str = "Bo <bo@co.example>") -> bytes:
    """Return the bytes of a message with ``subject`` and ``body``."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "ann@co.example"
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime(2024, 5, 1, 10, 0, tzinfo=UTC))
    message["Message-ID"] = "<m1@co.example>"
    message.set_content(body)
    return bytes(message)


def test_parse_message_returns_a_draft_from_bytes() -> None:
    draft = parse_message(build("Status", "All green."), RECEIVED, owner_emails=["bo@co.example"])
    assert draft.kind == "email"
    assert draft.title == "Status"
    assert draft.body.strip() == "All green."
    assert draft.author == Contact("bo@co.example", "Bo")
    assert draft.recipients == (Contact("ann@co.example"),)
    assert draft.readers == (Contact("bo@co.example", "Bo"), Contact("ann@co.example"))
    assert draft.folder == "INBOX"
    assert draft.metadata["sent"] is True
    assert draft.thread_id is not None
    assert draft.timestamp == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def test_copies_with_other_message_ids_share_a_key() -> None:
    first = parse_mail(build("Gas", "Prices rose."), RECEIVED)
    other_id = build("Gas", "Prices  rose.\n").replace(b"<m1@co.example>", b"<m2@co.example>")
    assert parse_mail(other_id, RECEIVED).key == first.key
    assert parse_mail(build("Gas", "Prices fell."), RECEIVED).key != first.key
    assert parse_mail(build("RE: gas", "Prices rose."), RECEIVED).key == first.key


def test_enron_display_names_come_from_x_headers() -> None:
    raw = (
        b"From: phillip.allen@enron.com\nTo: a@enron.com, b@enron.com\n"
        b"Subject: x\nDate: Wed, 13 Dec 2000 07:04:00 -0800 (PST)\n"
        b"X-From: Phillip K Allen\nX-To: Ann A, Bob B\nX-Folder: \\Notes\\Sent\n"
        b"X-Origin: Allen-P\n\nbody\n"
    )
    parsed = parse_mail(raw, RECEIVED)
    assert parsed.envelope.sender == Contact("phillip.allen@enron.com", "Phillip K Allen")
    assert [c.name for c in parsed.envelope.to] == ["Ann A", "Bob B"]
    assert parsed.envelope.timestamp == datetime(2000, 12, 13, 15, 4, tzinfo=UTC)
    assert parsed.envelope.extra == {"folder": "\\Notes\\Sent", "origin": "Allen-P"}


def test_header_decoding() -> None:
    assert decode_header_text("=?utf-8?b?SGVsbG8=?= =?utf-8?q?_W=C3=B6rld?=") == "Hello Wörld"
    assert decode_header_text("Re: =?iso-8859-1?q?caf=E9?= menu") == "Re: café menu"
    assert decode_header_text("=?utf-8?b?@@@?=") == "=?utf-8?b?@@@?="
    assert decode_header_text("a\n  folded\tline") == "a folded line"
    contacts = parse_addresses(['"Doe, Jane" <JANE@x.com>, bob@y.org, not-an-address'])
    assert contacts == (Contact("jane@x.com", "Doe, Jane"), Contact("bob@y.org"))


def test_bodies_over_the_limit_are_cut_and_flagged() -> None:
    parsed = parse_mail(build("Log", "x" * (BODY_TEXT_LIMIT + 10)), RECEIVED)
    assert len(parsed.body) == BODY_TEXT_LIMIT
    assert parsed.metadata["truncated"] is True
    assert parsed.metadata["body_chars"] > BODY_TEXT_LIMIT


def test_shrinker_keeps_text_and_drops_big_parts() -> None:
    shrinker = MessageShrinker()
    head = (
        b'From: a@x\nSubject: s\nContent-Type: multipart/mixed; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nhello\n--b\n"
        b"Content-Type: application/zip\nContent-Transfer-Encoding: base64\n"
        b'Content-Disposition: attachment; filename="big.zip"\n\n'
    )
    for line in head.splitlines(keepends=True):
        shrinker.feed(line)
    line = base64.encodebytes(b"\x00" * 57)
    for _ in range(600_000):  # 45 MB of base64, over the 30 MB part limit
        shrinker.feed(line)
    shrinker.feed(b"--b--\n")
    parsed = parse_mail(shrinker.result(), RECEIVED)
    assert parsed.body.strip() == "hello"
    [big] = parsed.attachments
    assert (big.name, big.error, big.size) == ("big.zip", "too large", 600_000 * 57)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty file"),
        (b"   \n\n", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not an email message"),
        (b"just a line of text\nand another\n", "not an email message"),
    ],
)
def test_unreadable_messages_say_why(raw: bytes, reason: str) -> None:
    with pytest.raises(UnreadableMail, match=reason):
        parse_mail(raw, RECEIVED)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_any_bytes_parse_or_are_reported_never_crash(raw: bytes) -> None:
    try:
        parsed = parse_mail(raw, RECEIVED)
    except UnreadableMail:
        return
    assert "\x00" not in parsed.body + parsed.envelope.subject
    assert len(parsed.key) == 32


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=400),
    st.sampled_from(
        [b"", b"--b\n", b"--b--\n", b"=?utf-8?q?=FF?=", b"\nContent-Type: text/html\n"]
    ),
)
def test_broken_mime_never_crashes(noise: bytes, marker: bytes) -> None:
    raw = (
        b'From: a@x.org\nSubject: =?bad?q?x?=\nContent-Type: multipart/mixed; boundary="b"\n'
        b"Content-Transfer-Encoding: base64\n\n--b\nContent-Type: text/plain; charset=x-nope\n"
        b"Content-Transfer-Encoding: quoted-printable\n\n" + noise + marker + noise
    )
    parsed = parse_mail(raw, RECEIVED)
    assert parsed.envelope.sender == Contact("a@x.org")


TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=200
).filter(lambda t: t.strip())


@settings(max_examples=200, deadline=None)
@given(TEXT, TEXT)
def test_subject_and_body_survive_encoding(subject: str, body: str) -> None:
    parsed = parse_mail(build(subject, body), RECEIVED)
    assert parsed.envelope.subject == " ".join(subject.split())
    assert parsed.body.split() == body.split()
