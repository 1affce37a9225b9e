"""What an understudy says back: always as the understudy of its owner, with sources."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from understudy.agent.requests import Intent

__all__ = ["Response"]


@dataclass
class Response:
    """One answer to one request."""

    owner: str
    owner_name: str
    asker: str
    intent: Intent
    body: str
    status: str = "answered"  # answered | declined | queued | nothing | blocked
    citations: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    items: list[int] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def speaker(self) -> str:
        """Return who speaks: the understudy, never the owner."""
        return f"the understudy of {self.owner_name}"

    @property
    def text(self) -> str:
        """Return the answer as the understudy says it."""
        return f"The understudy of {self.owner_name}: {self.body}"

    def as_dict(self) -> dict[str, Any]:
        """Return the response as plain data."""
        return {
            "from": self.speaker,
            "owner": self.owner,
            "asker": self.asker,
            "intent": self.intent.value,
            "status": self.status,
            "text": self.text,
            "citations": self.citations,
            "actions": self.actions,
            "items": self.items,
            "data": {k: v for k, v in self.data.items() if isinstance(v, str | int | float | list)},
        }
