"""Synthetic mailboxes with clear habits, written as real Maildirs for the twin's tests.

Ann Lee (ann@co.example) works for Bo Boss and manages Ray. Her habits:

- she answers her boss within minutes, every time, with "Hi Bo," and "Best,\\nAnn";
- she never answers the daily newsletter, which stays in her inbox;
- she files the invoices of billing@vendor.example (and of a second supplier)
  into "Receipts" and never answers them;
- she files Pat's project mail into "Projects" and answers some of it after lunch;
- she accepts Bo's meeting invitations and declines Cleo's.
"""

from __future__ import annotations

import mailbox
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from understudy.records import Item, Person, Principal, Source
from understudy.sources.pipeline import add_source, sync
from understudy.store import ItemFilter, Store

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)  # a Monday
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

ANN = "ann@co.example"
BOSS = "bo@co.example"
PEER = "pat@co.example"
REPORT = "ray@co.example"
CLIENT = "cleo@client.example"
NEWS = "news@letters.example"
VENDOR = "billing@vendor.example"
SUPPLIER = "accounts@supplies.example"

NAMES = {
    ANN: "Ann Lee",
    BOSS: "Bo Boss",
    PEER: "Pat Peer",
    REPORT: "Ray Report",
    CLIENT: "Cleo Client",
    NEWS: "Weekly Digest",
    VENDOR: "Vendor Billing",
    SUPPLIER: "Supplies Accounts",
    "dana@co.example": "Dana Doe",
}

DIRECTORY = (
    Person(id="ann", name="Ann Lee", emails=(ANN,), manager="bo"),
    Person(id="bo", name="Bo Boss", emails=(BOSS,)),
    Person(id="pat", name="Pat Peer", emails=(PEER,), manager="bo"),
    Person(id="ray", name="Ray Report", emails=(REPORT,), manager="ann"),
    Person(id="dana", name="Dana Doe", emails=("dana@co.example",), manager="bo"),
    Person(id="cleo", name="Cleo Client", emails=(CLIENT,), external=True),
)

BOSS_TOPICS = ("budget line", "hiring plan", "board slides", "travel policy", "vendor review")
REPLY_BODIES = (
    "Checked it, the numbers add up. I'll send the summary this afternoon.",
    "Done, it is in the shared folder now.",
    "Yes, that works for me. I updated the plan accordingly.",
    "Good catch, I corrected it and told the team.",
)


def address(email: str) -> str:
    """Return a From/To header value with the display name of a known address."""
    name = NAMES.get(email)
    return f"{name} <{email}>" if name else email


def ics(method: str, uid: str, partstat: str = "NEEDS-ACTION") -> str:
    """Return a minimal iCalendar text."""
    return (
        f"BEGIN:VCALENDAR\r\nMETHOD:{method}\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
        f"ATTENDEE;PARTSTAT={partstat}:mailto:{ANN}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


@dataclass
class Mail:
    """One message to write, and the folders it sits in."""

    sender: str
    to: Sequence[str]
    subject: str
    body: str
    at: datetime
    folders: Sequence[str] = ("INBOX",)
    message_id: str = ""
    in_reply_to: str = ""
    cc: Sequence[str] = ()
    calendar: str = ""

    def email(self) -> EmailMessage:
        """Return the message as an email."""
        message = EmailMessage()
        message["From"] = address(self.sender)
        message["To"] = ", ".join(address(a) for a in self.to)
        if self.cc:
            message["Cc"] = ", ".join(address(a) for a in self.cc)
        message["Subject"] = self.subject
        message["Date"] = format_datetime(self.at)
        message["Message-ID"] = self.message_id
        if self.in_reply_to:
            message["In-Reply-To"] = self.in_reply_to
        message.set_content(self.body)
        if self.calendar:
            message.add_attachment(self.calendar, subtype="calendar", filename="invite.ics")
        return message


@dataclass
class Habits:
    """Ann's mail, received and sent, built day by day."""

    mails: list[Mail] = field(default_factory=list)
    counter: int = 0

    def add(self, mail: Mail) -> Mail:
        self.counter += 1
        if not mail.message_id:
            mail.message_id = f"<m{self.counter}.{mail.at:%Y%m%d%H%M}@test.example>"
        self.mails.append(mail)
        return mail

    def reply(self, to: Mail, after: timedelta, body: str, greeting: str, signoff: str) -> Mail:
        first = NAMES.get(to.sender, "").split(" ")[0]
        return self.add(
            Mail(
                ANN,
                [to.sender],
                f"Re: {to.subject}",
                f"{greeting.format(name=first)}\n\n{body}\n\n{signoff}",
                to.at + after,
                folders=("Sent",),
                in_reply_to=to.message_id,
            )
        )


def _day(habits: Habits, d: int, rng: random.Random) -> None:
    day = T0 + d * DAY
    boss = habits.add(
        Mail(
            BOSS,
            [ANN],
            f"{BOSS_TOPICS[d % len(BOSS_TOPICS)].title()} {d}",
            f"Ann, can you check the {BOSS_TOPICS[d % len(BOSS_TOPICS)]} for week {d}? "
            "Please let me know today.\n\nBo",
            day + rng.randint(0, 90) * MINUTE,
        )
    )
    habits.reply(boss, rng.randint(4, 20) * MINUTE, REPLY_BODIES[d % 4], "Hi {name},", "Best,\nAnn")
    habits.add(
        Mail(
            NEWS,
            [ANN, "list@letters.example"],
            f"Weekly Digest no. {d}",
            "This week in industry news: markets, gadgets and more.\n\n"
            "To unsubscribe, click here. Privacy policy.",
            day - 2 * HOUR + rng.randint(0, 10) * MINUTE,
        )
    )
    if d % 2 == 0:
        habits.add(
            Mail(
                VENDOR,
                [ANN],
                f"Invoice #{1000 + d}",
                f"Your invoice {1000 + d} is attached. Amount due: {100 + d} USD.",
                day + 3 * HOUR,
                folders=("Receipts",),
            )
        )
    if d % 5 == 2:
        habits.add(
            Mail(
                SUPPLIER,
                [ANN],
                f"Receipt for order {d}",
                f"Thank you for your order {d}. Your receipt is attached.",
                day + 4 * HOUR,
                folders=("Receipts",),
            )
        )
    if d % 3 == 1:
        pat = habits.add(
            Mail(
                PEER,
                [ANN, REPORT],
                f"Atlas milestone {d}",
                f"Status of the Atlas project, milestone {d}: on track. Comments welcome.",
                day + 2 * HOUR,
                folders=("Projects",),
            )
        )
        if d % 2 == 1:
            habits.reply(pat, 3 * HOUR, "Looks good to me.", "Hi {name},", "Best,\nAnn")
    if d % 4 == 3:
        habits.add(
            Mail(
                REPORT,
                [ANN, PEER],
                f"Atlas test results {d}",
                f"The Atlas test run {d} passed. The report is attached.",
                day + 5 * HOUR,
                folders=("Projects",),
            )
        )


def habits_mails(days: int = 36, seed: int = 7) -> list[Mail]:
    """Return Ann's mail over ``days`` days."""
    rng = random.Random(seed)
    habits = Habits()
    for d in range(days):
        _day(habits, d, rng)
    for n in range(3):
        uid = f"bo-{n}"
        when = T0 + (5 + 7 * n) * DAY + 5 * HOUR
        habits.add(
            Mail(
                BOSS, [ANN], f"Invitation: Review {n}", "Join?", when, calendar=ics("REQUEST", uid)
            )
        )
        habits.add(
            Mail(
                ANN,
                [BOSS],
                f"Accepted: Review {n}",
                "",
                when + HOUR,
                folders=("Sent",),
                calendar=ics("REPLY", uid, "ACCEPTED"),
            )
        )
    for n in range(2):
        uid = f"cleo-{n}"
        when = T0 + (6 + 9 * n) * DAY + 6 * HOUR
        habits.add(
            Mail(
                CLIENT, [ANN], f"Invitation: Demo {n}", "Join?", when, calendar=ics("REQUEST", uid)
            )
        )
        habits.add(
            Mail(
                ANN,
                [CLIENT],
                f"Declined: Demo {n}",
                "",
                when + 2 * HOUR,
                folders=("Sent",),
                calendar=ics("REPLY", uid, "DECLINED"),
            )
        )
    return sorted(habits.mails, key=lambda m: m.at)


def write_maildir(root: Path, mails: Iterable[Mail]) -> Path:
    """Write ``mails`` into a standard Maildir at ``root`` (created if needed)."""
    box = mailbox.Maildir(root, create=True)
    folders: dict[str, mailbox.Maildir] = {"INBOX": box}
    for mail in mails:
        for name in mail.folders:
            if name not in folders:
                folders[name] = box.add_folder(name)
            folders[name].add(mail.email())
    return root


def write_enron(root: Path, mails: Iterable[Mail]) -> Path:
    """Write ``mails`` in the Enron layout: ``<folder>/<n>.`` files, sent mail in ``sent``."""
    counters: dict[str, int] = {}
    for mail in mails:
        for name in mail.folders:
            folder = {"INBOX": "inbox", "Sent": "sent"}.get(name, name.lower())
            counters[folder] = counters.get(folder, 0) + 1
            (root / folder).mkdir(parents=True, exist_ok=True)
            (root / folder / f"{counters[folder]}.").write_bytes(mail.email().as_bytes())
    return root


def add_directory(store: Store, people: Iterable[Person] = DIRECTORY) -> None:
    """Put Ann's colleagues into the store's directory."""
    for person in people:
        store.upsert_person(person)


def ingest(store: Store, root: Path, owner: str = "ann") -> Source:
    """Add ``root`` as the owner's maildir source and sync it."""
    source = add_source(store, "maildir", str(root), owner=owner)
    report = sync(store, source)
    assert report.problems == 0, report.problem_samples
    return store.get_source(source.id or 0)


def items(store: Store, person: str = "ann") -> Iterator[Item]:
    """Yield the person's email items, oldest first."""
    yield from store.list_items(
        Principal.person(person), ItemFilter(kinds=("email",)), newest_first=False
    )


def item_titled(store: Store, title: str, person: str = "ann") -> Item:
    """Return the person's email item with this subject."""
    found = [item for item in items(store, person) if item.title == title]
    assert len(found) == 1, f"{len(found)} items titled {title!r}"
    return found[0]


def answering_mails(owner: str, answered: str, ignored: str, days: int = 30) -> list[Mail]:
    """Return mail where ``owner`` answers ``answered`` within the hour, ignores ``ignored``."""
    habits = Habits()
    for d in range(days):
        day = T0 + d * DAY
        asked = habits.add(
            Mail(answered, [owner], f"Request {d}", f"Could you look at item {d}?", day)
        )
        habits.add(
            Mail(
                owner,
                [answered],
                f"Re: Request {d}",
                f"Hi,\n\nLooked at item {d}, all fine.\n\nThanks",
                asked.at + 30 * MINUTE,
                folders=("Sent",),
                in_reply_to=asked.message_id,
            )
        )
        habits.add(
            Mail(
                ignored, [owner, "all@co.example"], f"Bulletin {d}", "News. Unsubscribe here.", day
            )
        )
    return sorted(habits.mails, key=lambda m: m.at)


def arrive(store: Store, root: Path, mails: Sequence[Mail]) -> list[Item]:
    """Deliver new mail into the Maildir at ``root``, sync it, and return the new items."""
    write_maildir(root, mails)
    source = next(s for s in store.list_sources() if s.location == str(root))
    report = sync(store, source)
    assert report.problems == 0, report.problem_samples
    owner = source.owner or ""
    return [item_titled(store, mail.subject, owner) for mail in mails]


def new_mail(day: int = 40) -> dict[str, Mail]:
    """Return mail that arrives after the twin was trained, by who sent it."""
    at = T0 + day * DAY
    return {
        "boss": Mail(
            BOSS,
            [ANN],
            f"Budget Line {day}",
            f"Ann, can you check the budget line for week {day}? Please let me know today.\n\nBo",
            at + 20 * MINUTE,
            message_id=f"<new-boss-{day}@test.example>",
        ),
        "news": Mail(
            NEWS,
            [ANN, "list@letters.example"],
            f"Weekly Digest no. {day}",
            "This week in industry news: markets, gadgets and more.\n\n"
            "To unsubscribe, click here. Privacy policy.",
            at - 2 * HOUR,
            message_id=f"<new-news-{day}@test.example>",
        ),
        "invoice": Mail(
            VENDOR,
            [ANN],
            f"Invoice #{1000 + day}",
            f"Your invoice {1000 + day} is attached. Amount due: {100 + day} USD.",
            at + 3 * HOUR,
            message_id=f"<new-invoice-{day}@test.example>",
        ),
        "project": Mail(
            PEER,
            [ANN, REPORT],
            f"Atlas milestone {day}",
            f"Status of the Atlas project, milestone {day}: on track. Comments welcome.",
            at + 2 * HOUR,
            message_id=f"<new-project-{day}@test.example>",
        ),
        "newcomer": Mail(
            "dana@co.example",
            [ANN],
            f"Budget check {day}",
            "Ann, can you check the budget line numbers for the hiring plan? Please let me know.",
            at + 4 * HOUR,
            message_id=f"<new-dana-{day}@test.example>",
        ),
    }
