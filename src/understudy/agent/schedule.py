"""Calendar tools: when is the owner free, and proposing a meeting."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from understudy.agent.tools import Proposal, Tool, ToolContext, ToolResult, names
from understudy.records import Item, Principal
from understudy.store import ItemFilter

__all__ = ["FreeBusyTool", "ProposeMeetingTool", "busy_intervals", "free_slots"]

WORK_START, WORK_END = 9, 17


def _declined(event: Item, emails: set[str]) -> bool:
    for attendee in event.metadata.get("attendees", []) or []:
        if str(attendee.get("email", "")).lower() in emails:
            return str(attendee.get("partstat", "")).upper() == "DECLINED"
    return False


def busy_intervals(
    context: ToolContext, person: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Return a person's busy intervals from their own calendar (times only)."""
    owner = context.store.get_person(person)
    emails = {e.lower() for e in (owner.emails if owner else ())}
    events = context.store.list_items(
        Principal.person(person),
        ItemFilter(kinds=("event",), since=start - timedelta(days=1), until=end),
        newest_first=False,
    )
    busy = []
    for event in events:
        if person not in event.recipients and event.author != person:
            continue
        if _declined(event, emails):
            continue
        begin = event.timestamp
        finish_raw = event.metadata.get("end")
        finish = (
            datetime.fromisoformat(str(finish_raw)) if finish_raw else begin + timedelta(hours=1)
        )
        if finish > start and begin < end:
            busy.append((begin, finish))
            context.note_read([event.id] if event.id is not None else [])
    return sorted(busy)


def free_slots(
    busy: list[tuple[datetime, datetime]],
    start: datetime,
    days: int,
    zone: ZoneInfo,
    minutes: int = 30,
) -> list[tuple[datetime, datetime]]:
    """Return free working-hour slots of at least ``minutes`` over the next ``days``."""
    slots: list[tuple[datetime, datetime]] = []
    local = start.astimezone(zone)
    for offset in range(days + 1):
        day = (local + timedelta(days=offset)).date()
        if day.weekday() >= 5:
            continue
        cursor = datetime(day.year, day.month, day.day, WORK_START, tzinfo=zone)
        close = datetime(day.year, day.month, day.day, WORK_END, tzinfo=zone)
        cursor = max(cursor, local)
        for begin, finish in busy:
            if finish <= cursor or begin >= close:
                continue
            if begin - cursor >= timedelta(minutes=minutes):
                slots.append((cursor, begin))
            cursor = max(cursor, finish)
        if close - cursor >= timedelta(minutes=minutes):
            slots.append((cursor, close))
    return slots


def _zone(context: ToolContext) -> ZoneInfo:
    try:
        return ZoneInfo(context.settings.text("timezone"))
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


class FreeBusyTool(Tool):
    """When is the owner free? Only times are shared, never what the meetings are."""

    name: ClassVar[str] = "free_busy"
    description: ClassVar[str] = "List the owner's free working-hour slots in the coming days."
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"days": {"type": "integer"}, "minutes": {"type": "integer"}},
    }

    def run(self, context: ToolContext, **arguments: Any) -> ToolResult:
        """Return free slots as text and data."""
        days = int(arguments.get("days") or 5)
        minutes = int(arguments.get("minutes") or 30)
        zone = _zone(context)
        owner = context.request.owner
        busy = busy_intervals(context, owner, context.now, context.now + timedelta(days=days + 1))
        slots = free_slots(busy, context.now, days, zone, minutes)
        lines = [f"{a:%a %d %b %H:%M}–{b:%H:%M}" for a, b in slots[:8]]
        text = "free: " + "; ".join(lines) if lines else "no free slot in working hours"
        return ToolResult(text, [], {"slots": [(a.isoformat(), b.isoformat()) for a, b in slots]})


class ProposeMeetingTool(Tool):
    """Propose a meeting: an invitation the gate may send or queue."""

    name: ClassVar[str] = "propose_meeting"
    description: ClassVar[str] = "Propose a meeting with attendees at a start time."
    side_effects: ClassVar[bool] = True
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "attendees": {"type": "array", "items": {"type": "string"}},
            "start": {"type": "string", "description": "ISO date-time"},
            "minutes": {"type": "integer"},
        },
        "required": ["title", "attendees"],
    }

    def run(self, context: ToolContext, **arguments: Any) -> ToolResult:
        """Return a proposal for the first free slot (or the given start)."""
        attendees = names(arguments.get("attendees"))
        minutes = int(arguments.get("minutes") or 30)
        if arguments.get("start"):
            start = datetime.fromisoformat(str(arguments["start"]))
        else:
            busy = busy_intervals(
                context, context.request.owner, context.now, context.now + timedelta(days=8)
            )
            slots = free_slots(busy, context.now + timedelta(hours=1), 7, _zone(context), minutes)
            start = slots[0][0] if slots else context.now + timedelta(days=1)
        payload = {
            "title": str(arguments.get("title") or "Meeting"),
            "attendees": attendees,
            "start": start.isoformat(),
            "minutes": minutes,
        }
        proposal = Proposal("schedule", "meeting", payload, tuple(attendees))
        return ToolResult(
            f"propose {payload['title']} at {start:%a %d %b %H:%M}", [], proposal=proposal
        )
