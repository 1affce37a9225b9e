"""The mailboxes are standard Maildir++ folders of real RFC 5322 messages."""

from __future__ import annotations

import email
import mailbox
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from understudy.demo import DemoManifest

NEW_YORK = ZoneInfo("America/New_York")


def _read(path: Path) -> EmailMessage:
    with path.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def folder_messages(root: Path, person: str, folder: str = "") -> dict[str, EmailMessage]:
    """Return the messages of one folder, keyed by Message-ID."""
    box = mailbox.Maildir(root / "mail" / person, factory=None, create=False)
    if folder:
        box = box.get_folder(folder)
    found = {}
    for key in box.iterkeys():
        message = _read(Path(box._path) / box._lookup(key))  # type: ignore[attr-defined]
        found[str(message["Message-ID"])] = message
    return found


@pytest.fixture(scope="module")
def everything(generated: tuple[Path, DemoManifest]) -> dict[Path, EmailMessage]:
    """Return every message file in every mailbox."""
    root = generated[0]
    return {path: _read(path) for path in sorted((root / "mail").rglob("cur/*"))}


def test_every_person_has_a_maildir_with_sent_and_trash(demo_root: Path) -> None:
    for person in sorted((demo_root / "mail").iterdir()):
        box = mailbox.Maildir(person, factory=None, create=False)
        assert {"Sent", "Trash"} <= set(box.list_folders())
        assert len(box.get_folder("Sent")) > 0
    assert len(list((demo_root / "mail").iterdir())) == 20


def test_people_file_mail_into_project_and_other_folders(demo_root: Path) -> None:
    folders = set()
    for person in (demo_root / "mail").iterdir():
        folders |= set(mailbox.Maildir(person, factory=None, create=False).list_folders())
    assert {"Projects.Atlas", "Newsletters"} <= folders
    assert folders & {"Receipts", "Finance.Receipts"}


def test_board_request_sits_unanswered_in_the_ceo_inbox(
    demo_root: Path, manifest: DemoManifest
) -> None:
    fact = manifest.fact("board_request")
    inbox = folder_messages(demo_root, manifest.ceo)
    request = inbox[fact.evidence["message_id"]]
    assert request["Subject"].startswith("URGENT: revised FY forecast")
    assert parseaddr(str(request["From"]))[1] == "eleanor@vancecapital.example"
    assert parsedate_to_datetime(str(request["Date"])).date() == manifest.today.fromordinal(
        manifest.today.toordinal() - 1
    )
    sent = folder_messages(demo_root, manifest.ceo, "Sent")
    answers = [
        m for m in sent.values() if fact.evidence["message_id"] in str(m["References"] or "")
    ]
    assert answers == []


def test_decision_request_is_two_days_old_and_unanswered(
    demo_root: Path, manifest: DemoManifest
) -> None:
    fact = manifest.fact("decision_waiting")
    request = folder_messages(demo_root, manifest.ceo)[fact.evidence["message_id"]]
    assert request["Subject"] == "Decision needed: approve the Nimbus vendor contract by Friday"
    received = parsedate_to_datetime(str(request["Date"])).date()
    assert (manifest.today - received).days == 2
    assert any(
        part.get_filename() == "nimbus-contract-summary.pdf" for part in request.iter_attachments()
    )
    sent = folder_messages(demo_root, manifest.ceo, "Sent")
    assert not [
        m for m in sent.values() if fact.evidence["message_id"] in str(m["References"] or "")
    ]


def test_replies_quote_and_point_at_a_message_that_exists(
    everything: dict[Path, EmailMessage],
) -> None:
    ids = {str(m["Message-ID"]) for m in everything.values()}
    replies = [m for m in everything.values() if str(m["Subject"]).startswith("Re: ")]
    assert len({str(m["Message-ID"]) for m in replies}) > 150
    for reply in replies:
        assert str(reply["In-Reply-To"]) in ids
        assert str(reply["In-Reply-To"]) in str(reply["References"])
        body = reply.get_body(("plain",))
        assert body is not None
        assert " wrote:\n> " in body.get_content()


def test_forwards_carry_the_original_and_a_request_to_take_it(
    everything: dict[Path, EmailMessage],
) -> None:
    forwards = [m for m in everything.values() if str(m["Subject"]).startswith("Fwd: ")]
    assert forwards
    for forward in forwards:
        text = forward.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "---------- Forwarded message ---------" in text
        assert forward["In-Reply-To"]


def test_invitations_and_answers_carry_calendar_parts(everything: dict[Path, EmailMessage]) -> None:
    methods: dict[str, set[str]] = {"REQUEST": set(), "REPLY": set()}
    for message in everything.values():
        for part in message.walk():
            if part.get_content_type() == "text/calendar":
                method = str(part.get_param("method"))
                methods[method].add(str(message["Subject"]).split(":")[0])
                assert f"METHOD:{method}" in part.get_content()
    assert methods["REQUEST"] == {"Invitation"}
    assert methods["REPLY"] == {"Accepted", "Declined", "Tentative"}


def test_headers_are_complete_and_dates_carry_new_york_offsets(
    everything: dict[Path, EmailMessage],
) -> None:
    for message in everything.values():
        for header in ("Message-ID", "Date", "From", "To", "Subject", "MIME-Version"):
            assert message[header], header
        moment = parsedate_to_datetime(str(message["Date"]))
        assert moment.utcoffset() == moment.astimezone(NEW_YORK).utcoffset()
    assert any(
        m.get_content_type() == "multipart/alternative" and m.get_body(("html",))
        for m in everything.values()
    )


def test_non_ascii_names_are_encoded_per_rfc_2047(everything: dict[Path, EmailMessage]) -> None:
    raw = [p.read_bytes() for p in everything]
    assert any(b"=?utf-8?" in data for data in raw)
    names = {parseaddr(str(m["From"]))[0] for m in everything.values()}
    assert {"Zoë Lindqvist", "Mateo Álvarez"} & names
    assert all(data.isascii() for data in raw)


def test_each_message_is_in_the_senders_sent_and_each_insiders_mailbox(
    demo_root: Path, everything: dict[Path, EmailMessage]
) -> None:
    where: dict[str, set[str]] = {}
    for path, message in everything.items():
        person = path.relative_to(demo_root / "mail").parts[0]
        where.setdefault(str(message["Message-ID"]), set()).add(person)
    handles = {p.name.split("-")[0] for p in (demo_root / "mail").iterdir()}
    for message in list(everything.values())[::7]:
        addresses = getaddresses(
            [str(message["From"]), str(message["To"]), str(message["Cc"] or "")]
        )
        insiders = {a.split("@")[0] for _, a in addresses if a.endswith("@halcyon.example")}
        owners = {p.split("-")[0] for p in where[str(message["Message-ID"])]}
        assert insiders & handles == owners
