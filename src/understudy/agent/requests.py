"""What is being asked, by whom, and of whose understudy.

A request comes from the owner, from a colleague, or from a colleague's
understudy acting for its owner. Its intent is recognized from the
requester's own words — never from the content of items, which is data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["Intent", "Origin", "Request", "asks_to_forward", "recognize_intent"]


class Origin(StrEnum):
    """Who is asking."""

    OWNER = "owner"
    COLLEAGUE = "colleague"
    AGENT = "agent"


class Intent(StrEnum):
    """What is being asked for."""

    QUESTION = "question"
    STATUS = "status"
    AVAILABILITY = "availability"
    DRAFT = "draft"
    ACTION = "action"
    INBOX = "inbox"


@dataclass(frozen=True, slots=True)
class Request:
    """One request to an understudy.

    ``asker`` is the person asking (for an agent, the other understudy's
    owner); ``owner`` is whose understudy answers.
    """

    owner: str
    asker: str
    text: str
    origin: Origin = Origin.OWNER
    item_id: int | None = None
    project: str | None = None
    via: str | None = None
    context: dict[str, object] = field(default_factory=dict)

    @property
    def from_owner(self) -> bool:
        """Return whether the owner is asking their own understudy."""
        return self.asker == self.owner and self.origin == Origin.OWNER


_RULES: tuple[tuple[Intent, re.Pattern[str]], ...] = (
    (
        Intent.DRAFT,
        re.compile(
            r"\b(draft|write|compose|prepare)\b.{0,40}\b(reply|response|answer|email|note)\b", re.I
        ),
    ),
    (
        Intent.AVAILABILITY,
        re.compile(
            r"\b(free|available|availability|busy|calendar|find (?:a )?time|"
            r"when can (?:we|you|i) meet|slot|schedule (?:a )?(?:call|meeting))\b",
            re.I,
        ),
    ),
    (
        Intent.ACTION,
        re.compile(
            r"^\s*(?:please\s+)?(send|forward|reply to|email|schedule|book|invite|create|add|"
            r"remind|share|set up|cancel|move)\b",
            re.I,
        ),
    ),
    (
        Intent.INBOX,
        re.compile(
            r"\b(?:summari[sz]e|summary of|go through|triage|catch me up on)\b.{0,20}"
            r"\b(?:inbox|my (?:new |unread )?(?:mail|e-?mails?|messages))\b|"
            r"\bwhat(?:'s| is| are)? (?:waiting|pending) (?:for|on) me\b|"
            r"\bwhat (?:needs|awaits) (?:me|my (?:attention|answer|reply))\b|"
            r"\bwhat (?:do i|should i) (?:need to )?(?:answer|reply to|respond to)\b|"
            r"\bwho (?:is|am i keeping) waiting\b",
            re.I,
        ),
    ),
    (
        Intent.STATUS,
        re.compile(
            r"\b(status|progress|update on|how is .{1,40} going|on track|slipping|behind|at risk|"
            r"what changed|latest on)\b",
            re.I,
        ),
    ),
)


def recognize_intent(text: str) -> Intent:
    """Return the intent of a request from its words; a question when nothing else fits."""
    for intent, pattern in _RULES:
        if pattern.search(text):
            return intent
    return Intent.QUESTION


_FORWARD = re.compile(r"\b(forward|fwd)\b", re.I)


def asks_to_forward(text: str) -> bool:
    """Return whether the requester's own words ask for something to be forwarded."""
    return bool(_FORWARD.search(text))
