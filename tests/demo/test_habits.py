"""Habits in truth.json are what the files show: hours, reply speed, declines, filing."""

from __future__ import annotations

import email
import json
from datetime import datetime, timedelta
from email import policy
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar

from understudy.demo import DemoManifest

NEW_YORK = ZoneInfo("America/New_York")


def truth(root: Path) -> dict[str, Any]:
    """Read truth.json."""
    data: dict[str, Any] = json.loads((root / "truth.json").read_text(encoding="utf-8"))
    return data


def headers(path: Path) -> email.message.Message:
    """Parse only the headers of one message file."""
    with path.open("rb") as handle:
        return email.message_from_binary_file(handle, policy=policy.default)


def working_minutes(start: datetime, end: datetime, hours: tuple[int, int]) -> int:
    """Count the working minutes between two moments (weekdays, inside ``hours``)."""
    count, moment = 0, start
    while moment < end:
        if moment.weekday() < 5 and hours[0] <= moment.hour < hours[1]:
            count += 1
        moment += timedelta(minutes=1)
    return count


def test_sent_mail_falls_inside_each_persons_working_hours(demo_root: Path) -> None:
    data = truth(demo_root)
    exceptions = {e["message_id"] for e in data["exceptions"]}
    for person, habits in data["habits"].items():
        for path in (demo_root / "mail" / person / ".Sent" / "cur").iterdir():
            message = headers(path)
            if str(message["Message-ID"]) in exceptions:
                continue
            moment = parsedate_to_datetime(str(message["Date"])).astimezone(NEW_YORK)
            assert moment.weekday() < 5, path
            assert habits["start_hour"] <= moment.hour < habits["end_hour"], path


def test_the_ceo_answers_the_board_chair_and_cfo_within_minutes(
    demo_root: Path, manifest: DemoManifest
) -> None:
    habits = truth(demo_root)["habits"][manifest.ceo]
    assert habits["fast_senders"] == ["eleanor-vance", "priya-raman"]
    hours = (habits["start_hour"], habits["end_hour"])
    received = {}
    for path in (demo_root / "mail" / manifest.ceo).rglob("cur/*"):
        message = headers(path)
        received[str(message["Message-ID"])] = message
    fast = []
    for path in (demo_root / "mail" / manifest.ceo / ".Sent" / "cur").iterdir():
        reply = headers(path)
        original = received.get(str(reply["In-Reply-To"] or ""))
        if original is None or not str(reply["Subject"]).startswith("Re: "):
            continue
        sender = parseaddr(str(original["From"]))[1]
        if sender in ("eleanor@vancecapital.example", "priya@halcyon.example"):
            start = parsedate_to_datetime(str(original["Date"])).astimezone(NEW_YORK)
            end = parsedate_to_datetime(str(reply["Date"])).astimezone(NEW_YORK)
            fast.append(working_minutes(start, end, hours))
    assert fast
    assert max(fast) <= 25


def test_accepted_meetings_fall_inside_working_hours(demo_root: Path) -> None:
    data = truth(demo_root)["habits"]
    for person, habits in data.items():
        email_address = f"mailto:{person.split('-')[0]}@halcyon.example"
        calendar = Calendar.from_ical((demo_root / "calendar" / f"{person}.ics").read_bytes())
        for event in calendar.walk("VEVENT"):
            attendees = event.get("ATTENDEE")
            attendees = attendees if isinstance(attendees, list) else [attendees]
            mine = [a for a in attendees if str(a) == email_address]
            organizer = str(event["ORGANIZER"]) == email_address
            if organizer or not mine or mine[0].params["PARTSTAT"] != "ACCEPTED":
                continue
            start = event["DTSTART"].dt
            assert habits["start_hour"] <= start.hour < habits["end_hour"], event["SUMMARY"]


def test_newsletters_are_never_answered_and_land_where_each_person_files_them(
    demo_root: Path,
) -> None:
    data = truth(demo_root)["habits"]
    for person, habits in data.items():
        folder = habits["filing"]["newsletter"]
        base = demo_root / "mail" / person / (f".{folder}" if folder else "")
        for path in (demo_root / "mail" / person).rglob("cur/*"):
            sender = parseaddr(str(headers(path)["From"]))[1]
            if sender.split("@")[1] in ("morningledger.example", "saasweekly.example"):
                assert path.parent.parent == base
                assert "R" not in path.name.rsplit(",", 1)[1]
