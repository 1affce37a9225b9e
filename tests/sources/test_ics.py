"""The ``ics`` connector: occurrences, attendees, decisions, bad input, incremental sync."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from understudy.records import Item, Person, Principal, Source
from understudy.sources.pipeline import add_source, sync
from understudy.store import ItemFilter, Store

NOW = "2026-03-02T12:00:00+00:00"
OWNER = "ann@co.example"


def vevent(uid: str, start: str, summary: str, *lines: str, stamp: str = "20260102T080000Z") -> str:
    """Return one VEVENT; ``start`` is the DTSTART line's value part (after the name)."""
    body = [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{stamp}",
        f"DTSTART{start}",
        f"SUMMARY:{summary}",
        *lines,
        "END:VEVENT",
    ]
    return "\r\n".join(body)


def vcalendar(*events: str, extra: str = "X-WR-CALNAME:Work") -> str:
    """Return a VCALENDAR holding ``events``."""
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//understudy tests//EN"]
    if extra:
        head.append(extra)
    return "\r\n".join([*head, *events, "END:VCALENDAR"]) + "\r\n"


def attendee(email: str, partstat: str, name: str = "") -> str:
    """Return an ATTENDEE line."""
    cn = f";CN={name}" if name else ""
    return f"ATTENDEE{cn};ROLE=REQ-PARTICIPANT;PARTSTAT={partstat}:mailto:{email}"


# A weekly stand-up (10 Mondays from 5 January 2026, Paris time) organized by
# Bo: the owner accepted the series; 19 January is cancelled (EXDATE); the 26
# January meeting moved to Tuesday 27 at 10:00, and the owner declined it.
STANDUP = vevent(
    "standup-1",
    ";TZID=Europe/Paris:20260105T090000",
    "Stand-up",
    "DTEND;TZID=Europe/Paris:20260105T091500",
    "RRULE:FREQ=WEEKLY;COUNT=10",
    "EXDATE;TZID=Europe/Paris:20260119T090000",
    "CREATED:20260101T080000Z",
    "ORGANIZER;CN=Bo Park:mailto:bo@co.example",
    attendee(OWNER, "ACCEPTED", "Ann Lee"),
    attendee("bo@co.example", "ACCEPTED", "Bo Park"),
    "LOCATION:Room 4",
    "DESCRIPTION:What we did\\, what we will do.",
)
STANDUP_MOVED = vevent(
    "standup-1",
    ";TZID=Europe/Paris:20260127T100000",
    "Stand-up (moved)",
    "RECURRENCE-ID;TZID=Europe/Paris:20260126T090000",
    "DTEND;TZID=Europe/Paris:20260127T101500",
    "ORGANIZER;CN=Bo Park:mailto:bo@co.example",
    attendee(OWNER, "DECLINED", "Ann Lee"),
    attendee("bo@co.example", "ACCEPTED", "Bo Park"),
    stamp="20260120T100000Z",
)
# A one-off review organized by Cy: the owner answered "tentative".
REVIEW = vevent(
    "review-1",
    ":20260210T140000Z",
    "Budget review",
    "DTEND:20260210T150000Z",
    "ORGANIZER;CN=Cy Diaz:mailto:cy@co.example",
    attendee(OWNER, "TENTATIVE", "Ann Lee"),
    attendee("cy@co.example", "ACCEPTED"),
)
# An invitation the owner has not answered: no decision.
OFFSITE = vevent(
    "offsite-1",
    ";VALUE=DATE:20260212",
    "Offsite",
    "ORGANIZER:mailto:bo@co.example",
    attendee(OWNER, "NEEDS-ACTION"),
)
# A weekly review with no end, starting after "now": only the occurrences in
# the window (90 days ahead, up to 1 June 2026) are items.
PLANNING = vevent(
    "planning-1",
    ":20260406T080000Z",
    "Planning",
    "RRULE:FREQ=WEEKLY",
)


def sample_calendar() -> str:
    """Return the calendar most tests read."""
    return vcalendar(
        STANDUP, STANDUP_MOVED, REVIEW, OFFSITE, PLANNING, extra="X-WR-TIMEZONE:Europe/Paris"
    )


def org(store: Store) -> None:
    """Add the people of these tests."""
    store.upsert_person(Person(id="ann", name="Ann Lee", emails=(OWNER,)))
    store.upsert_person(Person(id="bo", name="Bo Park", emails=("bo@co.example",)))
    store.upsert_person(Person(id="cy", name="Cy Diaz", emails=("cy@co.example",)))
    store.upsert_person(Person(id="outsider", name="Out Sider", emails=("out@co.example",)))


def ics_source(store: Store, location: Path, **options: object) -> Source:
    """Register an ics source owned by Ann, with a pinned "now".

    ``pipeline.add_source`` takes no options yet, so this goes to the store.
    """
    return store.add_source(
        Source(kind="ics", location=str(location), owner="ann", options={"now": NOW, **options})
    )


def events(store: Store, source: Source, who: Principal | None = None) -> list[Item]:
    """Return the source's current events, oldest first."""
    where = ItemFilter(source_id=source.id)
    return store.list_items(who or Principal.maintenance(), where, newest_first=False)


def by_uid(items: list[Item], uid: str) -> list[Item]:
    """Return the items of one UID."""
    return [i for i in items if i.metadata["uid"] == uid]


def test_a_file_gives_one_item_per_occurrence(store: Store, tmp_path: Path) -> None:
    org(store)
    path = tmp_path / "work.ics"
    path.write_text(sample_calendar(), encoding="utf-8")
    source = ics_source(store, path)
    report = sync(store, source)
    items = events(store, source)
    counts = {uid: len(by_uid(items, uid)) for uid in ("standup-1", "review-1", "planning-1")}
    # 10 stand-ups minus one EXDATE; planning on 8 Mondays from 6 April to 25 May.
    assert counts == {"standup-1": 9, "review-1": 1, "planning-1": 8}
    assert (report.added, report.problems, len(items)) == (19, 0, 19)
    assert {i.kind for i in items} == {"event"}
    assert {i.thread_id for i in by_uid(items, "standup-1")} == {"standup-1"}


def test_exdate_removes_and_an_override_moves_an_occurrence(store: Store, tmp_path: Path) -> None:
    org(store)
    path = tmp_path / "work.ics"
    path.write_text(sample_calendar(), encoding="utf-8")
    source = ics_source(store, path)
    sync(store, source)
    standups = by_uid(events(store, source), "standup-1")
    starts = [i.timestamp.astimezone(UTC) for i in standups]
    assert datetime(2026, 1, 19, 8, 0, tzinfo=UTC) not in starts
    assert datetime(2026, 1, 26, 8, 0, tzinfo=UTC) not in starts
    moved = [i for i in standups if i.metadata["overridden"]]
    assert len(moved) == 1
    assert moved[0].timestamp.astimezone(UTC) == datetime(2026, 1, 27, 9, 0, tzinfo=UTC)
    assert moved[0].title == "Stand-up (moved)"
    # The id is the original start, so a moved meeting keeps its identity.
    assert moved[0].external_id == "standup-1/20260126T080000Z"
    assert all(i.metadata["recurring"] for i in standups)


def test_times_all_day_events_and_metadata(store: Store, tmp_path: Path) -> None:
    org(store)
    path = tmp_path / "work.ics"
    floating = vevent("lunch-1", ":20260211T123000", "Lunch")
    path.write_text(
        vcalendar(OFFSITE, floating, REVIEW, extra="X-WR-TIMEZONE:Europe/Paris"), encoding="utf-8"
    )
    source = ics_source(store, path)
    sync(store, source)
    items = {i.metadata["uid"]: i for i in events(store, source)}
    # All-day: midnight in the calendar's zone (Paris, UTC+1 in February).
    assert items["offsite-1"].timestamp.astimezone(UTC) == datetime(2026, 2, 11, 23, tzinfo=UTC)
    assert items["offsite-1"].metadata["all_day"] is True
    # Floating: read in the calendar's zone too.
    assert items["lunch-1"].timestamp.astimezone(UTC) == datetime(2026, 2, 11, 11, 30, tzinfo=UTC)
    review = items["review-1"]
    assert review.external_id == "review-1"
    assert review.title == "Budget review"
    assert review.author == "cy"
    assert review.recipients == ("ann", "cy")
    meta = review.metadata
    assert meta["organizer"] == {"email": "cy@co.example", "name": "Cy Diaz"}
    assert meta["attendees"][0] == {
        "email": OWNER,
        "name": "Ann Lee",
        "partstat": "TENTATIVE",
        "role": "REQ-PARTICIPANT",
    }
    assert (meta["recurring"], meta["method"], meta["sequence"]) == (False, None, 0)
    assert "Ann Lee <ann@co.example> (tentative)" in review.body


def test_floating_times_without_a_zone_are_utc(store: Store, tmp_path: Path) -> None:
    org(store)
    path = tmp_path / "plain.ics"
    path.write_text(vcalendar(vevent("f-1", ":20260211T123000", "Lunch")), encoding="utf-8")
    source = ics_source(store, path)
    sync(store, source)
    [item] = events(store, source)
    assert item.timestamp.astimezone(UTC) == datetime(2026, 2, 11, 12, 30, tzinfo=UTC)
    assert item.folder == "Work"


def test_attendee_answers_are_the_owners_decisions(store: Store, tmp_path: Path) -> None:
    org(store)
    path = tmp_path / "work.ics"
    path.write_text(sample_calendar(), encoding="utf-8")
    source = ics_source(store, path)
    report = sync(store, source)
    decisions = store.list_decisions(person="ann")
    assert report.decisions == 3
    items = {i.id: i for i in events(store, source)}
    made = sorted((d.action, items[d.item_id].external_id) for d in decisions)
    assert made == [
        ("accept", "standup-1/20260105T080000Z"),
        ("decline", "standup-1/20260126T080000Z"),
        ("tentative", "review-1"),
    ]
    accept = next(d for d in decisions if d.action == "accept")
    assert accept.at == datetime(2026, 1, 2, 8, 0, tzinfo=UTC)  # DTSTAMP
    assert accept.latency_seconds == 86400.0  # a day after CREATED
    assert {d.origin for d in decisions} == {"observed"}
    assert store.list_decisions(person="bo") == []
    assert sync(store, store.get_source(source.id or 0)).decisions == 0


def test_meetings_the_owner_organized_are_not_decisions(store: Store, tmp_path: Path) -> None:
    org(store)
    own = vevent(
        "own-1",
        ":20260210T140000Z",
        "1:1",
        f"ORGANIZER;CN=Ann Lee:mailto:{OWNER.upper()}",
        attendee(OWNER, "ACCEPTED"),
        attendee("bo@co.example", "DECLINED"),
    )
    path = tmp_path / "own.ics"
    path.write_text(vcalendar(own), encoding="utf-8")
    report = sync(store, ics_source(store, path))
    assert (report.added, report.decisions) == (1, 0)


def test_itip_reply_uses_its_dtstamp(store: Store, tmp_path: Path) -> None:
    org(store)
    reply = vevent(
        "review-2",
        ":20260210T140000Z",
        "Review",
        "LAST-MODIFIED:20260205T000000Z",
        attendee(OWNER, "DECLINED"),
        stamp="20260203T100000Z",
    )
    path = tmp_path / "reply.ics"
    path.write_text(vcalendar(reply, extra="METHOD:REPLY"), encoding="utf-8")
    source = ics_source(store, path)
    sync(store, source)
    [decision] = store.list_decisions(person="ann")
    assert (decision.action, decision.at) == ("decline", datetime(2026, 2, 3, 10, tzinfo=UTC))
    assert decision.latency_seconds is None
    [item] = events(store, source)
    assert item.metadata["method"] == "REPLY"


def test_readers_are_organizer_attendees_and_owner(store: Store, tmp_path: Path) -> None:
    org(store)
    path = tmp_path / "work.ics"
    path.write_text(vcalendar(REVIEW), encoding="utf-8")
    source = ics_source(store, path)
    sync(store, source)
    assert len(events(store, source, Principal.person("cy"))) == 1
    assert len(events(store, source, Principal.person("ann"))) == 1
    assert events(store, source, Principal.person("outsider")) == []
    assert events(store, source, Principal.person("bo")) == []


def test_a_folder_syncs_incrementally(store: Store, tmp_path: Path) -> None:
    org(store)
    folder = tmp_path / "calendars"
    (folder / "team").mkdir(parents=True)
    (folder / "work.ics").write_text(vcalendar(REVIEW), encoding="utf-8")
    (folder / "team" / "standup.ics").write_text(vcalendar(STANDUP), encoding="utf-8")
    (folder / "notes.txt").write_text("not a calendar", encoding="utf-8")
    source = ics_source(store, folder)
    first = sync(store, source)
    assert (first.added, first.problems) == (10, 0)
    source = store.get_source(source.id or 0)
    assert sorted(source.cursor["files"]) == ["team/standup.ics", "work.ics"]
    second = sync(store, source)
    assert (second.seen, second.added) == (0, 0)
    changed = REVIEW.replace("Budget review", "Budget review (final)")
    (folder / "work.ics").write_text(vcalendar(changed), encoding="utf-8")
    third = sync(store, store.get_source(source.id or 0))
    assert (third.seen, third.added, third.superseded) == (1, 1, 1)
    [review] = by_uid(events(store, source), "review-1")
    assert review.title == "Budget review (final)"


def test_a_moved_window_reads_again_without_duplicates(store: Store, tmp_path: Path) -> None:
    org(store)
    path = tmp_path / "work.ics"
    path.write_text(vcalendar(PLANNING), encoding="utf-8")
    source = ics_source(store, path)
    assert sync(store, source).added == 8
    # The window reaches a week further (as it does a week later): one more Monday.
    moved = Source(
        kind="ics",
        location=str(path),
        owner="ann",
        id=source.id,
        cursor=store.get_source(source.id or 0).cursor,
        options={"now": NOW, "window_days_ahead": 97},
    )
    report = sync(store, moved)
    assert (report.added, report.unchanged) == (1, 8)


def test_estimate_counts_events_in_changed_files(store: Store, tmp_path: Path) -> None:
    from understudy.sources.ics import IcsConnector

    org(store)
    path = tmp_path / "work.ics"
    path.write_text(sample_calendar(), encoding="utf-8")
    source = ics_source(store, path)
    assert IcsConnector(source).estimate({}) == 5
    sync(store, source)
    assert IcsConnector(source).estimate(store.get_source(source.id or 0).cursor) == 0


def test_bad_calendars_are_problems_and_the_rest_is_read(store: Store, tmp_path: Path) -> None:
    org(store)
    folder = tmp_path / "calendars"
    folder.mkdir()
    (folder / "a-garbage.ics").write_bytes(b"\x00\x01 this is not a calendar\n")
    no_start = "BEGIN:VEVENT\r\nUID:nostart-1\r\nSUMMARY:When?\r\nEND:VEVENT"
    bad_rule = vevent("badrule-1", ":20260210T090000Z", "Broken", "RRULE:FREQ=SOMETIMES;COUNT=x")
    (folder / "b-mixed.ics").write_text(vcalendar(no_start, bad_rule, REVIEW), encoding="utf-8")
    latin = vcalendar(vevent("cafe-1", ":20260211T090000Z", "Café"))
    (folder / "c-latin.ics").write_bytes(latin.encode("latin-1"))
    stray = vcalendar(vevent("stray-1", ":20260212T090000Z", "Stray", "oops no colon here"))
    (folder / "d-stray.ics").write_text(stray, encoding="utf-8")
    source = ics_source(store, folder)
    report = sync(store, source)
    errors = {(e.location, e.reason) for e in store.source_errors(source.id or 0)}
    text = "\n".join(f"{where} {why}" for where, why in errors)
    assert f"{folder / 'a-garbage.ics'}:1 not an iCalendar file" in text
    assert f"{folder / 'b-mixed.ics'}:6 " in text  # the UID line of the event without start
    assert "'nostart-1' has no valid DTSTART" in text
    assert "'badrule-1'" in text
    assert "RRULE" in text
    assert f"{folder / 'c-latin.ics'}:9 not UTF-8 (byte 0xe9" in text  # the SUMMARY line
    assert f"{folder / 'd-stray.ics'}:10 " in text
    assert "'oops no colon here'" in text
    assert report.problems == 5
    titles = sorted(i.title for i in events(store, source))
    assert titles == ["Budget review", "Café", "Stray"]


def test_a_source_added_by_owner_email(store: Store, tmp_path: Path) -> None:
    org(store)
    path = tmp_path / "work.ics"
    path.write_text(vcalendar(REVIEW, OFFSITE), encoding="utf-8")
    source = add_source(store, "ics", str(path), owner=OWNER)
    report = sync(store, source)
    assert (report.added, report.decisions, source.owner) == (2, 1, "ann")
    assert sync(store, store.get_source(source.id or 0)).added == 0


def test_a_missing_location_is_one_problem(store: Store, tmp_path: Path) -> None:
    org(store)
    source = ics_source(store, tmp_path / "nowhere.ics")
    report = sync(store, source)
    assert (report.problems, report.added) == (1, 0)
    [error] = store.source_errors(source.id or 0)
    assert "no such file or folder" in error.reason


@pytest.mark.parametrize("days", [30, 500])
def test_window_days_back_limits_past_occurrences(store: Store, tmp_path: Path, days: int) -> None:
    org(store)
    path = tmp_path / "old.ics"
    # Weekly on Mondays since 6 January 2025: 73 up to the window's end (1 June
    # 2026); 30 days back keeps 17 of them (from 2 February 2026).
    path.write_text(vcalendar(vevent("w-1", ":20250106T080000Z", "W", "RRULE:FREQ=WEEKLY")))
    source = ics_source(store, path, window_days_back=days)
    sync(store, source)
    count = len(events(store, source))
    assert count == (17 if days == 30 else 73)
