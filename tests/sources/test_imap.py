"""The ``imap`` connector against a real Dovecot on loopback.

Every test gets a mailbox of its own on one Dovecot per session, filled
through IMAP APPEND. Dropped connections are real: a TCP proxy between the
connector and Dovecot closes the connection part way into a FETCH answer.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.sources import dovecot
from tests.sources.dovecot import DovecotServer, ImapAccount, ImapProxy, free_port
from understudy.records import Decision, Item, Person, Principal, Source
from understudy.sources.base import SyncContext
from understudy.sources.imap import ImapConnector, decode_folder_name
from understudy.sources.pipeline import SyncReport, add_source, sync
from understudy.store import ItemFilter, Store

dovecot_server = dovecot.dovecot_server
imap_account = dovecot.imap_account
imap_proxy = dovecot.imap_proxy

START = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
ANN = "ann@co.example"


def mail(
    sender: str,
    subject: str,
    body: str,
    when: datetime,
    message_id: str,
    to: str = ANN,
    reply_to: str | None = None,
    attachment: tuple[str, str] | None = None,
) -> bytes:
    """Return the bytes of a message, as a mail program would append it."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(when)
    message["Message-ID"] = message_id
    if reply_to:
        message["In-Reply-To"] = reply_to
        message["References"] = reply_to
    message.set_content(body)
    if attachment:
        name, text = attachment
        message.add_attachment(text.encode(), maintype="text", subtype="plain", filename=name)
    return bytes(message)


BUDGET = mail("Bo Park <bo@co.example>", "Budget", "Numbers for Q2?", START, "<budget-1@co>")
ANSWER = mail(
    f"Ann Lee <{ANN}>",
    "Re: Budget",
    "Here are the numbers.",
    START + timedelta(hours=2),
    "<budget-2@co>",
    to="bo@co.example",
    reply_to="<budget-1@co>",
)
THANKS = mail(
    "bo@co.example",
    "Re: Budget",
    "Thanks!",
    START + timedelta(hours=4),
    "<budget-3@co>",
    reply_to="<budget-2@co>",
)
PLAN = mail(
    "cy@co.example",
    "Atlas plan",
    "The plan is attached.",
    START + timedelta(days=1),
    "<atlas-1@co>",
    attachment=("notes.txt", "Atlas milestones: kickoff in May"),
)
CAFE = mail(
    "Zoë Ünver <zoe@co.example>",
    "Café → déjà vu",
    "Déjà vu au café.",
    START + timedelta(days=2),
    "<cafe-1@co>",
)
ATLAS_BUDGET = mail(
    "dee@co.example", "Atlas budget", "Costs.", START + timedelta(days=3), "<atlas-2@co>"
)
OLD = mail("bo@co.example", "Old news", "From January.", START - timedelta(days=60), "<old-1@co>")


def fill(account: ImapAccount) -> None:
    """Fill a mailbox: inbox, Sent, a filing folder holding a copy, and a non-ASCII folder."""
    # Dovecot's Maildir++ names levels with "."; "&AMk-t&AOk-" is "Été" in modified UTF-7.
    account.create("Sent", "Projects.Atlas", "Archives.&AMk-t&AOk-")
    account.append("INBOX", BUDGET, THANKS, PLAN, CAFE)
    account.append("Sent", ANSWER)
    account.append("Projects.Atlas", PLAN, ATLAS_BUDGET)
    account.append("Archives.&AMk-t&AOk-", OLD)


def owner(store: Store) -> None:
    """Add the owner Ann."""
    store.upsert_person(Person(id="ann", name="Ann Lee", emails=(ANN,)))


def imap_source(
    store: Store, url: str, who: str | None = "ann", name: str = "", **options: object
) -> Source:
    """Register an imap source."""
    return add_source(store, "imap", url, owner=who, name=name, options=dict(options) or None)


def items_of(store: Store, source: Source) -> list[Item]:
    """Return the source's current items, oldest first."""
    where = ItemFilter(source_id=source.id)
    return store.list_items(Principal.maintenance(), where, newest_first=False)


def by_message_id(store: Store, source: Source) -> dict[str, Item]:
    """Return the source's current items by Message-ID."""
    return {item.metadata["message_id"]: item for item in items_of(store, source)}


def resync(store: Store, source: Source) -> SyncReport:
    """Sync the source again from its saved cursor."""
    return sync(store, store.get_source(source.id or 0))


def errors(store: Store, source: Source) -> str:
    """Return every recorded problem of the source as one text."""
    return "\n".join(f"{e.location} {e.reason}" for e in store.source_errors(source.id or 0))


def fetched_uids(proxy: ImapProxy) -> list[str]:
    """Return the UID sets of the full-message FETCH commands the proxy saw."""
    found = re.findall(rb"UID FETCH (\S+) \(UID INTERNALDATE BODY", bytes(proxy.commands))
    return [uids.decode() for uids in found]


def test_a_mailbox_is_read_folder_by_folder_deduplicated_and_threaded(
    store: Store, imap_account: ImapAccount
) -> None:
    owner(store)
    fill(imap_account)
    source = imap_source(store, imap_account.url())
    report = sync(store, source)
    assert (report.error, report.problems) == (None, 0)
    items = by_message_id(store, source)
    assert len(items) == 7  # eight copies, the plan in two folders
    assert {i: items[i].folder for i in items} == {
        "<budget-1@co>": "INBOX",
        "<budget-2@co>": "Sent",
        "<budget-3@co>": "INBOX",
        "<atlas-1@co>": "Projects/Atlas",
        "<cafe-1@co>": "INBOX",
        "<atlas-2@co>": "Projects/Atlas",
        "<old-1@co>": "Archives/Été",
    }
    assert items["<atlas-1@co>"].metadata["folders"] == ["INBOX", "Projects/Atlas"]
    assert [i for i in items if items[i].metadata["sent"]] == ["<budget-2@co>"]
    threads = Counter(item.thread_id for item in items.values())
    assert sorted(threads.values()) == [1, 1, 1, 1, 3]
    assert len({items[f"<budget-{n}@co>"].thread_id for n in (1, 2, 3)}) == 1
    [notes] = items["<atlas-1@co>"].attachments
    assert (notes.name, notes.text) == ("notes.txt", "Atlas milestones: kickoff in May")
    cafe = items["<cafe-1@co>"]
    assert (cafe.title, cafe.body.strip()) == ("Café → déjà vu", "Déjà vu au café.")
    assert store.find_person("zoe@co.example").name == "Zoë Ünver"
    assert cafe.author == store.find_person("zoe@co.example").id
    assert "person:ann" in cafe.readers
    assert cafe.metadata["path"].startswith("INBOX;UIDVALIDITY=")
    # Read with BODY.PEEK[] from folders opened read-only: nothing became \Seen.
    assert not any("\\Seen" in flags for flags in imap_account.flags("INBOX"))


def test_the_owners_replies_and_filing_become_decisions(
    store: Store, imap_account: ImapAccount
) -> None:
    owner(store)
    fill(imap_account)
    source = imap_source(store, imap_account.url())
    sync(store, source)
    items = by_message_id(store, source)
    made = {(d.item_id, d.action): d for d in store.list_decisions(person="ann")}

    def decision(message_id: str, action: str) -> Decision:
        return made[(items[message_id].id or 0, action)]

    reply = decision("<budget-1@co>", "reply")
    assert (reply.latency_seconds, reply.text) == (7200.0, "Here are the numbers.")
    assert decision("<atlas-1@co>", "file").target == "Projects/Atlas"
    assert decision("<atlas-2@co>", "file").target == "Projects/Atlas"


def test_second_sync_fetches_nothing_and_new_mail_is_picked_up(
    store: Store, imap_account: ImapAccount, imap_proxy: ImapProxy
) -> None:
    owner(store)
    fill(imap_account)
    proxy = imap_proxy
    source = imap_source(store, imap_account.url(port=proxy.port))
    first = sync(store, source)
    assert sorted(fetched_uids(proxy)) == ["1", "1", "1:2", "1:4"]
    assert len(items_of(store, source)) == 7
    assert first.seen >= 7
    proxy.commands.clear()
    again = resync(store, source)
    assert (again.seen, again.added, again.superseded, again.problems) == (0, 0, 0, 0)
    assert proxy.fetch_commands() == 0
    news = mail("dee@co.example", "Lunch?", "Friday?", START + timedelta(days=4), "<lunch@co>")
    imap_account.append("INBOX", news)
    imap_account.append("Archives.&AMk-t&AOk-", BUDGET)  # a later copy of a stored message
    third = resync(store, source)
    assert sorted(fetched_uids(proxy)) == ["2", "5"]  # only the new UIDs
    assert (third.added, third.superseded, third.problems) == (2, 1, 0)
    items = by_message_id(store, source)
    assert len(items) == 8
    assert items["<lunch@co>"].folder == "INBOX"
    assert items["<budget-1@co>"].metadata["folders"] == ["Archives/Été", "INBOX"]
    assert len({items[f"<budget-{n}@co>"].thread_id for n in (1, 2, 3)}) == 1


def test_a_renumbered_folder_is_read_again_without_duplicates(
    store: Store, imap_account: ImapAccount
) -> None:
    owner(store)
    fill(imap_account)
    source = imap_source(store, imap_account.url())
    sync(store, source)
    before = by_message_id(store, source)
    validity = store.get_source(source.id or 0).cursor["folders"]["Projects/Atlas"][0]
    # Deleting and making a folder again gives it a new UIDVALIDITY.
    with imap_account.client() as client:
        client.delete('"Projects.Atlas"')
    imap_account.create("Projects.Atlas")
    imap_account.append("Projects.Atlas", PLAN, ATLAS_BUDGET)
    report = resync(store, source)
    assert report.problems == 0
    cursor = store.get_source(source.id or 0).cursor
    assert cursor["folders"]["Projects/Atlas"][0] != validity
    after = by_message_id(store, source)
    assert after.keys() == before.keys()
    assert len({item.external_id for item in items_of(store, source)}) == 7
    assert after["<atlas-1@co>"].metadata["folders"] == ["INBOX", "Projects/Atlas"]
    assert after["<atlas-2@co>"].metadata["path"] != before["<atlas-2@co>"].metadata["path"]


def test_a_connection_dropped_mid_fetch_keeps_what_was_read_and_resumes(
    store: Store, imap_account: ImapAccount, imap_proxy: ImapProxy
) -> None:
    owner(store)
    notes = [
        mail("bo@co.example", f"Note {n}", f"Body {n}.", START + timedelta(minutes=n), f"<n{n}@co>")
        for n in range(12)
    ]
    imap_account.append("INBOX", *notes)
    # The second FETCH (UIDs 6 to 10) is cut 300 bytes into its answer.
    proxy = imap_proxy
    proxy.cut_fetch = (2, 300)
    source = imap_source(store, imap_account.url(port=proxy.port), batch=5)
    report = sync(store, source)
    assert proxy.cuts == 1
    assert report.error is None
    assert len(items_of(store, source)) == 5
    [problem] = store.source_errors(source.id or 0)
    assert problem.location == f"imap://{imap_account.user}@127.0.0.1:{proxy.port}/INBOX"
    assert "closed the connection" in problem.reason
    assert "UIDs 6:10" in problem.reason
    assert imap_account.password not in errors(store, source)
    assert store.get_source(source.id or 0).cursor["folders"]["INBOX"][1] == 5
    proxy.cut_fetch = None
    proxy.commands.clear()
    again = resync(store, source)
    assert fetched_uids(proxy) == ["6:10", "11:12"]
    assert (again.added, again.problems) == (7, 0)
    items = items_of(store, source)
    assert sorted(item.title for item in items) == sorted(f"Note {n}" for n in range(12))
    assert len({item.external_id for item in items}) == 12


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
    # Slow the sync down so the kill lands part way.
    sync(store, store.get_source(source_id), progress=lambda step, total: time.sleep(0.02))
    """
)


@pytest.mark.slow
def test_a_killed_sync_resumes_with_exactly_the_same_items(
    store: Store, imap_account: ImapAccount
) -> None:
    owner(store)
    notes = [
        mail("bo@co.example", f"Note {n}", f"Body {n}.", START + timedelta(minutes=n), f"<k{n}@co>")
        for n in range(150)
    ]
    imap_account.create("Archive")
    imap_account.append("INBOX", *notes)
    imap_account.append("Archive", *notes[::5])
    source = imap_source(store, imap_account.url(), batch=10)
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_SYNC, store.dialect, store.location, str(source.id)],
        env={**os.environ},
    )
    deadline = time.monotonic() + 120
    while not store.get_source(source.id or 0).cursor.get("folders"):
        assert child.poll() is None, "the sync ended before its first checkpoint"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    stored_before = len(items_of(store, source))
    assert 0 < stored_before < 150
    report = resync(store, source)
    assert (report.error, report.problems) == (None, 0)
    items = items_of(store, source)
    assert len(items) == len({item.external_id for item in items}) == 150
    folders = {item.title: item.metadata["folders"] for item in items}
    assert folders == {
        f"Note {n}": ["Archive", "INBOX"] if n % 5 == 0 else ["INBOX"] for n in range(150)
    }
    assert resync(store, source).added == 0


def test_a_wrong_password_is_a_problem_that_never_shows_the_password(
    store: Store, imap_account: ImapAccount
) -> None:
    source = imap_source(store, imap_account.url(password="wrong-horse-99"), who=None)
    report = sync(store, source)
    assert (report.error, report.problems, report.seen) == (None, 1, 0)
    text = errors(store, source)
    assert "refused the login" in text
    assert "check the user name and password" in text
    stored = store.get_source(source.id or 0)
    for shown in (text, stored.name, stored.last_error or "", json.dumps(report.as_dict())):
        assert "wrong-horse-99" not in shown
    hidden = imap_source(
        store,
        f"imap://{imap_account.user}@127.0.0.1:{imap_account.port}/",
        who=None,
        password="nope-4242",
    )
    sync(store, hidden)
    assert "refused the login" in errors(store, hidden)
    assert "nope-4242" not in errors(store, hidden)


def test_unreachable_servers_are_problems(store: Store) -> None:
    closed = imap_source(store, f"imap://ann:secret-pw@127.0.0.1:{free_port()}/", who=None)
    assert sync(store, closed).problems == 1
    assert "connection refused" in errors(store, closed)
    nowhere = imap_source(store, "imaps://ann:secret-pw@no-such-host.invalid/", who=None)
    assert sync(store, nowhere).problems == 1
    assert "cannot find the host no-such-host.invalid" in errors(store, nowhere)
    assert "secret-pw" not in errors(store, closed) + errors(store, nowhere)
    anonymous = imap_source(store, f"imap://127.0.0.1:{free_port()}/", who=None)
    assert sync(store, anonymous).problems == 1
    assert "no user name or password" in errors(store, anonymous)


def test_sources_json_never_shows_the_password(
    imap_account: ImapAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    from understudy.cli import main
    from understudy.settings import Settings
    from understudy.store import open_store

    store = open_store(Settings.load())
    source = imap_source(store, imap_account.url(password="wrong-horse-99"), who=None)
    sync(store, source)
    store.close()
    assert main(["sources", "--json"]) == 0
    out = capsys.readouterr().out
    [row] = json.loads(out)
    assert "refused the login" in row["last_error"]
    assert row["location"] == imap_account.url(password="***")
    assert "wrong-horse-99" not in out


def test_folders_that_cannot_be_opened_are_problems_and_the_rest_is_read(
    store: Store, imap_account: ImapAccount, dovecot_server: DovecotServer
) -> None:
    owner(store)
    fill(imap_account)
    locked = dovecot_server.folder / "mail" / imap_account.user / "Maildir" / ".Projects.Atlas"
    locked.chmod(0)
    try:
        source = imap_source(store, imap_account.url())
        report = sync(store, source)
    finally:
        locked.chmod(0o700)
    assert report.problems == 1
    [problem] = store.source_errors(source.id or 0)
    assert problem.location.endswith("/Projects/Atlas")
    assert "cannot be opened" in problem.reason
    assert len(items_of(store, source)) == 6  # the plan is still in the inbox
    chosen = imap_source(store, imap_account.url(), name="chosen", folders=["INBOX", "Nowhere"])
    assert sync(store, chosen).problems == 1
    assert "Nowhere" in errors(store, chosen)
    assert {item.folder for item in items_of(store, chosen)} == {"INBOX"}


def test_a_message_that_is_not_mail_is_a_problem_once(
    store: Store, imap_account: ImapAccount
) -> None:
    owner(store)
    imap_account.append("INBOX", BUDGET, b"\x89PNG\r\n\x1a\n\xff\xfe garbage, no headers\r\n")
    source = imap_source(store, imap_account.url())
    report = sync(store, source)
    assert (report.problems, len(items_of(store, source))) == (1, 1)
    [problem] = store.source_errors(source.id or 0)
    where = rf"imap://{imap_account.user}@127\.0\.0\.1:{imap_account.port}/INBOX"
    assert re.fullmatch(where + r";UIDVALIDITY=\d+/;UID=2", problem.location)
    assert "not an email message" in problem.reason
    assert resync(store, source).problems == 0


def test_without_an_owner_the_sent_folder_says_whose_mail_it_is(
    store: Store, imap_account: ImapAccount
) -> None:
    fill(imap_account)
    note = mail(f"Ann Lee <{ANN}>", "Note to self", "Remember.", START, "<self@co>")
    imap_account.append("INBOX", note)
    source = imap_source(store, imap_account.url(), who=None)
    sync(store, source)
    items = by_message_id(store, source)
    assert items["<self@co>"].metadata["sent"] is True  # From the sent folder's usual sender
    assert items["<budget-1@co>"].metadata["sent"] is False


def test_estimate_counts_what_the_next_sync_fetches(
    store: Store, imap_account: ImapAccount
) -> None:
    owner(store)
    fill(imap_account)
    source = imap_source(store, imap_account.url())
    context = SyncContext(owner_emails=(ANN,))
    assert ImapConnector(source, context).estimate({}) == 8
    sync(store, source)
    stored = store.get_source(source.id or 0)
    assert ImapConnector(stored, context).estimate(stored.cursor) == 0


def modified_utf7(name: str) -> str:
    """Return a folder name as IMAP writes it (RFC 3501 5.1.3), the way a mail program would."""
    out: list[str] = []
    run: list[str] = []

    def close_run() -> None:
        if run:
            data = base64.b64encode("".join(run).encode("utf-16-be")).decode("ascii")
            out.append("&" + data.rstrip("=").replace("/", ",") + "-")
            run.clear()

    for char in name:
        if " " <= char <= "~":
            close_run()
            out.append("&-" if char == "&" else char)
        else:
            run.append(char)
    close_run()
    return "".join(out)


LEVEL = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="./"), min_size=1
).filter(lambda text: text.upper() != "INBOX")


@given(LEVEL, LEVEL)
def test_folder_names_are_decoded_with_their_levels(parent: str, child: str) -> None:
    mailbox = modified_utf7(parent) + "." + modified_utf7(child)
    assert decode_folder_name(mailbox, ".") == f"{parent}/{child}"
    assert decode_folder_name("Archives.&AMk-t&AOk-", ".") == "Archives/Été"
    assert decode_folder_name("inbox", "/") == "INBOX"
    assert decode_folder_name("Tom &- Jerry", None) == "Tom & Jerry"
