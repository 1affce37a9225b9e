"""Everyday mail traffic: who starts which conversation on which working day.

Internal openers follow each person's working hours; outside mail (customers,
the board, vendors, recruiters, counsel) arrives on its own schedule.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from understudy.demo.company import Venture
from understudy.demo.conversations import Conversations, Thread
from understudy.demo.figures import CUSTOMERS, PRODUCTS
from understudy.demo.office import invoice_pdf, redline_docx
from understudy.demo.outside import external_topics
from understudy.demo.story import MailPart, Timeline
from understudy.demo.texts import Topic, topics_for

__all__ = ["ACCOUNTS", "build_slots", "run_inbound", "run_internal"]

ACCOUNTS = {
    "kate-morrison": "sofia-rossi",
    "luis-fernandez": "ryan-oneill",
    "hiroshi-sato": "sofia-rossi",
    "anna-kowalski": "ryan-oneill",
}
_METRICS = (
    "p95 latency",
    "ingestion throughput",
    "error rate",
    "weekly active accounts",
    "cost per tenant",
)
_ROLES = (
    "Senior Backend Engineer",
    "Site Reliability Engineer",
    "Account Executive",
    "Data Engineer",
)
_VENDORS = ("Nimbus Cloud", "DataPeak", "Paylane", "Keyfort Identity")
_RATES = {0: 0.4, 1: 0.45, 2: 0.25}


def _future(at: datetime, rng: random.Random, low: int, high: int) -> date:
    day = at.date() + timedelta(days=rng.randrange(low, high))
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def build_slots(
    tl: Timeline, rng: random.Random, sender: str, at: datetime, project: Venture
) -> dict[str, str]:
    """Return the values that fill a topic's slots for one thread."""
    tasks = tl.tasks_of(project.id)
    others = [tl.company.employee(m).first for m in project.members if m != sender]
    customer = rng.choice(CUSTOMERS)
    planned, spent = tl.figures.project_budget(project.id)
    due = _future(at, rng, 5, 25)
    return {
        "region": rng.choice(("the Midwest", "EMEA", "the Northeast", "Texas")),
        "spent": f"${spent:,}",
        "budget_pct": f"{round(100 * spent / planned) if planned else 0}%",
        "project": project.name,
        "project_title": project.title,
        "ticket": rng.choice(tasks).key if tasks else f"{project.key}-1",
        "customer": customer,
        "amount": f"${rng.randrange(12, 480) * 1000:,}",
        "amount2": f"${rng.randrange(8, 160) * 1000:,}",
        "pct": f"{rng.randrange(4, 22)}%",
        "date": f"{due:%A, %B} {due.day}",
        "weekday": f"{_future(at, rng, 1, 4):%A}",
        "count": str(rng.randrange(2, 9)),
        "person": rng.choice(others) if others else "the team",
        "quarter": f"Q{(at.month - 1) // 3 + 1}",
        "metric": rng.choice(_METRICS),
        "vendor": rng.choice(_VENDORS),
        "role": rng.choice(_ROLES),
        "product": rng.choice(PRODUCTS[:2]),
        "month": f"{(at.replace(day=1) - timedelta(days=1)):%B}",
        "invoice": f"INV-{rng.randrange(10000, 99999)}",
        "vendor_org": "DataPeak Analytics",
        "first_sender": tl.company.first_name(sender),
    }


def _audience(tl: Timeline, rng: random.Random, sender: str) -> str:
    person = tl.company.employee(sender)
    weights = {
        0: {"exec": 0.6, "down": 0.25, "fyi": 0.15},
        1: {"exec": 0.35, "down": 0.25, "project": 0.25, "fyi": 0.1, "up": 0.05},
        2: {"project": 0.5, "up": 0.3, "it": 0.1, "fyi": 0.04},
    }[person.level]
    if "sales" in person.groups:
        weights["customer-out"] = 0.3
    if "ops" in person.groups:
        weights.pop("it", None)
    names = sorted(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


def _recipients(
    tl: Timeline, rng: random.Random, sender: str, kind: str, project: Venture, topic: Topic
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    company = tl.company
    me = company.employee(sender)
    execs = [p.id for p in company.people if p.level <= 1 and p.id != sender]
    if kind == "up" and me.manager:
        return (me.manager,), ()
    if kind == "down" and company.reports(sender):
        return (rng.choice(company.reports(sender)),), ()
    if kind == "exec":
        asked = [a for a in topic.asks if a != sender]
        to = asked[0] if asked and rng.random() < 0.8 else rng.choice(execs)
        rest = [e for e in execs if e != to]
        return (to,), tuple(rng.sample(rest, 1)) if rng.random() < 0.5 else ()
    if kind == "it":
        return (rng.choice(("samuel-adeyemi", "zoe-lindqvist", "zoe-lindqvist")),), ()
    if kind == "customer-out":
        accounts = [c for c, rep in ACCOUNTS.items() if rep == sender] or sorted(ACCOUNTS)
        return (rng.choice(accounts),), ()
    members = [m for m in project.members if m != sender]
    if kind == "fyi":
        team = sorted(set(members) | set(company.in_group(me.groups[0])) - {sender})
        picked = rng.sample(team, min(len(team), rng.randrange(3, 6)))
        return (picked[0],), tuple(picked[1:])
    picked = rng.sample(members, min(len(members), rng.choice((1, 2, 2, 3))))
    return (picked[0],), tuple(picked[1:])


def _topic(tl: Timeline, rng: random.Random, sender: str, kind: str, project: str) -> Topic:
    if kind == "customer-out":
        return external_topics("customer-out")[0]
    options = tuple(t for t in topics_for(kind) if t.suits(project))
    if kind == "fyi":
        office = "ops" in tl.company.employee(sender).groups
        options = tuple(t for t in options if (t.key == "fyi-office") == office)
    return rng.choice(options)


def _kind_for(tl: Timeline, rng: random.Random, sender: str) -> str:
    kind = _audience(tl, rng, sender)
    me = tl.company.employee(sender)
    if kind in ("project", "fyi") and not tl.company.projects_of(sender):
        return "up" if me.manager else "exec"
    if kind == "up" and not me.manager:
        return "exec"
    if kind == "down" and not tl.company.reports(sender):
        return "project" if tl.company.projects_of(sender) else "up"
    return kind


def run_internal(tl: Timeline, conversations: Conversations) -> None:
    """Start the everyday threads that employees write to each other and to customers."""
    rng = tl.rng("traffic:internal")
    for day in tl.clock.workdays():
        for person in tl.company.people:
            if rng.random() >= _RATES[person.level]:
                continue
            habits = tl.habits[person.id]
            at = tl.clock.moment_in(rng, day, habits.start_hour, habits.end_hour)
            if at >= tl.clock.end:
                continue
            kind = _kind_for(tl, rng, person.id)
            projects = tl.company.projects_of(person.id) or tl.company.projects
            project = rng.choice(projects)
            topic = _topic(tl, rng, person.id, kind, project.id)
            to, cc = _recipients(tl, rng, person.id, kind, project, topic)
            slots = build_slots(tl, rng, person.id, at, project)
            tagged = project.id if kind in ("project", "fyi") else None
            conversations.open(Thread(topic, slots, tagged), person.id, to, cc, at)


_Arrival = tuple[date, str, str, tuple[str, ...], tuple[str, ...]]


def _daily_arrivals(tl: Timeline, rng: random.Random, days: list[date]) -> list[_Arrival]:
    plan: list[_Arrival] = []
    people = [p.id for p in tl.company.people]
    for day in days:
        if rng.random() < 0.45:
            customer = rng.choice(sorted(ACCOUNTS))
            cc = ("kenji-tanaka",) if rng.random() < 0.3 else ()
            plan.append((day, "customer-in", customer, (ACCOUNTS[customer],), cc))
        if rng.random() < 0.35:
            pitcher = rng.choice(("tessa-moran", "victor-hale"))
            plan.append((day, "pitch", pitcher, (rng.choice(people),), ()))
    for vendor, first in (("derek-lowe", 2), ("rachel-stein", 6)):
        billed = {(d.year, d.month): d for d in reversed(days) if d.day >= first}
        plan += [(day, "invoice", vendor, ("priya-raman",), ()) for day in billed.values()]
    return plan


def _occasional_arrivals(rng: random.Random, days: list[date]) -> list[_Arrival]:
    plan: list[_Arrival] = []
    customers = sorted(ACCOUNTS)
    for n, day in enumerate(rng.sample(days, 5)):
        boss = "maya-okafor" if n < 2 else "tom-becker"
        plan.append((day, "complaint", rng.choice(customers), (boss,), ()))
    for n, day in enumerate(rng.sample(days, 6)):
        reporter = "kenji-tanaka" if n % 3 == 0 else rng.choice(customers)
        plan.append((day, "bug", reporter, ("daniel-reyes",), ()))
    for n, day in enumerate(rng.sample(days, 6)):
        board = ("eleanor-vance", "robert-chen", "amara-osei")[n % 3]
        cc = ("priya-raman",) if n % 2 == 0 else ()
        plan.append((day, "board", board, ("maya-okafor",), cc))
    for n, day in enumerate(rng.sample(days, 6)):
        plan.append(
            (day, "candidate", "victor-hale", ("grace-liu" if n % 3 else "maya-okafor",), ())
        )
    for day in rng.sample(days, 3):
        plan.append((day, "counsel", "rachel-stein", ("priya-raman",), ("maya-okafor",)))
    return plan


def _inbound_plan(tl: Timeline, rng: random.Random) -> list[_Arrival]:
    days = tl.clock.workdays()[:-2]
    return sorted(_daily_arrivals(tl, rng, days) + _occasional_arrivals(rng, days))


def _attachments(
    tl: Timeline, rng: random.Random, kind: str, slots: dict[str, str], sender: str, day: date
) -> tuple[MailPart, ...]:
    if kind == "invoice":
        org = tl.company.outsider(sender).organization
        data = invoice_pdf(org, slots["invoice"], slots["amount"], day, tl.clock.zone)
        return (MailPart(f"{slots['invoice']}.pdf", "application/pdf", data),)
    if kind == "counsel":
        data = redline_docx(slots["vendor"], tl.clock.at(day, 9))
        mime = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        return (MailPart("msa-redlines.docx", mime, data),)
    return ()


def run_inbound(tl: Timeline, conversations: Conversations) -> None:
    """Deliver the outside world's mail: customers, complaints, bugs, board, vendors."""
    rng = tl.rng("traffic:inbound")
    for day, kind, sender, to, cc in _inbound_plan(tl, rng):
        hours = (8, 18)
        if tl.company.is_internal(sender):
            hours = (tl.habits[sender].start_hour, tl.habits[sender].end_hour)
        at = tl.clock.moment_in(rng, day, *hours)
        audience = "bug" if kind == "bug" else kind
        options = external_topics(
            {"board": "board", "customer-in": "customer-in"}.get(kind, audience)
        )
        topic = rng.choice(options)
        project = tl.company.project(
            "atlas" if kind == "bug" else rng.choice(("beacon", "delta", "cobalt"))
        )
        slots = build_slots(tl, rng, sender, at, project)
        if not tl.company.is_internal(sender):
            slots["customer"] = tl.company.outsider(sender).organization
        parts = _attachments(tl, rng, kind, slots, sender, day)
        tagged = "atlas" if kind == "bug" else None
        conversations.open(Thread(topic, slots, tagged), sender, to, cc, at, parts)
