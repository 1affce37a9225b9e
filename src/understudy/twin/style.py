"""How a person writes, for each audience: greetings, sign-offs, length, formality, phrases.

Audiences come from the directory: the person's manager is their *boss*,
people who report to them are *reports*, other people inside the
organization are *peers*, and everyone else is *external*. A draft written
for someone takes the habits the person has with that audience.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from understudy.records import Person

__all__ = ["AUDIENCES", "Audience", "StyleProfile", "audience_of", "build_style"]

AUDIENCES = ("boss", "peer", "report", "external")
Audience = str

_GREETING = re.compile(
    r"^\s*((?:hi|hello|hey|dear|good (?:morning|afternoon|evening))\b[^\n,:!-]{0,40}[,:!-]?|"
    r"[A-Z][a-z]+\s*(?:[,:]|\s[-–—]))\s*$",
    re.IGNORECASE,
)
_SIGNOFF = re.compile(
    r"^\s*(thanks|thank you|thx|best|best regards|regards|kind regards|cheers|talk soon|"
    r"sincerely|warmly|many thanks|all the best|-+\s*\w+|—\s*\w+)\b.*$",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z']+")
_CONTRACTION = re.compile(r"\b\w+'(?:s|re|ll|ve|d|t|m)\b", re.IGNORECASE)


@dataclass(slots=True)
class AudienceStyle:
    """The habits of a person with one audience."""

    messages: int = 0
    greetings: dict[str, int] = field(default_factory=dict)
    signoffs: dict[str, int] = field(default_factory=dict)
    words_p25: float = 0.0
    words_median: float = 0.0
    words_p75: float = 0.0
    formality: float = 0.5
    phrases: list[str] = field(default_factory=list)

    @property
    def greeting(self) -> str | None:
        """Return the usual greeting pattern (with ``{name}`` for the first name)."""
        return max(self.greetings, key=lambda g: self.greetings[g]) if self.greetings else None

    @property
    def signoff(self) -> str | None:
        """Return the usual sign-off."""
        return max(self.signoffs, key=lambda s: self.signoffs[s]) if self.signoffs else None


@dataclass(slots=True)
class StyleProfile:
    """A person's writing habits by audience, and over all their mail."""

    person: str
    audiences: dict[str, AudienceStyle] = field(default_factory=dict)
    overall: AudienceStyle = field(default_factory=AudienceStyle)

    def for_audience(self, audience: Audience) -> AudienceStyle:
        """Return the habits with an audience, falling back to the overall ones."""
        found = self.audiences.get(audience)
        return found if found is not None and found.messages >= 3 else self.overall

    def as_dict(self) -> dict[str, object]:
        """Return the profile as plain data."""

        def one(style: AudienceStyle) -> dict[str, object]:
            return {
                "messages": style.messages,
                "greeting": style.greeting,
                "signoff": style.signoff,
                "greetings": style.greetings,
                "signoffs": style.signoffs,
                "words": {
                    "p25": style.words_p25,
                    "median": style.words_median,
                    "p75": style.words_p75,
                },
                "formality": round(style.formality, 3),
                "phrases": style.phrases,
            }

        return {
            "person": self.person,
            "overall": one(self.overall),
            "audiences": {name: one(style) for name, style in self.audiences.items()},
        }


def audience_of(person: Person | None, other: Person | None, domains: Iterable[str]) -> Audience:
    """Return which audience ``other`` is for ``person``."""
    if other is None or person is None:
        return "external"
    if person.manager and other.id == person.manager:
        return "boss"
    if other.manager == person.id:
        return "report"
    email_domains = {e.rsplit("@", 1)[-1].lower() for e in other.emails}
    if other.external or not (email_domains & set(domains)):
        return "external"
    return "peer"


def _greeting(text: str, names: Sequence[str]) -> str | None:
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not _GREETING.match(first) or len(first) > 50:
        return None
    pattern = first.strip()
    for name in names:
        if name and name.lower() in pattern.lower():
            pattern = re.sub(re.escape(name), "{name}", pattern, flags=re.IGNORECASE)
    return pattern


def _signoff(text: str) -> str | None:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for index in range(max(0, len(lines) - 3), len(lines)):
        if _SIGNOFF.match(lines[index]) and len(lines[index]) <= 30:
            return "\n".join(lines[index:])[:60]
    return None


def _formality(texts: Sequence[str]) -> float:
    if not texts:
        return 0.5
    casual = 0.0
    for text in texts:
        words = max(1, len(_WORD.findall(text.lower())))
        casual += min(1.0, (len(_CONTRACTION.findall(text)) + text.count("!")) * 10 / words)
    return 1.0 - casual / len(texts)


def _phrases(texts: Sequence[str], top: int = 8) -> list[str]:
    counts: Counter[str] = Counter()
    for text in texts:
        words = _WORD.findall(text.lower())
        counts.update({" ".join(words[i : i + 3]) for i in range(len(words) - 2)})
    return [phrase for phrase, n in counts.most_common(top * 3) if n >= 3][:top]


def _style(samples: Sequence[tuple[str, Sequence[str]]]) -> AudienceStyle:
    texts = [text for text, _ in samples]
    greetings = Counter(g for text, names in samples if (g := _greeting(text, names)))
    signoffs = Counter(s for text in texts if (s := _signoff(text)))
    lengths = sorted(len(_WORD.findall(text.lower())) for text in texts) or [0]
    quartiles = statistics.quantiles(lengths, n=4) if len(lengths) >= 2 else [lengths[0]] * 3
    return AudienceStyle(
        messages=len(texts),
        greetings=dict(greetings.most_common(5)),
        signoffs=dict(signoffs.most_common(5)),
        words_p25=float(quartiles[0]),
        words_median=float(statistics.median(lengths)),
        words_p75=float(quartiles[2]),
        formality=_formality(texts),
        phrases=_phrases(texts),
    )


def build_style(
    person: str, samples: Sequence[tuple[Audience, str, Sequence[str]]]
) -> StyleProfile:
    """Return the profile from (audience, own text, recipient names) of sent messages."""
    profile = StyleProfile(person=person, overall=_style([(t, n) for _, t, n in samples]))
    for audience in AUDIENCES:
        chosen = [(t, n) for a, t, n in samples if a == audience]
        if chosen:
            profile.audiences[audience] = _style(chosen)
    return profile
