"""What waits for the owner: their recent unanswered mail, summarized with citations.

The list is the desk's (received in the last week, no later message of the
owner's in the thread, automated senders left out, ranked by how often the
owner answers the sender, urgency, direct address and questions). The
summary is built from the items themselves — title, sender, time, why it
ranks, and the opening words quoted — so it needs no language model, and
says nothing an item did not. Only the owner may ask: it is their mail.
"""

from __future__ import annotations

import re
from datetime import tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from understudy.agent.requests import Intent, Request
from understudy.agent.response import Response
from understudy.agent.tools import ToolContext
from understudy.records import Item
from understudy.store import Store

if TYPE_CHECKING:
    from understudy.agent.understudy import Understudy

__all__ = ["SHOWN", "summarize_inbox"]

SHOWN = 10
DAYS = 7
_QUOTED = re.compile(r"^\s*(>|on .{4,80} wrote:|-{2,}\s*original message)", re.I)


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _sender(store: Store, item: Item) -> str:
    """Return who sent an item: a colleague by name, anyone else by address."""
    person = store.get_person(item.author) if item.author else None
    if person is not None and not person.external:
        return person.name
    return str(item.metadata.get("from") or item.author or "an unknown sender")


def opening(body: str, limit: int = 90) -> str:
    """Return the first words the sender wrote (no greeting line, no quoted mail)."""
    lines = []
    for line in body.splitlines():
        if _QUOTED.match(line):
            break
        if line.strip():
            lines.append(line.strip())
    words = " ".join(lines[1:] if len(lines) > 1 and len(lines[0]) < 25 else lines)
    return words if len(words) <= limit else words[: limit - 1].rsplit(" ", 1)[0] + "…"


def summarize_inbox(
    u: Understudy, request: Request, intent: Intent, context: ToolContext
) -> Response:
    """Answer the owner with what waits for them, each message cited; decline anyone else."""
    if not request.from_owner:
        body = f"Only {u.owner_name} can ask what waits in their mail."
        return u.response(request, intent, body, status="declined")
    from understudy.desk import build_overview

    zone = _zone(u.settings.text("timezone"))
    waiting = build_overview(u.store, u.owner, context.now, zone, DAYS).waiting
    if not waiting:
        body = f"Nothing waits for you: every message of the last {DAYS} days has an answer."
        return u.response(request, intent, body, data={"waiting": 0})
    shown = waiting[:SHOWN]
    lines = [f"{len(waiting)} messages of the last {DAYS} days wait for your answer:"]
    citations = []
    for n, entry in enumerate(shown, start=1):
        item = entry.item
        when = item.timestamp.astimezone(zone).strftime("%a %d %b %H:%M")
        why = f" ({'; '.join(entry.reasons)})" if entry.reasons else ""
        quoted = opening(item.body)
        lines.append(
            f"[{n}] {item.title or '(no subject)'} — from {_sender(u.store, item)}, {when}{why}"
            + (f': "{quoted}"' if quoted else "")
        )
        citations.append({"n": n, "item": item.id, "title": item.title, "kind": item.kind})
    if len(waiting) > len(shown):
        lines.append(f"… and {len(waiting) - len(shown)} more.")
    items = [i.item.id for i in shown if i.item.id is not None]
    context.note_read(items)
    return u.response(
        request,
        intent,
        "\n".join(lines),
        citations=citations,
        items=items,
        data={"waiting": len(waiting)},
    )
