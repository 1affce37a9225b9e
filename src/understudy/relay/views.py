"""Plain-data views of what the HTTP API, A2A and MCP send back: overviews, results, actions."""

from __future__ import annotations

from typing import Any

from understudy.desk import Overview
from understudy.records import Action

__all__ = ["action_view", "overview_view", "result_view"]


def overview_view(overview: Overview) -> dict[str, Any]:
    """Return the owner's overview: waiting messages, today's meetings, project changes."""
    return {
        "person": overview.person,
        "now": overview.now.isoformat(),
        "waiting": [
            {
                "item": w.item.id,
                "subject": w.item.title,
                "from": w.item.author,
                "received": w.item.timestamp.isoformat(),
                "score": w.score,
                "why": list(w.reasons),
            }
            for w in overview.waiting
        ],
        "meetings": [
            {
                "item": m.item.id,
                "title": m.item.title,
                "start": m.start.isoformat(),
                "response": m.response,
            }
            for m in overview.meetings
        ],
        "projects": [pulse.as_dict() for pulse in overview.projects],
    }


def result_view(rank: int, result: Any) -> dict[str, Any]:
    """Return one search result: the item, its best snippet and why it matched."""
    item = result.item
    return {
        "rank": rank,
        "item": item.id,
        "kind": item.kind,
        "title": item.title,
        "project": item.project,
        "when": item.timestamp.isoformat(),
        "snippet": result.snippet,
        "why": list(result.why),
    }


def action_view(action: Action) -> dict[str, Any]:
    """Return an action waiting for (or past) the owner's decision."""
    return {
        "id": action.id,
        "owner": action.owner,
        "kind": action.kind,
        "state": action.state,
        "requested_by": action.requested_by,
        "approved_by": action.approved_by,
        "result": action.result,
        "created": action.created_at.isoformat(),
        "payload": action.payload,
    }
