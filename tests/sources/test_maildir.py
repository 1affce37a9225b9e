"""The ``maildir`` connector: folders, sent mail, dedup, threads, incremental and resumable sync."""

from __future__ import annotations

import mailbox
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.conftest import shared_data
from understudy.records import Item, Person, Principal, Source
from understudy.sources.base import SyncContext
from understudy.sources.maildir import MaildirConnector, infer_owner_email
from understudy.sources.pipeline import add_source, sync
from understudy.store import ItemFilter, Store

START = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


def mail(
    sender: str,
    to: str,
    subject: str,
    body: str,
    when: datetime,
    message_id: str | None = None,
    **headers: str,
) -> bytes:
    """Return the bytes of a plain-text message."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(when)
    if message_id:
        message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return bytes(message)


def enron_file(root: Path, folder: str, number: int, data: bytes) -> Path:
    """Write a message the way the Enron corpus stores it: <folder>/<n>."""
    path = root / folder / f"{number}."
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def owner(store: Store) -> None:
    """Add the owner Ann."""
    store.upsert_person(Person(id="ann", name="Ann Lee", emails=("ann@co.example",)))


def items_of(store: Store, source: Source) -> list[Item]:
    """Return the current items of a source, oldest first."""
    return store.list_items(
        Principal.maintenance(), ItemFilter(source_id=source.id), newest_first=False
    )


def synced(store: Store, kind: str, location: Path, who: str | None = "ann") -> Source:
    """Add a source, sync it once, and return it as stored."""
    source = add_source(store, kind, str(location), owner=who)
    report = sync(store, source)
    assert report.error is None
    return store.get_source(source.id or 0)


def standard_maildir(root: Path) -> None:
    """Write a Maildir++ mailbox with an inbox, Sent and Projects/Atlas."""
    box = mailbox.Maildir(root, create=True)
    box.add(mail("bo@co.example", "ann@co.example", "Budget", "Numbers attached.", START))
    sent = box.add_folder("Sent")
    sent.add(mail("ann@co.example", "bo@co.example", "Re: Budget", "Thanks Bo.", START))
    atlas = box.add_folder("Projects.Atlas")
    atlas.add(mail("cy@co.example", "ann@co.example", "Atlas plan", "Plan v2.", START))
    # Sent from the owner's address but kept in the inbox: sent by its From.
    box.add(mail("ann@co.example", "cy@co.example", "Note to self", "Remember.", START))


def test_standard_maildir_keeps_folders_and_recognizes_sent(store: Store, tmp_path: Path) -> None:
    owner(store)
    standard_maildir(tmp_path / "mail")
    source = synced(store, "maildir", tmp_path / "mail")
    items = {item.title: item for item in items_of(store, source)}
    assert len(items) == 4
    assert items["Budget"].folder == "INBOX"
    assert items["Re: Budget"].folder == "Sent"
    assert items["Atlas plan"].folder == "Projects/Atlas"
    assert items["Re: Budget"].metadata["sent"] is True  # by its folder
    assert items["Note to self"].metadata["sent"] is True  # by its From
    assert items["Budget"].metadata["sent"] is False
    assert items["Budget"].author == "bo@co.example"
    assert "person:ann" in items["Budget"].readers
    assert "/" not in items["Budget"].metadata["path"]  # the unique name, not cur/new
    assert items["Re: Budget"].metadata["path"].startswith(".Sent/")


def test_reading_and_flagging_mail_changes_nothing(store: Store, tmp_path: Path) -> None:
    owner(store)
    root = tmp_path / "mail"
    standard_maildir(root)
    source = add_source(store, "maildir", str(root), owner="ann")
    sync(store, source)
    # What a mail program does when Ann reads and answers: new/ to cur/, with flags.
    for path in list((root / "new").iterdir()) + list((root / ".Sent" / "new").iterdir()):
        path.rename(path.parent.parent / "cur" / f"{path.name}:2,RS")
    again = sync(store, store.get_source(source.id or 0))
    assert (again.seen, again.added, again.superseded) == (0, 0, 0)
    assert len(items_of(store, source)) == 4


def test_enron_layout_dedups_copies_across_folders(store: Store, tmp_path: Path) -> None:
    owner(store)
    root = tmp_path / "allen-p"
    note = mail("ann@co.example", "bo@co.example", "Gas prices", "Prices rose.", START)
    for n, folder in enumerate(("sent", "_sent_mail", "sent_items", "all_documents"), 1):
        # Enron's copies differ in Message-ID and X-Folder only.
        copy = note.replace(b"Subject:", f"X-Folder: \\{folder}\nSubject:".encode())
        enron_file(root, folder, n, copy.replace(b"To:", f"Message-ID: <{n}@x>\nTo:".encode()))
    filed = mail("bo@co.example", "ann@co.example", "Storage report", "Report.", START)
    enron_file(root, "inbox", 1, filed)
    enron_file(root, "storage/reports", 1, filed)
    enron_file(root, "discussion_threads", 1, filed)
    source = synced(store, "maildir", root)
    items = {item.title: item for item in items_of(store, source)}
    assert len(items) == 2
    prices = items["Gas prices"]
    assert prices.folder == "sent"
    assert prices.metadata["folders"] == ["_sent_mail", "all_documents", "sent", "sent_items"]
    assert prices.metadata["sent"] is True
    assert prices.metadata["path"] == "sent/1."
    assert prices.metadata["x_folder"] == "\\sent"
    report = items["Storage report"]
    assert report.folder == "storage/reports"  # a filing folder wins over inbox and copies
    assert report.metadata["folders"] == ["discussion_threads", "inbox", "storage/reports"]


def test_second_sync_adds_nothing_and_new_mail_is_picked_up(store: Store, tmp_path: Path) -> None:
    owner(store)
    root = tmp_path / "mail"
    standard_maildir(root)
    source = add_source(store, "maildir", str(root), owner="ann")
    assert sync(store, source).added == 4
    again = sync(store, store.get_source(source.id or 0))
    assert (again.seen, again.added, again.problems) == (0, 0, 0)
    box = mailbox.Maildir(root, create=False)
    box.add(mail("dee@co.example", "ann@co.example", "Lunch?", "Friday?", START))
    third = sync(store, store.get_source(source.id or 0))
    assert (third.seen, third.added) == (1, 1)
    assert len(items_of(store, source)) == 5


def test_a_copy_added_later_updates_the_folders_of_the_stored_message(
    store: Store, tmp_path: Path
) -> None:
    owner(store)
    root = tmp_path / "enron"
    note = mail("bo@co.example", "ann@co.example", "Pipeline", "Capacity.", START)
    enron_file(root, "inbox", 1, note)
    source = add_source(store, "maildir", str(root), owner="ann")
    sync(store, source)
    enron_file(root, "projects", 1, note)
    report = sync(store, store.get_source(source.id or 0))
    assert (report.added, report.superseded) == (1, 1)
    [item] = items_of(store, source)
    assert item.folder == "projects"
    assert item.metadata["folders"] == ["inbox", "projects"]


def test_threads_from_headers(store: Store, tmp_path: Path) -> None:
    owner(store)
    root = tmp_path / "mail"
    box = mailbox.Maildir(root, create=True)
    box.add(mail("bo@co.example", "ann@co.example", "Q2", "Plan?", START, "<a@x>"))
    # The reply names only its parent; the third names only the second.
    box.add(
        mail(
            "ann@co.example", "bo@co.example", "Re: Q2", "Yes.", START, "<b@x>", In_Reply_To="<a@x>"
        )
    )
    box.add(
        mail(
            "bo@co.example", "ann@co.example", "Re: Q2", "Ok.", START, "<c@x>", In_Reply_To="<b@x>"
        )
    )
    box.add(mail("bo@co.example", "ann@co.example", "Q2", "Other.", START, "<d@x>"))
    source = synced(store, "maildir", root)
    threads = Counter(item.thread_id for item in items_of(store, source))
    assert sorted(threads.values()) == [1, 3]


def test_threads_without_headers_by_subject_people_and_time(store: Store, tmp_path: Path) -> None:
    owner(store)
    root = tmp_path / "enron"
    enron_file(root, "inbox", 1, mail("bo@co.example", "ann@co.example", "Rates", "Q?", START))
    later = START + timedelta(days=2)
    enron_file(root, "sent", 1, mail("ann@co.example", "bo@co.example", "RE: rates", "A.", later))
    # Same subject, other people: another thread.
    enron_file(root, "inbox", 2, mail("cy@co.example", "ann@co.example", "Re: Rates", "?", later))
    # Same subject and people, but a month on: another thread.
    month = START + timedelta(days=40)
    enron_file(root, "inbox", 3, mail("bo@co.example", "ann@co.example", "Re: Rates", "!", month))
    source = synced(store, "maildir", root)
    by_body = {item.body.strip(): item.thread_id for item in items_of(store, source)}
    assert by_body["Q?"] == by_body["A."]
    assert len({by_body["Q?"], by_body["?"], by_body["!"]}) == 3
    first = dict(by_body)
    sync(store, store.get_source(source.id or 0))
    assert {i.body.strip(): i.thread_id for i in items_of(store, source)} == first


def test_infer_owner_email_and_sync_without_owner(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "enron"
    for n in range(3):
        enron_file(
            root, "sent_items", n, mail("pa@co.example", "x@co.example", f"S{n}", ".", START)
        )
    enron_file(root, "sent_items", 9, mail("boss@co.example", "pa@co.example", "FYI", ".", START))
    enron_file(root, "inbox", 1, mail("pa@co.example", "y@co.example", "Hi", ".", START))
    assert infer_owner_email(root) == "pa@co.example"
    source = synced(store, "maildir", root, who=None)
    items = {item.title: item for item in items_of(store, source)}
    assert items["Hi"].metadata["sent"] is True  # From the inferred owner, though in inbox


def test_missing_mailbox_is_an_error_naming_it(store: Store, tmp_path: Path) -> None:
    source = add_source(store, "maildir", str(tmp_path / "nowhere"))
    report = sync(store, source)
    assert report.error is not None
    assert str(tmp_path / "nowhere") in report.error
    assert store.source_errors(source.id or 0)[0].location == str(tmp_path / "nowhere")


def test_unreadable_files_are_reported_once_and_the_rest_is_stored(
    store: Store, tmp_path: Path
) -> None:
    owner(store)
    root = tmp_path / "enron"
    enron_file(root, "inbox", 1, mail("bo@co.example", "ann@co.example", "Fine", ".", START))
    garbage = enron_file(root, "inbox", 2, bytes(range(256)) * 64)
    empty = enron_file(root, "inbox", 3, b"")
    source = add_source(store, "maildir", str(root), owner="ann")
    report = sync(store, source)
    assert (report.added, report.problems) == (1, 2)
    errors = {e.location: e.reason for e in store.source_errors(source.id or 0)}
    assert "not an email message" in errors[str(garbage)]
    assert "empty" in errors[str(empty)]
    again = sync(store, store.get_source(source.id or 0))
    assert (again.added, again.problems) == (0, 0)


def test_estimate_counts_what_needs_reading(store: Store, tmp_path: Path) -> None:
    owner(store)
    root = tmp_path / "mail"
    standard_maildir(root)
    source = add_source(store, "maildir", str(root), owner="ann")
    context = SyncContext(owner_emails=("ann@co.example",))
    assert MaildirConnector(source, context).estimate({}) == 4
    sync(store, source)
    stored = store.get_source(source.id or 0)
    assert MaildirConnector(stored, context).estimate(stored.cursor) == 0


KILLED_SYNC = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from understudy.sources.pipeline import sync
    dialect, location, source_id = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if dialect == "sqlite":
        from understudy.store.sqlite import SQLiteStore
        store = SQLiteStore.open(Path(location))
    else:
        from understudy.store.postgres import PostgresStore
        store = PostgresStore.open(location)
    # Slow the sync down after the first messages so the kill lands mid-way.
    seen = []
    def slowly(step, total):
        seen.append(step)
        if len(seen) > 600:
            time.sleep(0.002)
    sync(store, store.get_source(source_id), progress=slowly)
    """
)


def big_enron_mailbox(root: Path, count: int) -> dict[str, list[str]]:
    """Write ``count`` messages, every fifth also in a second folder; return folders by subject."""
    expected: dict[str, list[str]] = {}
    for n in range(count):
        subject = f"Message {n}"
        data = mail("bo@co.example", "ann@co.example", subject, f"Body {n}.", START)
        enron_file(root, "inbox", n, data)
        expected[subject] = ["inbox"]
        if n % 5 == 0:
            enron_file(root, "all_documents", n, data)
            expected[subject] = ["all_documents", "inbox"]
    return expected


@pytest.mark.slow
def test_a_killed_sync_resumes_with_exactly_the_same_items(store: Store, tmp_path: Path) -> None:
    owner(store)
    root = tmp_path / "enron"
    expected = big_enron_mailbox(root, 3000)
    source = add_source(store, "maildir", str(root), owner="ann")
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_SYNC, store.dialect, store.location, str(source.id)],
        env={**os.environ},
    )
    deadline = time.monotonic() + 120
    while not store.get_source(source.id or 0).cursor.get("files"):
        assert child.poll() is None, "the sync ended before its first checkpoint"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    stored_before = len(items_of(store, source))
    assert 0 < stored_before < len(expected)
    report = sync(store, store.get_source(source.id or 0))
    assert report.error is None
    items = items_of(store, source)
    assert len(items) == len(expected)
    assert len({item.external_id for item in items}) == len(expected)
    assert {item.title: item.metadata["folders"] for item in items} == expected
    assert report.added <= len(expected) - stored_before + 1
    assert sync(store, store.get_source(source.id or 0)).added == 0


@pytest.mark.slow
@pytest.mark.shared_data
def test_enron_allen_p(tmp_path: Path) -> None:
    from understudy.store.sqlite import SQLiteStore

    root = shared_data("enron", "maildir", "allen-p")
    store = SQLiteStore.open(tmp_path / "enron.db")
    owner_email = infer_owner_email(root)
    assert owner_email == "phillip.allen@enron.com"
    source = add_source(store, "maildir", str(root), owner=owner_email)
    first = sync(store, source)
    assert first.error is None
    items = items_of(store, source)
    files = sum(len(names) for _, _, names in os.walk(root))
    # Enron keeps most messages in two to four folders; about half survive dedup.
    assert files * 0.3 < len(items) < files * 0.7
    sent = [item for item in items if item.metadata["sent"]]
    assert len(sent) > 500
    assert {"sent", "sent_items", "_sent_mail"} <= {f for i in sent for f in i.metadata["folders"]}
    decisions = store.count_decisions(source.owner)
    assert decisions.get("reply", 0) >= 20
    assert decisions.get("delete", 0) > 0
    again = sync(store, store.get_source(source.id or 0))
    assert (again.added, again.decisions) == (0, 0)
    assert len(items_of(store, source)) == len(items)
    store.close()


@pytest.mark.slow
@pytest.mark.shared_data
def test_enron_filing_decisions(tmp_path: Path) -> None:
    from understudy.store.sqlite import SQLiteStore

    root = shared_data("enron", "maildir", "badeer-r")
    store = SQLiteStore.open(tmp_path / "enron.db")
    source = add_source(store, "maildir", str(root), owner=infer_owner_email(root))
    sync(store, source)
    decisions = store.list_decisions(actions=["file"])
    assert decisions
    assert all(d.target and d.target not in ("inbox", "all_documents") for d in decisions)
    store.close()
