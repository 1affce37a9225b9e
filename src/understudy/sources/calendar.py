"""Calendar events as items, and the owner's replies to invitations as decisions.

The ``ics`` and ``caldav`` connectors share this module: both hand it the text
of an iCalendar object and get back one ``Draft`` per event occurrence, or a
``Problem`` naming where and why an event could not be read.

Occurrences. Events are grouped by UID. A group with RRULE, RDATE or an
overridden instance (RECURRENCE-ID) is a recurring series, expanded with
``recurring-ical-events`` inside the window of ``calendar_window``; EXDATE
removes an occurrence and an override replaces it. A one-off event is always
read, wherever it falls. The external id of a one-off event is its UID; that
of an occurrence is ``UID/original start`` (the RECURRENCE-ID, in UTC), so it
stays the same when the occurrence is moved or edited, which then gives a new
version. Every occurrence of a UID shares the thread id UID.

Times. All-day events start at 00:00 and floating times are read in the
calendar's time zone: X-WR-TIMEZONE, else ``source.options["timezone"]``,
else UTC.

Decision rules (what ``observed_decisions`` records for the source's owner):

1. The owner is the attendee whose address is one of the owner's addresses
   (compared case-insensitively). Events the owner organized give no
   decision, even when the organizer is also listed as an accepted attendee
   (as Google Calendar does): organizing is not answering.
2. The owner's PARTSTAT gives the action: ACCEPTED → ``accept``, DECLINED →
   ``decline``, TENTATIVE → ``tentative``. NEEDS-ACTION, DELEGATED, a missing
   PARTSTAT, or the owner not being an attendee give no decision.
3. One decision per event, not per occurrence: it is read from the newest
   version of the series (highest SEQUENCE, then latest DTSTAMP) and attached
   to that version's earliest stored occurrence that is not overridden.
4. An overridden occurrence (its own VEVENT with RECURRENCE-ID) gives a
   decision of its own only when the owner's answer there differs from the
   series' (for example accepted the series, declined one meeting).
5. ``at`` is when the answer was given as far as the calendar says: for an
   iTIP message (the calendar has a METHOD) its DTSTAMP; otherwise
   LAST-MODIFIED, else DTSTAMP; else the occurrence's start.
6. ``latency_seconds`` is ``at`` minus CREATED, when CREATED is present and not
   after ``at``; otherwise there is no latency.
7. Decisions are ``observed``; the store keeps one per (owner, item, action),
   so syncing again adds none.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import recurring_ical_events  # type: ignore[import-untyped]
from icalendar import Calendar, Component
from icalendar.prop import vBroken

from understudy.errors import InputError
from understudy.records import Decision, Item, utc
from understudy.sources.base import Contact, Draft, Problem

__all__ = [
    "CalendarWindow",
    "calendar_window",
    "decode_calendar",
    "observed_decisions",
    "read_calendar",
]

_CONTENT_LINE = re.compile(r"^[A-Za-z0-9-]+(;[^:]*)?:")
_QUOTED = re.compile(r"parts: '(.+?)'")
_TIME_CRITICAL = {"DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"}
_ACTIONS = {"ACCEPTED": "accept", "DECLINED": "decline", "TENTATIVE": "tentative"}


@dataclass(frozen=True, slots=True)
class CalendarWindow:
    """The span in which recurring events are expanded into occurrences."""

    start: datetime
    end: datetime

    @property
    def key(self) -> list[str]:
        """Return the window as plain data, to keep in a cursor."""
        return [self.start.isoformat(), self.end.isoformat()]


def calendar_window(options: Mapping[str, Any]) -> CalendarWindow:
    """Return the expansion window of a source's options.

    ``now`` (an ISO date-time) pins the present, as the demo does; otherwise
    it is the wall clock. The window runs ``window_days_back`` (365) days
    before and ``window_days_ahead`` (90) days after, in whole UTC days, so
    it moves once a day and not on every sync.
    """
    raw_now = options.get("now")
    try:
        now = utc(datetime.fromisoformat(str(raw_now))) if raw_now else datetime.now(UTC)
        back = int(options.get("window_days_back", 365))
        ahead = int(options.get("window_days_ahead", 90))
    except ValueError as exc:
        raise InputError(
            f"bad calendar source option ({exc}); 'now' is an ISO date-time such as "
            "2026-03-02T09:00:00Z, 'window_days_back' and 'window_days_ahead' are whole days"
        ) from None
    today = datetime.combine(now.date(), time(0), tzinfo=UTC)
    return CalendarWindow(today - timedelta(days=back), today + timedelta(days=ahead + 1))


def decode_calendar(data: bytes, location: str) -> tuple[str, Problem | None]:
    """Return the text of iCalendar bytes, and a problem if they were not UTF-8.

    iCalendar is UTF-8 by definition (RFC 5545 §3.1.4); other bytes are read
    as Latin-1 so the events still arrive, and the problem says so.
    """
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16"), None
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        reason = (
            f"not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "read as Latin-1 — save the file as UTF-8 to be sure of its accents"
        )
        return data.decode("latin-1"), Problem(f"{location}:{line}", reason)


def read_calendar(
    text: str,
    location: str,
    window: CalendarWindow,
    options: Mapping[str, Any],
    folder: str | None = None,
    default_folder: str | None = None,
) -> Iterator[Draft | Problem]:
    """Yield one draft per event occurrence in ``text``, and problems for the rest.

    Items go in ``folder`` if given (a server's calendar name), else in the
    calendar's X-WR-CALNAME, else in ``default_folder`` (a file's name).

    A bad content line is reported with its line number and left out; a bad
    event is reported with its UID and line; the other events are still read.
    """
    calendars, problems = _parse(text, location)
    yield from problems
    for calendar in calendars:
        name = folder or str(calendar.get("X-WR-CALNAME", "")).strip() or default_folder
        yield from _read_one(calendar, text, location, window, options, name)


def _parse(text: str, location: str) -> tuple[list[Component], list[Problem]]:
    try:
        return _calendars(Calendar.from_ical(text, multiple=True)), []
    except ValueError:
        pass  # find the bad lines below, name them, and read the rest
    bad: list[tuple[int, str]] = []
    kept: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.startswith((" ", "\t")) and not _CONTENT_LINE.match(line):
            bad.append((number, line))
        else:
            kept.append(line)
    if not any(line.upper().startswith("BEGIN:") for line in kept):
        number, line = bad[0] if bad else (1, text[:60])
        reason = f"not an iCalendar file (line {number} is {line[:60]!r}); export it as .ics"
        return [], [Problem(f"{location}:{number}", reason)]
    problems = [
        Problem(f"{location}:{n}", f"not an iCalendar content line: {line[:60]!r}; it was skipped")
        for n, line in bad
    ]
    try:
        return _calendars(Calendar.from_ical("\n".join(kept), multiple=True)), problems
    except ValueError as exc:
        return [], [*problems, Problem(location, f"not an iCalendar file ({exc})")]


def _calendars(found: Iterable[Component]) -> list[Component]:
    calendars: list[Component] = []
    for component in found:
        if component.name == "VCALENDAR":
            calendars.append(component)
        else:  # a bare VEVENT file: read it as a calendar of one
            wrapper = Calendar()
            wrapper.add_component(component)
            calendars.append(wrapper)
    return calendars


@dataclass(frozen=True, slots=True)
class _Series:
    """What every occurrence of one UID shares."""

    uid: str
    recurring: bool
    overrides: frozenset[str]
    method: str | None
    zone: tzinfo
    folder: str | None


def _read_one(
    calendar: Component,
    text: str,
    location: str,
    window: CalendarWindow,
    options: Mapping[str, Any],
    folder: str | None,
) -> Iterator[Draft | Problem]:
    zone = _calendar_zone(calendar, options)
    method = str(calendar.get("METHOD", "")).upper() or None
    groups: dict[str, list[Component]] = {}
    for event in calendar.walk("VEVENT"):
        groups.setdefault(_uid(event), []).append(event)
    zones = calendar.walk("VTIMEZONE")
    for uid, events in groups.items():
        problems, fatal = _checks(uid, events, location, text)
        yield from problems
        if fatal:
            continue
        series = _series(uid, events, method, zone, folder)
        try:
            occurrences = _occurrences(calendar, [*zones, *events], series, window)
            drafts = [_draft(o, series) for o in occurrences]
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            yield Problem(
                _where(location, text, uid), f"event UID {uid!r} could not be expanded: {exc}"
            )
            continue
        yield from drafts


def _uid(event: Component) -> str:
    uid = str(event.get("UID", "")).strip()
    if uid:
        return uid
    # No UID breaks RFC 5545, but the event is still worth reading: derive a
    # stable id from what identifies it, so syncing again finds the same one.
    start = event.get("DTSTART")
    seed = f"{getattr(start, 'to_ical', lambda: b'')()!r}|{event.get('SUMMARY', '')}"
    return "no-uid-" + hashlib.blake2b(seed.encode("utf-8"), digest_size=8).hexdigest()


def _where(location: str, text: str, needle: str, uid_line: bool = True) -> str:
    """Return ``location:line`` of the UID line (or line holding ``needle``), if found."""
    for number, line in enumerate(text.splitlines(), start=1):
        if uid_line and line.upper().startswith("UID") and line.split(":", 1)[-1].strip() == needle:
            return f"{location}:{number}"
        if not uid_line and needle in line:
            return f"{location}:{number}"
    return location


def _checks(
    uid: str, events: Sequence[Component], location: str, text: str
) -> tuple[list[Problem], bool]:
    """Return the problems of one UID's events, and whether they make it unreadable."""
    found: list[tuple[str | None, str]] = []  # (the bad line's text if known, reason)
    fatal = False
    for event in events:
        if "DTSTART" not in event or not hasattr(event["DTSTART"], "dt"):
            reason = f"event UID {uid!r} has no valid DTSTART; every event needs a start time"
            found.append((None, reason))
            fatal = True
        for name, message in getattr(event, "errors", []):
            if name == "DTSTART":
                continue  # already reported above
            critical = name in _TIME_CRITICAL
            fatal = fatal or critical
            consequence = "the event was skipped" if critical else "that line was ignored"
            reason = f"event UID {uid!r}: bad {name or 'content line'} ({message}); {consequence}"
            quoted = _QUOTED.search(str(message))
            found.append((quoted.group(1) if quoted else None, reason))
            if name and not critical:
                _drop_broken(event, name)
    if not found:
        return [], fatal
    # Lines are looked up only for problems: a scan per UID would be quadratic.
    where = _where(location, text, uid)
    problems = [
        Problem(_where(location, text, line, uid_line=False) if line else where, reason)
        for line, reason in found
    ]
    return problems, fatal


def _drop_broken(event: Component, name: str) -> None:
    """Remove the broken values of a property: a bad SEQUENCE would upset expansion."""
    value = event.get(name)
    kept = [v for v in value if not isinstance(v, vBroken)] if isinstance(value, list) else []
    if name in event:
        del event[name]
    if kept:
        event[name] = kept


def _series(
    uid: str, events: Sequence[Component], method: str | None, zone: tzinfo, folder: str | None
) -> _Series:
    overrides = frozenset(
        _stamp(value, zone)
        for event in events
        if (value := _time_of(event, "RECURRENCE-ID")) is not None
    )
    recurring = bool(overrides) or any("RRULE" in e or "RDATE" in e for e in events)
    return _Series(uid, recurring, overrides, method, zone, folder)


def _occurrences(
    calendar: Component, parts: list[Component], series: _Series, window: CalendarWindow
) -> list[Component]:
    # Each UID is expanded in a calendar of its own (its events and the time
    # zones), so one broken series is reported by its UID and the rest expand.
    single = Calendar()
    single.update(calendar)
    single.subcomponents = parts
    query = recurring_ical_events.of(single)
    if series.recurring:
        return list(query.between(window.start, window.end))
    return list(query.all())


def _calendar_zone(calendar: Component, options: Mapping[str, Any]) -> tzinfo:
    for name in (calendar.get("X-WR-TIMEZONE"), options.get("timezone")):
        if name:
            try:
                return ZoneInfo(str(name).strip())
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return UTC


def _instant(value: date, zone: tzinfo) -> datetime:
    """Return a DTSTART-like value as aware UTC: dates at 00:00, floating in ``zone``."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0), tzinfo=zone).astimezone(UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=zone).astimezone(UTC)
    return value.astimezone(UTC)


def _stamp(value: date, zone: tzinfo) -> str:
    if not isinstance(value, datetime):
        return value.strftime("%Y%m%d")
    return _instant(value, zone).strftime("%Y%m%dT%H%M%SZ")


def _local(value: date, zone: tzinfo) -> str:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=zone).isoformat()
    return value.isoformat()


def _time_of(event: Component, name: str) -> date | None:
    """Return a property's date or date-time, or None when absent or not a time."""
    value = getattr(event.get(name), "dt", None)
    return value if isinstance(value, date) else None


def _moment(event: Component, name: str) -> str | None:
    value = _time_of(event, name)
    return None if value is None else _instant(value, UTC).isoformat()


def _addresses(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _email(address: Any) -> str:
    text = str(address).strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return text.strip().lower() if "@" in text else ""


def _person(address: Any) -> dict[str, str]:
    params = getattr(address, "params", {})
    return {"email": _email(address), "name": str(params.get("CN", "")).strip()}


def _attendee(address: Any) -> dict[str, str]:
    params = getattr(address, "params", {})
    return {
        **_person(address),
        "partstat": str(params.get("PARTSTAT", "NEEDS-ACTION")).upper(),
        "role": str(params.get("ROLE", "REQ-PARTICIPANT")).upper(),
    }


def _label(who: Mapping[str, str]) -> str:
    if who["name"] and who["email"]:
        return f"{who['name']} <{who['email']}>"
    return who["name"] or who["email"]


def _draft(occurrence: Component, series: _Series) -> Draft:
    start_value = _time_of(occurrence, "DTSTART")
    if start_value is None:
        raise ValueError("an occurrence has no start")
    end_value = _time_of(occurrence, "DTEND") or start_value
    all_day = not isinstance(start_value, datetime)
    original_value = _time_of(occurrence, "RECURRENCE-ID") or start_value
    recurrence_id = _stamp(original_value, series.zone) if series.recurring else None
    organizer = _person(occurrence["ORGANIZER"]) if "ORGANIZER" in occurrence else None
    attendees = [_attendee(a) for a in _addresses(occurrence.get("ATTENDEE"))]
    location = str(occurrence.get("LOCATION", "")).strip()
    metadata: dict[str, Any] = {
        "uid": series.uid,
        "start": _local(start_value, series.zone),
        "end": _local(end_value, series.zone),
        "all_day": all_day,
        "location": location,
        "organizer": organizer,
        "attendees": attendees,
        "recurring": series.recurring,
        "recurrence_id": recurrence_id,
        "overridden": recurrence_id in series.overrides,
        "status": str(occurrence.get("STATUS", "")).upper() or None,
        "sequence": int(occurrence.get("SEQUENCE", 0) or 0),
        "method": series.method,
        "dtstamp": _moment(occurrence, "DTSTAMP"),
        "created": _moment(occurrence, "CREATED"),
        "last_modified": _moment(occurrence, "LAST-MODIFIED"),
    }
    author = Contact(organizer["email"], organizer["name"]) if organizer else None
    recipients = tuple(Contact(a["email"], a["name"]) for a in attendees if a["email"])
    readers = tuple(c for c in (author, *recipients) if c is not None and c.email)
    return Draft(
        external_id=f"{series.uid}/{recurrence_id}" if recurrence_id else series.uid,
        kind="event",
        timestamp=_instant(start_value, series.zone),
        title=str(occurrence.get("SUMMARY", "")).strip(),
        body=_body(occurrence, metadata),
        author=author if author and author.email else None,
        recipients=recipients,
        readers=readers,
        thread_id=series.uid,
        folder=series.folder,
        metadata=metadata,
    )


def _body(occurrence: Component, metadata: Mapping[str, Any]) -> str:
    parts = [str(occurrence.get("DESCRIPTION", "")).strip()]
    parts.append(f"When: {metadata['start']} – {metadata['end']}")
    if metadata["location"]:
        parts.append(f"Where: {metadata['location']}")
    if metadata["organizer"]:
        parts.append(f"Organizer: {_label(metadata['organizer'])}")
    if metadata["attendees"]:
        listed = [f"{_label(a)} ({a['partstat'].lower()})" for a in metadata["attendees"]]
        parts.append("Attendees: " + "; ".join(listed))
    return "\n".join(part for part in parts if part)


def observed_decisions(
    owner: str | None, owner_emails: Iterable[str], items: Sequence[Item]
) -> list[Decision]:
    """Return the owner's accept / decline / tentative decisions, by the rules above."""
    emails = {e.strip().lower() for e in owner_emails if e.strip()}
    if owner is None or not emails:
        return []
    by_uid: dict[str, list[Item]] = {}
    for item in items:
        if item.kind == "event" and item.id is not None and item.metadata.get("uid"):
            by_uid.setdefault(str(item.metadata["uid"]), []).append(item)
    decisions: list[Decision] = []
    for occurrences in by_uid.values():
        decisions.extend(_event_decisions(owner, emails, occurrences))
    return decisions


def _version(item: Item) -> tuple[int, str]:
    return int(item.metadata.get("sequence") or 0), str(item.metadata.get("dtstamp") or "")


def _event_decisions(owner: str, emails: set[str], occurrences: list[Item]) -> list[Decision]:
    decisions: list[Decision] = []
    series = [o for o in occurrences if not o.metadata.get("overridden")]
    series_action: str | None = None
    if series:
        newest = max(_version(o) for o in series)
        first = min((o for o in series if _version(o) == newest), key=lambda o: o.timestamp)
        series_action = _owner_action(first, emails)
        if series_action:
            decisions.append(_decision(owner, first, series_action))
    for occurrence in occurrences:
        if occurrence.metadata.get("overridden"):
            action = _owner_action(occurrence, emails)
            if action and action != series_action:
                decisions.append(_decision(owner, occurrence, action))
    return decisions


def _owner_action(item: Item, emails: set[str]) -> str | None:
    organizer = item.metadata.get("organizer") or {}
    if str(organizer.get("email", "")).lower() in emails:
        return None
    for attendee in item.metadata.get("attendees") or []:
        if str(attendee.get("email", "")).lower() in emails:
            return _ACTIONS.get(str(attendee.get("partstat", "")).upper())
    return None


def _decision(owner: str, item: Item, action: str) -> Decision:
    meta = item.metadata
    order = ("dtstamp",) if meta.get("method") else ("last_modified", "dtstamp")
    stamps = [meta.get(name) for name in order]
    at = next((datetime.fromisoformat(s) for s in stamps if s), utc(item.timestamp))
    created = datetime.fromisoformat(meta["created"]) if meta.get("created") else None
    latency = (at - created).total_seconds() if created and created <= at else None
    return Decision(
        person=owner,
        item_id=item.id or 0,
        action=action,
        at=at,
        latency_seconds=latency,
        origin="observed",
    )
