"""Suggested replies in the person's own words.

Without a language model the draft is the person's own best-fitting past
reply: the one they wrote to the most similar message (the same sender
first), adapted — greeting to the new recipient's first name, the person's
usual sign-off for that audience. With a model, the draft is written from the
nearest past replies and the style profile; ``Writer`` is the hook for that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from understudy.twin.style import AudienceStyle

__all__ = ["Writer", "adapt_reply"]

_SIGNOFF_LINE = re.compile(
    r"^(?:thanks|thank you|best|best regards|regards|kind regards|cheers|talk soon|sincerely)"
    r"\b[^\n]{0,20}$"
)
_GREETING_LINE = re.compile(
    r"^\s*(?:hi|hello|hey|dear|good (?:morning|afternoon|evening))\b[^\n]{0,40}\n", re.IGNORECASE
)


class Writer(Protocol):
    """A language model that can draft a reply (issue: the llm part)."""

    def draft_reply(
        self, incoming: str, examples: Sequence[tuple[str, str]], style: AudienceStyle, name: str
    ) -> str:
        """Return a draft answering ``incoming`` in the style of the examples."""
        ...


def _body_without_frame(text: str, style: AudienceStyle) -> str:
    """Return a past reply's body without its greeting, sign-off and signature block."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    while lines and not lines[0].strip():
        lines.pop(0)
    if lines and _is_greeting(lines[0], style):
        lines.pop(0)
    for index, line in enumerate(lines):
        if line.strip() == "--":
            lines = lines[:index]
            break
    heads = {s.splitlines()[0].strip().lower() for s in style.signoffs if s.strip()}
    for index in range(len(lines) - 1, max(-1, len(lines) - 6), -1):
        stripped = lines[index].strip().lower()
        if stripped and (stripped in heads or _SIGNOFF_LINE.match(stripped)):
            lines = lines[:index]
            break
    return "\n".join(lines).strip()


def _is_greeting(line: str, style: AudienceStyle) -> bool:
    short = len(line) < 40 and line.rstrip().endswith((",", ":", "—", "-"))
    return bool(_GREETING_LINE.match(line + "\n")) or bool(style.greeting and short)


def adapt_reply(past_reply: str, style: AudienceStyle, first_name: str) -> str:
    """Return a past reply re-framed for a new recipient in the person's usual way."""
    body = _body_without_frame(past_reply, style)
    parts: list[str] = []
    if style.greeting:
        parts.append(style.greeting.replace("{name}", first_name or "there"))
    parts.append(body)
    if style.signoff:
        parts.append(style.signoff)
    return "\n\n".join(p for p in parts if p)
