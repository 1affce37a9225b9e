"""Calendars are iCalendar files with series, exceptions and everyone's answers."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path

from dateutil.rrule import rrulestr
from icalendar import Calendar

from understudy.demo import DemoManifest


def load(path: Path) -> Calendar:
    """Parse one .ics file."""
    return Calendar.from_ical(path.read_bytes())


def occurs_on(event: object, day: datetime) -> bool:
    """Return whether ``event`` (a VEVENT) has an occurrence on ``day``'s date."""
    start = event["DTSTART"].dt  # type: ignore[index]
    if "RRULE" not in event:  # type: ignore[operator]
        return bool(start.date() == day.date())
    rule = rrulestr(event["RRULE"].to_ical().decode(), dtstart=start)  # type: ignore[index]
    excluded = {d.dt for x in _as_list(event.get("EXDATE")) for d in x.dts}  # type: ignore[attr-defined]
    window = (
        datetime.combine(day.date(), time(0), start.tzinfo),
        datetime.combine(day.date(), time(23, 59), start.tzinfo),
    )
    return any(o not in excluded for o in rule.between(*window, inc=True))


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def test_every_person_has_a_calendar_that_parses(demo_root: Path, manifest: DemoManifest) -> None:
    files = sorted((demo_root / "calendar").glob("*.ics"))
    assert len(files) == manifest.counts["people"]
    for path in files:
        events = load(path).walk("VEVENT")
        assert events, path.name
        assert all(e.get("ORGANIZER") and e.get("ATTENDEE") for e in events)


def test_the_ceo_has_four_meetings_today(demo_root: Path, manifest: DemoManifest) -> None:
    calendar = load(demo_root / "calendar" / f"{manifest.ceo}.ics")
    today = datetime.combine(manifest.today, time(12))
    todays = sorted(
        (e["DTSTART"].dt.time(), str(e["SUMMARY"]))
        for e in calendar.walk("VEVENT")
        if occurs_on(e, today)
    )
    summaries = [s for _, s in todays]
    assert "Exec staff" in summaries
    assert "Atlas launch review" in summaries
    assert "Maya / Priya 1:1" in summaries
    assert "Board call prep" in summaries
    assert todays[0][0] == time(9)
    assert 4 <= len(todays) <= 6


def test_series_recur_with_exceptions(demo_root: Path, manifest: DemoManifest) -> None:
    events = load(demo_root / "calendar" / f"{manifest.ceo}.ics").walk("VEVENT")
    staff = next(e for e in events if e["SUMMARY"] == "Exec staff")
    assert staff["RRULE"]["FREQ"] == ["WEEKLY"]
    assert staff.get("EXDATE")
    assert sum(1 for e in events if "RRULE" in e) >= 5


def test_attendees_carry_names_and_every_kind_of_answer(demo_root: Path) -> None:
    answers = set()
    for path in (demo_root / "calendar").glob("*.ics"):
        for event in load(path).walk("VEVENT"):
            for attendee in _as_list(event.get("ATTENDEE")):
                assert attendee.params["CN"]  # type: ignore[attr-defined]
                answers.add(str(attendee.params["PARTSTAT"]))  # type: ignore[attr-defined]
    assert answers == {"ACCEPTED", "DECLINED", "TENTATIVE", "NEEDS-ACTION"}


def test_the_owner_appears_among_the_attendees_with_an_answer(demo_root: Path) -> None:
    for path in (demo_root / "calendar").glob("*.ics"):
        email = f"mailto:{path.stem.split('-')[0]}@halcyon.example"
        for event in load(path).walk("VEVENT"):
            assert email in {str(a) for a in _as_list(event.get("ATTENDEE"))}


def test_the_ceo_has_an_invitation_still_waiting_for_her_answer(
    demo_root: Path, manifest: DemoManifest
) -> None:
    calendar = load(demo_root / "calendar" / f"{manifest.ceo}.ics")
    waiting = [
        str(e["SUMMARY"])
        for e in calendar.walk("VEVENT")
        for a in _as_list(e.get("ATTENDEE"))
        if str(a) == "mailto:maya@halcyon.example" and a.params["PARTSTAT"] == "NEEDS-ACTION"  # type: ignore[attr-defined]
    ]
    assert "Brightline quarterly business review" in waiting
