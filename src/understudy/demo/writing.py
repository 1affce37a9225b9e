"""How people put a message together: greeting, text, sign-off, quotes and forwards."""

from __future__ import annotations

from email.utils import format_datetime

from understudy.demo.company import Company
from understudy.demo.habits import Habits
from understudy.demo.story import Mail

__all__ = ["audience", "compose", "forward_block", "quote", "reply_subject"]


def audience(company: Company, sender: str, to: tuple[str, ...]) -> str:
    """Return how ``sender`` sees the people on To: up, peer, down, external or group."""
    if len(to) > 1:
        return "group"
    other = to[0]
    if not company.is_internal(other):
        return "external"
    me, them = company.employee(sender), company.employee(other)
    if me.manager == them.id or them.level < me.level:
        return "up"
    if them.manager == me.id or them.level > me.level:
        return "down"
    return "peer"


def _outside_voice(company: Company, sender: str, first: str, text: str) -> str:
    person = company.outsider(sender)
    if person.role not in ("board", "customer", "vendor", "recruiter", "counsel"):
        return text
    closing = f"Best,\n{person.first}\n\n{person.name}\n{person.title}, {person.organization}"
    return f"Hi {first},\n\n{text}\n\n{closing}"


def compose(
    company: Company, habits: dict[str, Habits], sender: str, to: tuple[str, ...], text: str
) -> str:
    """Return ``text`` with the sender's greeting and sign-off for these recipients."""
    first = company.first_name(to[0]) if to else ""
    if not company.is_internal(sender):
        return _outside_voice(company, sender, first, text)
    me = company.employee(sender)
    voice = habits[sender]
    kind = audience(company, sender, to) if to else "group"
    greeting = voice.greetings[kind].format(first=first)
    signoff = voice.signoffs[kind].format(
        first=me.first, name=me.name, initial=me.first[0], title=me.title
    )
    parts = [greeting, text, signoff] if greeting else [text, signoff]
    return "\n\n".join(parts)


def _when(mail: Mail) -> str:
    moment = mail.at
    hour = moment.strftime("%I").lstrip("0")
    return f"{moment:%a, %b} {moment.day}, {moment.year} at {hour}:{moment:%M %p}"


def quote(company: Company, mail: Mail) -> str:
    """Return the attribution line and the quoted body of ``mail``."""
    name, email = company.address(mail.sender)
    lines = [f"> {line}" if line else ">" for line in mail.body.splitlines()]
    return f"On {_when(mail)}, {name} <{email}> wrote:\n" + "\n".join(lines)


def forward_block(company: Company, mail: Mail) -> str:
    """Return the forwarded-message block that carries ``mail`` inside a forward."""
    name, email = company.address(mail.sender)
    to = ", ".join(f"{n} <{e}>" for n, e in (company.address(p) for p in mail.to))
    header = [
        "---------- Forwarded message ---------",
        f"From: {name} <{email}>",
        f"Date: {format_datetime(mail.at)}",
        f"Subject: {mail.subject}",
        f"To: {to}",
    ]
    if mail.cc:
        cc = ", ".join(f"{n} <{e}>" for n, e in (company.address(p) for p in mail.cc))
        header.append(f"Cc: {cc}")
    return "\n".join(header) + "\n\n" + mail.body


def reply_subject(subject: str, prefix: str = "Re") -> str:
    """Return the subject of a reply or forward, without stacking prefixes."""
    lowered = subject.lower()
    if lowered.startswith(f"{prefix.lower()}:"):
        return subject
    return f"{prefix}: {subject}"
