"""Each person's habits: drawn once from the seed, then applied for ten weeks.

Habits are what the twin should learn: when someone works, whom they answer
and how fast, what they ignore, delegate and file, which meetings they
decline, and how they open and close a message. ``truth.json`` is written
from these records.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

from understudy.demo.company import Company, Employee

__all__ = [
    "AUDIENCES",
    "SENDER_CLASSES",
    "Habits",
    "ReplyHabit",
    "draw_habits",
    "sender_class",
]

SENDER_CLASSES = (
    "vip",
    "manager",
    "report",
    "colleague",
    "board",
    "customer",
    "vendor",
    "automated",
)
AUDIENCES = ("up", "peer", "down", "external", "group")
IGNORED_ALWAYS = ("newsletter", "notification", "receipt", "invite-reply")


@dataclass(frozen=True, slots=True)
class ReplyHabit:
    """How likely and how fast a person answers one class of sender (working minutes)."""

    probability: float
    min_minutes: int
    max_minutes: int


@dataclass(frozen=True, slots=True)
class Habits:
    """The consistent behaviour of one person over the whole story."""

    person: str
    start_hour: int
    end_hour: int
    fast_senders: tuple[str, ...]
    replies: dict[str, ReplyHabit]
    ignores: tuple[str, ...]
    replies_when_cc: float
    delegates: dict[str, str]
    delegate_line: str
    filing: dict[str, str]
    files_projects: bool
    declines: tuple[str, ...]
    tentative_rate: float
    greetings: dict[str, str]
    signoffs: dict[str, str]
    chat_per_day: float

    def to_json(self) -> dict[str, Any]:
        """Return the habits as plain JSON data for ``truth.json``."""
        data = asdict(self)
        data["replies"] = {k: asdict(v) for k, v in self.replies.items()}
        data["latency_unit"] = "working minutes (the clock stops outside work hours)"
        return data


def sender_class(company: Company, habits: Habits, sender: str) -> str:
    """Return which of ``SENDER_CLASSES`` ``sender`` falls into for ``habits.person``."""
    if sender in habits.fast_senders:
        return "vip"
    if company.is_internal(sender):
        me = company.employee(habits.person)
        if me.manager == sender:
            return "manager"
        if company.employee(sender).manager == me.id:
            return "report"
        return "colleague"
    role = company.outsider(sender).role
    if role in ("board", "customer"):
        return role
    if role in ("vendor", "recruiter", "counsel"):
        return "vendor"
    return "automated"


_GREETINGS = {
    "up": ("Hi {first},", "{first},", "Hello {first},"),
    "peer": ("Hi {first},", "{first} —", "Hey {first},", ""),
    "down": ("Hi {first},", "{first} —", "", "Hey {first},"),
    "external": ("Hi {first},", "Dear {first},", "Hello {first},"),
    "group": ("Hi all,", "Team —", "All,", "Hi everyone,"),
}
_SIGNOFFS_FORMAL = (
    "Best,\n{first}",
    "Best regards,\n{name}",
    "Thanks,\n{first}",
    "Kind regards,\n{first}",
)
_SIGNOFFS_CASUAL = (
    "Thanks,\n{initial}.",
    "Cheers, {first}",
    "— {initial}",
    "{first}",
    "Thx,\n{first}",
)
_DELEGATE_LINES = (
    "Can you take this?",
    "Can you take this one? Thanks.",
    "Passing this to you — please handle and keep me posted.",
    "Over to you. Let me know if you need me.",
)
_DECLINE_RULES = ("before-10", "friday", "after-16")


def _hours(rng: random.Random, person: Employee) -> tuple[int, int]:
    if person.level == 0:
        return 8, 18
    start = rng.choice((7, 8, 8, 9) if person.level == 1 else (7, 8, 8, 9, 9, 10))
    return start, min(20, start + rng.choice((8, 9, 9, 10)))


def _replies(rng: random.Random, person: Employee) -> dict[str, ReplyHabit]:
    if person.level == 0:
        return {
            "vip": ReplyHabit(0.97, 5, 25),
            "manager": ReplyHabit(0.9, 30, 120),
            "report": ReplyHabit(0.85, 60, 240),
            "colleague": ReplyHabit(0.35, 480, 1440),
            "board": ReplyHabit(0.9, 30, 180),
            "customer": ReplyHabit(0.5, 240, 960),
            "vendor": ReplyHabit(0.0, 0, 0),
            "automated": ReplyHabit(0.0, 0, 0),
        }
    pace = rng.choice((0.5, 0.75, 1.0, 1.5, 2.0))
    return {
        "vip": ReplyHabit(0.95, 5, 30),
        "manager": ReplyHabit(0.92, int(15 * pace), int(90 * pace)),
        "report": ReplyHabit(0.85, int(45 * pace), int(240 * pace)),
        "colleague": ReplyHabit(round(rng.uniform(0.55, 0.8), 2), int(90 * pace), int(480 * pace)),
        "board": ReplyHabit(0.9, 20, 120),
        "customer": ReplyHabit(0.85, int(30 * pace), int(240 * pace)),
        "vendor": ReplyHabit(round(rng.uniform(0.0, 0.3), 2), 600, 2400),
        "automated": ReplyHabit(0.0, 0, 0),
    }


def _fast_senders(rng: random.Random, company: Company, person: Employee) -> tuple[str, ...]:
    if person.level == 0:
        return ("eleanor-vance", "priya-raman")
    peers = [p.id for p in company.people if p.level == person.level and p.id != person.id]
    if person.level == 1:
        return (company.ceo.id, rng.choice(peers))
    return (rng.choice(peers),)


_DELEGATION: dict[str, tuple[str, tuple[str, ...]]] = {
    "maya-okafor": ("complaint", ("tom-becker",)),
    "daniel-reyes": ("bug", ("jonas-weber",)),
    "priya-raman": ("invoice", ("nadia-haddad",)),
    "tom-becker": ("complaint", ("ryan-oneill", "sofia-rossi")),
    "grace-liu": ("candidate", ("emily-carter",)),
    "samuel-adeyemi": ("it-request", ("zoe-lindqvist", "marcus-johnson")),
    "jonas-weber": ("bug", ("aisha-khan", "mateo-alvarez", "ben-friedman")),
}


def _delegates(rng: random.Random, person: Employee) -> dict[str, str]:
    rule = _DELEGATION.get(person.id)
    if rule is None:
        return {}
    category, candidates = rule
    delegates = {category: rng.choice(candidates)}
    if person.level == 0:
        delegates["candidate"] = "grace-liu"
    return delegates


def _filing(rng: random.Random) -> dict[str, str]:
    return {
        "newsletter": rng.choice(("Newsletters", "Newsletters", "Trash", "")),
        "notification": rng.choice(("Notifications", "Trash", "")),
        "receipt": rng.choice(("Receipts", "Receipts", "Finance.Receipts")),
        "pitch": rng.choice(("Trash", "Trash", "")),
        "invite": rng.choice(("", "Trash", "Calendar")),
        "invite-reply": rng.choice(("Trash", "", "Calendar")),
    }


def _declines(rng: random.Random, company: Company, person: Employee) -> tuple[str, ...]:
    if person.level == 0:
        return ("friday-afternoon",)
    rules = [r for r in _DECLINE_RULES if rng.random() < 0.35]
    if person.level == 1:
        rules = [r for r in rules if r != "before-10"]
    if rng.random() < 0.3:
        other = [t.id for t in company.teams if t.id not in (*person.groups, "leadership", "exec")]
        rules.append(f"organizer:{rng.choice(other)}")
    return tuple(rules) or ("outside-hours",)


def _voice(rng: random.Random, person: Employee) -> tuple[dict[str, str], dict[str, str]]:
    greetings = {aud: rng.choice(options) for aud, options in _GREETINGS.items()}
    formal = rng.choice(_SIGNOFFS_FORMAL)
    casual = rng.choice((*_SIGNOFFS_CASUAL, formal))
    signoffs = {
        "up": formal,
        "peer": casual,
        "down": rng.choice((casual, formal)),
        "external": formal + "\n\n--\n{name}\n{title}, Halcyon Labs",
        "group": casual,
    }
    return greetings, signoffs


def _draw_one(rng: random.Random, company: Company, person: Employee) -> Habits:
    start, end = _hours(rng, person)
    greetings, signoffs = _voice(rng, person)
    ignores = ["newsletter", "notification", "receipt", "pitch", "invite-reply"]
    if person.level > 0 and rng.random() < 0.3:
        ignores.remove("pitch")
    return Habits(
        person=person.id,
        start_hour=start,
        end_hour=end,
        fast_senders=_fast_senders(rng, company, person),
        replies=_replies(rng, person),
        ignores=tuple(ignores),
        replies_when_cc=round(rng.choice((0.0, 0.0, 0.05, 0.15)), 2),
        delegates=_delegates(rng, person),
        delegate_line=rng.choice(_DELEGATE_LINES),
        filing=_filing(rng),
        files_projects=rng.random() < 0.6 or person.level == 0,
        declines=_declines(rng, company, person),
        tentative_rate=round(rng.uniform(0.05, 0.2), 2),
        greetings=greetings,
        signoffs=signoffs,
        chat_per_day=round(
            rng.uniform(0.5, 1.5) if person.level == 2 else rng.uniform(0.2, 0.8), 2
        ),
    )


def draw_habits(company: Company, seed: int) -> dict[str, Habits]:
    """Return the habits of every employee, drawn from ``seed``."""
    return {
        person.id: _draw_one(random.Random(f"{seed}:habits:{person.id}"), company, person)
        for person in company.people
    }
