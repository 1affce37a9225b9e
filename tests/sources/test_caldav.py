"""The ``caldav`` connector against a real Radicale server on loopback."""

from __future__ import annotations

import uuid
from typing import Any

from tests.sources import radicale
from tests.sources.radicale import RadicaleServer, free_port
from tests.sources.test_ics import (
    NOW,
    OFFSITE,
    PLANNING,
    REVIEW,
    STANDUP,
    STANDUP_MOVED,
    by_uid,
    org,
    vcalendar,
    vevent,
)
from understudy.records import Item, Principal, Source
from understudy.sources.pipeline import SyncReport, add_source, sync
from understudy.store import ItemFilter, Store

radicale_server = radicale.radicale_server


def caldav_source(store: Store, location: str, **options: object) -> Source:
    """Register a caldav source owned by Ann, with a pinned "now"."""
    return store.add_source(
        Source(kind="caldav", location=location, owner="ann", options={"now": NOW, **options})
    )


def put_sample(calendar: Any) -> None:
    """Put the sample events on the server, one calendar object per UID."""
    calendar.save_event(vcalendar(STANDUP, STANDUP_MOVED, extra="X-WR-TIMEZONE:Europe/Paris"))
    for event in (REVIEW, OFFSITE, PLANNING):
        calendar.save_event(vcalendar(event))


def events(store: Store, source: Source, who: Principal | None = None) -> list[Item]:
    """Return the source's current events, oldest first."""
    where = ItemFilter(source_id=source.id)
    return store.list_items(who or Principal.maintenance(), where, newest_first=False)


def resync(store: Store, source: Source) -> SyncReport:
    """Sync the source again from its saved cursor."""
    return sync(store, store.get_source(source.id or 0))


def errors(store: Store, source: Source) -> str:
    """Return every recorded problem of the source as one text."""
    return "\n".join(f"{e.location} {e.reason}" for e in store.source_errors(source.id or 0))


def test_a_calendar_gives_occurrences_and_decisions(
    store: Store, radicale_server: RadicaleServer
) -> None:
    org(store)
    calendar = radicale_server.new_calendar()
    put_sample(calendar)
    source = caldav_source(store, radicale_server.calendar_url(calendar))
    report = sync(store, source)
    items = events(store, source)
    counts = {
        u: len(by_uid(items, u)) for u in ("standup-1", "review-1", "offsite-1", "planning-1")
    }
    assert counts == {"standup-1": 9, "review-1": 1, "offsite-1": 1, "planning-1": 8}
    assert (report.added, report.problems, report.error) == (19, 0, None)
    moved = [i for i in by_uid(items, "standup-1") if i.metadata["overridden"]]
    assert [i.external_id for i in moved] == ["standup-1/20260126T080000Z"]
    made = sorted(d.action for d in store.list_decisions(person="ann"))
    assert made == ["accept", "decline", "tentative"]
    assert {i.folder for i in items} == {"Work"}
    assert events(store, source, Principal.person("outsider")) == []


def test_sync_again_adds_nothing_and_a_changed_event_is_a_new_version(
    store: Store, radicale_server: RadicaleServer
) -> None:
    org(store)
    calendar = radicale_server.new_calendar()
    put_sample(calendar)
    source = caldav_source(store, radicale_server.calendar_url(calendar))
    sync(store, source)
    cursor = store.get_source(source.id or 0).cursor
    [mark] = cursor["calendars"].values()
    assert mark["token"]
    assert len(mark["etags"]) == 4
    again = resync(store, source)
    assert (again.seen, again.added, again.decisions) == (0, 0, 0)
    calendar.save_event(vcalendar(REVIEW.replace("Budget review", "Budget review (v2)")))
    changed = resync(store, source)
    assert (changed.seen, changed.added, changed.superseded) == (1, 1, 1)
    [review] = by_uid(events(store, source), "review-1")
    assert review.title == "Budget review (v2)"


def test_a_new_and_a_deleted_event_are_noticed(
    store: Store, radicale_server: RadicaleServer
) -> None:
    org(store)
    calendar = radicale_server.new_calendar()
    put_sample(calendar)
    source = caldav_source(store, radicale_server.calendar_url(calendar))
    sync(store, source)
    calendar.get_event_by_uid("offsite-1").delete()
    calendar.save_event(vcalendar(vevent("new-1", ":20260220T100000Z", "New")))
    report = resync(store, source)
    assert (report.seen, report.added, report.problems) == (1, 1, 0)
    [mark] = store.get_source(source.id or 0).cursor["calendars"].values()
    assert len(mark["etags"]) == 4  # one gone, one new


def test_an_account_url_reads_every_calendar(store: Store, radicale_server: RadicaleServer) -> None:
    org(store)
    # Bo's account holds only this test's calendars (two per store backend).
    server = radicale_server.as_user("bo")
    work = server.new_calendar("Work")
    home = server.new_calendar("Home")
    tag = uuid.uuid4().hex[:8]
    work.save_event(vcalendar(vevent(f"sync-{tag}", ":20260213T090000Z", "Sync")))
    home.save_event(vcalendar(vevent(f"dinner-{tag}", ":20260214T180000Z", "Dinner")))
    source = caldav_source(store, server.url("bo/"))
    report = sync(store, source)
    assert report.problems == 0
    mine = [i for i in events(store, source) if i.metadata["uid"].endswith(tag)]
    assert sorted((i.title, i.folder) for i in mine) == [("Dinner", "Home"), ("Sync", "Work")]


def test_credentials_may_come_from_options(store: Store, radicale_server: RadicaleServer) -> None:
    org(store)
    calendar = radicale_server.new_calendar()
    calendar.save_event(vcalendar(REVIEW))
    bare = radicale_server.url(str(calendar.url.path), user=False)
    source = caldav_source(
        store, bare, username=radicale_server.username, password=radicale_server.password
    )
    report = sync(store, source)
    assert (report.added, report.problems) == (1, 0)


def test_a_wrong_password_is_a_problem_that_hides_it(
    store: Store, radicale_server: RadicaleServer
) -> None:
    org(store)
    calendar = radicale_server.new_calendar()
    location = radicale_server.calendar_url(calendar, password="wrong-secret-99")
    source = caldav_source(store, location)
    report = sync(store, source)
    assert (report.problems, report.added, report.error) == (1, 0, None)
    text = errors(store, source)
    assert "wrong-secret-99" not in text
    assert f"ann:***@127.0.0.1:{radicale_server.port}" in text
    assert "refused the login" in text
    assert "check the user name and password" in text
    assert "wrong-secret-99" not in (store.get_source(source.id or 0).last_error or "")


def test_an_unreachable_server_is_a_problem(store: Store) -> None:
    org(store)
    location = f"http://ann:hunter2-secret@127.0.0.1:{free_port()}/ann/work/"
    source = caldav_source(store, location, timeout=3)
    report = sync(store, source)
    assert (report.problems, report.error) == (1, None)
    text = errors(store, source)
    assert "hunter2-secret" not in text
    assert "http://ann:***@127.0.0.1" in text
    assert "(Connection refused)" in text


def test_a_location_that_is_not_a_url_is_a_problem(store: Store) -> None:
    org(store)
    source = caldav_source(store, "calendar.example.com/ann")
    assert sync(store, source).problems == 1
    assert "not an http(s) URL" in errors(store, source)


def test_a_bad_event_on_the_server_is_a_problem(
    store: Store, radicale_server: RadicaleServer
) -> None:
    org(store)
    calendar = radicale_server.new_calendar()
    calendar.save_event(vcalendar(REVIEW))
    # Radicale refuses events without DTSTART or with a broken RRULE (the ics
    # tests cover those); it stores a broken SEQUENCE, which the connector
    # reports by URL, UID and line, and otherwise reads the event.
    odd = vevent("odd-1", ":20260210T090000Z", "Odd", "SEQUENCE:abc")
    _put_raw(radicale_server, calendar, "odd-1.ics", vcalendar(odd))
    source = caldav_source(store, radicale_server.calendar_url(calendar))
    report = sync(store, source)
    assert (report.added, report.problems) == (2, 1)
    text = errors(store, source)
    assert f"{calendar.url.path}odd-1.ics:6 event UID 'odd-1': bad SEQUENCE" in text
    assert radicale_server.password not in text


def test_a_missing_calendar_is_a_problem(store: Store, radicale_server: RadicaleServer) -> None:
    org(store)
    source = caldav_source(store, radicale_server.url("ann/no-such-calendar/"))
    report = sync(store, source)
    assert (report.problems, report.added, report.error) == (1, 0, None)
    text = errors(store, source)
    assert "ann:***@" in text
    assert "/ann/no-such-calendar/" in text
    assert radicale_server.password not in text


def test_add_source_registers_a_caldav_url(store: Store, radicale_server: RadicaleServer) -> None:
    org(store)
    calendar = radicale_server.new_calendar()
    calendar.save_event(vcalendar(REVIEW))
    source = add_source(store, "caldav", radicale_server.calendar_url(calendar), owner="ann")
    report = sync(store, source)
    assert (report.added, report.decisions) == (1, 1)


def _put_raw(server: RadicaleServer, calendar: Any, name: str, text: str) -> None:
    """PUT an object as is, bypassing the client library's own checks."""
    import base64
    import urllib.request

    token = base64.b64encode(f"{server.username}:{server.password}".encode()).decode()
    request = urllib.request.Request(
        server.url(f"{calendar.url.path}{name}", user=False),
        data=text.encode("utf-8"),
        method="PUT",
        headers={"Content-Type": "text/calendar", "Authorization": f"Basic {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        if response.status not in (200, 201, 204):
            raise RuntimeError(f"PUT {name} answered {response.status}")
