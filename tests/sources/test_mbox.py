"""The ``mbox`` connector: one file of many messages, read as a stream and incrementally."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from understudy.records import Item, Person, Principal, Source
from understudy.sources.mbox import mbox_spans
from understudy.sources.pipeline import add_source, sync
from understudy.store import ItemFilter, Store

START = datetime(2023, 11, 2, 8, 0, tzinfo=UTC)


def mail(sender: str, subject: str, body: str, when: datetime) -> EmailMessage:
    """Return a message to Ann."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "ann@co.example"
    message["Subject"] = subject
    message["Date"] = format_datetime(when)
    message.set_content(body)
    return message


def write_mbox(path: Path, messages: list[EmailMessage]) -> None:
    """Append messages to an mbox file with the stdlib."""
    box = mailbox.mbox(path)
    box.lock()
    for message in messages:
        box.add(message)
    box.flush()
    box.unlock()
    box.close()


def items_of(store: Store, source: Source) -> list[Item]:
    """Return the source's current items, oldest first."""
    return store.list_items(
        Principal.maintenance(), ItemFilter(source_id=source.id), newest_first=False
    )


def test_every_message_is_read_with_the_file_stem_as_folder(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "Archive 2023.mbox"
    body = "From the start of a line, this body says hello.\n\nFrom here on, more."
    write_mbox(path, [mail(f"p{n}@co.example", f"Note {n}", body, START) for n in range(5)])
    source = add_source(store, "mbox", str(path))
    report = sync(store, source)
    assert (report.added, report.problems, report.error) == (5, 0, None)
    items = items_of(store, source)
    assert {item.folder for item in items} == {"Archive 2023"}
    assert {item.metadata["path"] for item in items} == {
        f"Archive 2023.mbox#{n}" for n in range(1, 6)
    }
    assert all("From here on, more." in item.body for item in items)


def test_sent_mbox_and_owner(store: Store, tmp_path: Path) -> None:
    store.upsert_person(Person(id="ann", name="Ann", emails=("ann@co.example",)))
    write_mbox(tmp_path / "Sent.mbox", [mail("ann@co.example", "Hi", "Hello.", START)])
    source = add_source(store, "mbox", str(tmp_path / "Sent.mbox"), owner="ann")
    sync(store, source)
    [item] = items_of(store, source)
    assert (item.folder, item.metadata["sent"], item.author) == ("Sent", True, "ann")


def test_appended_messages_are_read_and_an_unchanged_file_is_not(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "inbox.mbox"
    write_mbox(path, [mail("bo@co.example", f"M{n}", "x", START) for n in range(3)])
    source = add_source(store, "mbox", str(path))
    assert sync(store, source).added == 3
    unchanged = sync(store, store.get_source(source.id or 0))
    assert (unchanged.seen, unchanged.added) == (0, 0)
    later = START + timedelta(days=1)
    write_mbox(path, [mail("cy@co.example", "Late", "y", later)])
    appended = sync(store, store.get_source(source.id or 0))
    assert (appended.seen, appended.added) == (1, 1)
    assert len(items_of(store, source)) == 4


def test_duplicates_inside_one_mbox_become_one_item(store: Store, tmp_path: Path) -> None:
    twice = mail("bo@co.example", "Same", "Same body.", START)
    write_mbox(tmp_path / "dups.mbox", [twice, twice, mail("bo@co.example", "Other", ".", START)])
    source = add_source(store, "mbox", str(tmp_path / "dups.mbox"))
    sync(store, source)
    assert sorted(item.title for item in items_of(store, source)) == ["Other", "Same"]


def test_unreadable_message_is_reported_with_its_number(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "mixed.mbox"
    good = bytes(mail("bo@co.example", "Good", "fine", START))
    path.write_bytes(
        b"From bo@co.example Thu Nov  2 08:00:00 2023\n" + good + b"\n"
        b"From junk@x Thu Nov  2 08:00:00 2023\n" + b"\x00\x01\x02 binary junk \xff\xfe\n\n"
        b"From cy@co.example Thu Nov  2 08:00:00 2023\n" + good.replace(b"Good", b"Also good")
    )
    source = add_source(store, "mbox", str(path))
    report = sync(store, source)
    assert (report.added, report.problems) == (2, 1)
    [error] = store.source_errors(source.id or 0)
    assert error.location == f"{path} (message 2)"
    assert "not an email message" in error.reason


def test_missing_file_and_not_an_mbox(store: Store, tmp_path: Path) -> None:
    missing = add_source(store, "mbox", str(tmp_path / "gone.mbox"))
    report = sync(store, missing)
    assert "gone.mbox" in (report.error or "")
    notes = tmp_path / "notes.txt"
    notes.write_text("just some notes\nnothing else\n")
    source = add_source(store, "mbox", str(notes))
    report = sync(store, source)
    assert (report.added, report.problems) == (0, 1)
    assert store.source_errors(source.id or 0)[0].location == f"{notes} (message 1)"


def test_spans_of_an_mbox(tmp_path: Path) -> None:
    path = tmp_path / "a.mbox"
    path.write_bytes(
        b"From a@x Mon Jan  1 00:00:00 2024\nSubject: one\n\nbody\nFrom me, hi\n\n"
        b"From b@x Mon Jan  1 00:00:00 2024\nSubject: two\n\nbody two\n"
    )
    spans = list(mbox_spans(path))
    assert [number for number, *_ in spans] == [1, 2]
    first = path.read_bytes()[spans[0][1] : spans[0][1] + spans[0][2]]
    assert first == b"Subject: one\n\nbody\nFrom me, hi\n\n"
