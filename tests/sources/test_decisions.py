"""Observed mail decisions: each label on a mailbox built for it, and the scorer's rules."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from understudy.records import Decision, Item, Person, Principal
from understudy.sources.decisions import (
    folder_role,
    normalize_subject,
    observe_mail,
    split_quoted,
)
from understudy.sources.pipeline import add_source, sync
from understudy.store import Store

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def mail(
    sender: str,
    to: str,
    subject: str,
    body: str,
    when: datetime,
    message_id: str | None = None,
    cc: str = "",
    in_reply_to: str = "",
    calendar: str = "",
) -> EmailMessage:
    """Return a message; ``calendar`` adds a text/calendar part."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Date"] = format_datetime(when)
    if message_id:
        message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    message.set_content(body)
    if calendar:
        message.add_attachment(calendar, subtype="calendar", filename="invite.ics")
    return message


def ics(method: str, uid: str, partstat: str = "NEEDS-ACTION") -> str:
    """Return a minimal iCalendar text."""
    return (
        f"BEGIN:VCALENDAR\r\nMETHOD:{method}\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
        f"ATTENDEE;PARTSTAT={partstat}:mailto:ann@co.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


ANN = "ann@co.example"


def invite(sender: str, subject: str, uid: str) -> EmailMessage:
    """Return an invitation to Ann."""
    return mail(sender, ANN, subject, "Join?", T0 + HOUR, calendar=ics("REQUEST", uid))


def answer(to: str, subject: str, uid: str, partstat: str) -> EmailMessage:
    """Return Ann's answer to an invitation."""
    return mail(ANN, to, subject, "", T0 + 2 * HOUR, calendar=ics("REPLY", uid, partstat))


def people(store: Store) -> None:
    """Add Ann (the owner) and her colleagues."""
    for name in ("ann", "bo", "cy", "dee", "gus"):
        store.upsert_person(Person(id=name, name=name.title(), emails=(f"{name}@co.example",)))


def inbox_messages() -> list[EmailMessage]:
    """Return what Ann received in her inbox."""
    return [
        mail("bo@co.example", ANN, "Budget", "Numbers?", T0, "<b1@x>"),
        mail("cy@co.example", ANN, "Specs", "Specs v3.", T0 + HOUR),
        mail("eve@co.example", ANN, "Server down", "The build server is down.", T0 + 3 * HOUR),
        mail("fay@partner.example", ANN, "Contract question", "Clause 4?", T0 + 5 * HOUR),
        mail("iris@co.example", ANN, "Gas curve", "Curve attached.", T0 + HOUR),
        mail("kim@co.example", ANN, "Late answer", "Thoughts?", T0),
        mail("hal@co.example", ANN, "Old news", "FYI.", T0),
        mail(
            "bo@co.example",
            ANN,
            "Invitation: Review",
            "Join?",
            T0 + HOUR,
            calendar=ics("REQUEST", "u1"),
        ),
        mail(
            "cy@co.example",
            ANN,
            "Invitation: Offsite",
            "Join?",
            T0 + HOUR,
            calendar=ics("REQUEST", "u2"),
        ),
        mail("bo@co.example", ANN, "Later", "Much later.", T0 + 10 * DAY),
    ]


def sent_messages() -> list[EmailMessage]:
    """Return what Ann sent."""
    quoted = "Approved.\n\nOn Mon, Mar 4, 2024, Bo wrote:\n> Numbers?"
    forward = "FYI, for your files.\n\n---------- Forwarded message ---------\nSpecs v3."
    delegation = (
        "Bo, can you take this one?\n\n-----Original Message-----\nThe build server is down."
    )
    return [
        mail(ANN, "bo@co.example", "Re: Budget", quoted, T0 + 2 * HOUR, in_reply_to="<b1@x>"),
        mail(ANN, "dee@co.example", "Fwd: Specs", forward, T0 + DAY),
        mail(ANN, "bo@co.example", "FW: Server down", delegation, T0 + 4 * HOUR),
        mail(
            ANN,
            "fay@partner.example",
            "Re: Contract question",
            "Adding Gus. Gus, could you look into this?",
            T0 + 6 * HOUR,
            cc="gus@co.example",
        ),
        mail(ANN, "iris@co.example", "RE: gas  curve", "Thanks Iris.", T0 + DAY),
        mail(ANN, "kim@co.example", "Re: Late answer", "Sorry, late.", T0 + 8 * DAY),
        mail(
            ANN,
            "bo@co.example",
            "Accepted: Review",
            "",
            T0 + 2 * HOUR,
            calendar=ics("REPLY", "u1", "ACCEPTED"),
        ),
        mail(
            ANN,
            "cy@co.example",
            "Declined: Offsite",
            "",
            T0 + 2 * HOUR,
            calendar=ics("REPLY", "u2", "DECLINED"),
        ),
    ]


def build_mailbox(root: Path) -> None:
    """Write Ann's Maildir: inbox, Sent, Projects/Atlas, Newsletters and Trash."""
    box = mailbox.Maildir(root, create=True)
    for message in inbox_messages():
        box.add(message)
    sent = box.add_folder("Sent")
    for message in sent_messages():
        sent.add(message)
    atlas = box.add_folder("Projects.Atlas")
    atlas.add(mail("bo@co.example", ANN, "Atlas plan", "Plan.", T0 + 2 * HOUR))
    atlas.add(mail("cy@co.example", ANN, "Atlas budget", "Budget.", T0 + 2 * HOUR))
    news = box.add_folder("Newsletters")
    for n in range(3):
        news.add(mail("news@co.example", ANN, f"Issue {n}", "News.", T0 + n * HOUR))
    box.add_folder("Trash").add(mail("promo@shop.example", ANN, "Offer", "Buy.", T0 + HOUR))


def observed(store: Store, tmp_path: Path) -> dict[str, dict[str, Decision]]:
    """Sync Ann's mailbox and return her decisions by item title, then by action."""
    people(store)
    build_mailbox(tmp_path / "ann")
    source = add_source(store, "maildir", str(tmp_path / "ann"), owner="ann")
    report = sync(store, source)
    assert report.decisions > 0
    assert sync(store, store.get_source(source.id or 0)).decisions == 0
    found: dict[str, dict[str, Decision]] = {}
    for decision in store.list_decisions(person="ann"):
        item = store.get_item(Principal.maintenance(), decision.item_id)
        assert item is not None
        found.setdefault(item.title, {})[decision.action] = decision
    return found


def test_reply_with_latency_and_own_text(store: Store, tmp_path: Path) -> None:
    decisions = observed(store, tmp_path)
    reply = decisions["Budget"]["reply"]
    assert reply.latency_seconds == 2 * 3600
    assert reply.at == T0 + 2 * HOUR
    assert reply.text == "Approved."
    assert reply.origin == "observed"
    assert set(decisions["Budget"]) == {"reply"}


def test_reply_by_subject_and_recipient_without_headers(store: Store, tmp_path: Path) -> None:
    decisions = observed(store, tmp_path)
    assert decisions["Gas curve"]["reply"].latency_seconds == (DAY - HOUR).total_seconds()
    # Answered after eight days: too late to count, so the message was ignored.
    assert set(decisions["Late answer"]) == {"ignore"}
    assert decisions["Late answer"]["ignore"].at == T0 + 7 * DAY


def test_forward_and_delegate(store: Store, tmp_path: Path) -> None:
    decisions = observed(store, tmp_path)
    forward = decisions["Specs"]["forward"]
    assert (forward.target, forward.text) == ("dee", "FYI, for your files.")
    assert forward.latency_seconds == (DAY - HOUR).total_seconds()
    assert "delegate" not in decisions["Specs"]
    server = decisions["Server down"]
    assert set(server) == {"forward", "delegate"}
    assert server["delegate"].target == "bo"
    assert server["delegate"].text == "Bo, can you take this one?"
    contract = decisions["Contract question"]
    assert set(contract) == {"reply", "delegate"}
    assert contract["delegate"].target == "gus"


def test_file_delete_and_ignore(store: Store, tmp_path: Path) -> None:
    decisions = observed(store, tmp_path)
    assert decisions["Atlas plan"]["file"].target == "Projects/Atlas"
    assert decisions["Atlas budget"]["file"].target == "Projects/Atlas"
    # Every issue comes from one sender: a rule filed them, not Ann.
    assert all("file" not in decisions[f"Issue {n}"] for n in range(3))
    assert decisions["Offer"]["delete"].target == "Trash"
    assert "ignore" in decisions["Offer"]
    assert set(decisions["Old news"]) == {"ignore"}
    assert "Later" not in decisions  # too recent to call it ignored
    assert not any(t.startswith(("Re:", "RE:", "Fwd:", "FW:")) for t in decisions)


def test_calendar_answers(store: Store, tmp_path: Path) -> None:
    decisions = observed(store, tmp_path)
    assert decisions["Invitation: Review"]["accept"].latency_seconds == 3600
    assert "decline" in decisions["Invitation: Offsite"]


def test_normalize_subject() -> None:
    assert normalize_subject("RE: Fw:  FWD:re:  Gas   Curve ") == "gas curve"
    assert normalize_subject("Re:") == ""
    assert normalize_subject("Rezoning") == "rezoning"
    assert normalize_subject("AW: hallo") == "aw: hallo"


def test_folder_roles() -> None:
    roles = {
        "INBOX": "inbox",
        "inbox": "inbox",
        "inbox/direct_access": "own",
        "Sent Items": "sent",
        "_sent_mail": "sent",
        "deleted_items/_sent_mail": "sent",
        "deleted_items/old": "trash",
        "Trash": "trash",
        "all_documents": "copy",
        "notes_inbox": "copy",
        "straw": "copy",
        "Drafts": "drafts",
        "[Gmail]/Spam": "system",
        "Projects/Atlas": "own",
    }
    assert {folder: folder_role(folder) for folder in roles} == roles


def test_split_quoted() -> None:
    outlook = "Sounds good.\n\n-----Original Message-----\nFrom: Bo\nSent: Monday\n\nOld"
    assert split_quoted(outlook) == ("Sounds good.", "reply")
    lotus = (
        "Ina,\n\nCan you pull the resumes?\n\n---------------------- Forwarded by "
        "Phillip K Allen/HOU/ECT on 09/06/2000 10:44 AM ---------------------------\n"
    )
    assert split_quoted(lotus) == ("Ina,\n\nCan you pull the resumes?", "forward")
    notes = "Yes.\n\n\n\nJohn J Lavorato@ENRON\n09/06/2000 05:39 AM\nTo: Phillip\ncc:\n"
    assert split_quoted(notes) == ("Yes.", "reply")
    bottom = "> quoted line\nMy answer.\n> another"
    assert split_quoted(bottom) == ("My answer.", "")
    assert split_quoted("On Tue, Bo <bo@x> wrote:\n> hi") == ("", "reply")


ADDRESSES = ("ann@co.example", "bo@co.example", "cy@co.example")
SUBJECTS = ("Budget", "Re: budget", "FW: Budget", "RE:  BUDGET ", "Plans", "", "re:")
FOLDERS = ("inbox", "sent", "sent_items", "_sent_mail", "all_documents", "deleted_items")


@st.composite
def mailboxes(draw: st.DrawFn) -> list[Item]:
    """Draw a small mailbox of Enron-like items (no thread headers)."""
    items = []
    for n in range(draw(st.integers(min_value=2, max_value=14))):
        sender = draw(st.sampled_from(ADDRESSES))
        to = draw(st.lists(st.sampled_from(ADDRESSES), min_size=1, max_size=3, unique=True))
        folders = draw(st.lists(st.sampled_from(FOLDERS), min_size=1, max_size=2, unique=True))
        sent = sender == ADDRESSES[0] or any(f in FOLDERS[1:4] for f in folders)
        items.append(
            Item(
                source_id=1,
                external_id=str(n),
                kind="email",
                timestamp=T0 + draw(st.integers(min_value=0, max_value=400)) * HOUR,
                readers=frozenset(),
                title=draw(st.sampled_from(SUBJECTS)),
                author=sender,
                recipients=tuple(to),
                thread_id=draw(st.sampled_from([None, "t1", "t2"])),
                folder=folders[0],
                metadata={"from": sender, "to": to, "folders": folders, "sent": sent},
                id=n + 1,
            )
        )
    return items


def scorer_replied(items: list[Item]) -> set[int]:
    """Return the items the independent Enron scorer counts as replied (its rule, quoted)."""
    sent = [
        i
        for i in items
        if any(f in ("sent", "sent_items", "_sent_mail") for f in i.metadata["folders"])
    ]
    replied = set()
    for item in items:
        subject = normalize_subject(item.title)
        if item.metadata["from"] == ADDRESSES[0] or not subject:
            continue
        for answer in sent:
            gap = answer.timestamp - item.timestamp
            if (
                normalize_subject(answer.title) == subject
                and item.metadata["from"] in answer.metadata["to"]
                and timedelta(0) < gap <= timedelta(days=7)
            ):
                replied.add(item.id or 0)
    return replied


@settings(max_examples=200, deadline=None)
@given(mailboxes())
def test_every_reply_the_scorer_counts_is_a_reply_decision(items: list[Item]) -> None:
    decisions = observe_mail(items, "ann", (ADDRESSES[0],))
    ours = {d.item_id for d in decisions if d.action == "reply"}
    assert scorer_replied(items) <= ours
    assert all(d.person == "ann" and d.origin == "observed" for d in decisions)
