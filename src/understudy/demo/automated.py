"""Mail from machines: newsletters, tracker notifications, alerts and receipts.

Nobody answers these; habits decide only where each person files them.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from understudy.demo.clock import is_workday
from understudy.demo.outside import newsletter_text, receipt_text
from understudy.demo.story import Mail, Task, Timeline

__all__ = ["run_automated"]

_LETTERS = {
    "morning-ledger": (1, 6, 30),
    "saas-weekly": (3, 7, 15),
    "eng-digest": (4, 11, 0),
    "people-ops-weekly": (2, 9, 45),
}
_INTERESTS = {
    "exec": ("morning-ledger", "saas-weekly"),
    "finance": ("morning-ledger",),
    "sales": ("saas-weekly",),
    "engineering": ("eng-digest",),
    "product": ("saas-weekly", "eng-digest"),
    "hr": ("people-ops-weekly",),
    "ops": ("morning-ledger",),
}


def _subscribers(tl: Timeline, rng: random.Random) -> dict[str, list[str]]:
    readers: dict[str, list[str]] = {letter: [] for letter in _LETTERS}
    for person in tl.company.people:
        choices = sorted({n for g in person.groups for n in _INTERESTS.get(g, ())})
        for letter in choices:
            if rng.random() < 0.55:
                readers[letter].append(person.id)
    return readers


def _newsletters(tl: Timeline, rng: random.Random) -> None:
    for letter, readers in _subscribers(tl, rng).items():
        weekday, hour, minute = _LETTERS[letter]
        issue = 100 + rng.randrange(200)
        for monday in tl.clock.weeks():
            day = monday + timedelta(days=weekday)
            at = tl.clock.at(day, hour, minute)
            if not tl.clock.start <= at < tl.clock.end:
                continue
            issue += 1
            subject, plain, html = newsletter_text(rng, letter, issue)
            for reader in readers:
                tl.add(
                    Mail(
                        tl.message_id(at, letter),
                        letter,
                        (reader,),
                        (),
                        subject,
                        plain,
                        at,
                        "newsletter",
                        html=html,
                    )
                )


def _tracker_mail(tl: Timeline, task: Task, at: datetime, to: str, what: str) -> None:
    subject = f"[Tracker] ({task.key}) {task.summary}"
    url = f"https://tracker.halcyon.example/browse/{task.key}"
    body = (
        f"{what}\n\n{task.key}: {task.summary}\n"
        f"Project: {tl.company.project(task.project).name}\n\n"
        f"View the issue: {url}\n\n"
        "You are receiving this because you are watching this issue."
    )
    tl.add(
        Mail(
            tl.message_id(at, "tracker"),
            "tracker",
            (to,),
            (),
            subject,
            body,
            at,
            "notification",
            project=task.project,
        )
    )


def _notifications(tl: Timeline) -> None:
    for task in tl.tasks:
        name = tl.company.employee(task.reporter).name
        if tl.clock.start <= task.created < tl.clock.end and task.assignee != task.reporter:
            first = (
                task.changes[0].before
                if task.changes and task.changes[0].field == "Assignee"
                else task.assignee
            )
            _tracker_mail(
                tl,
                task,
                task.created + timedelta(seconds=40),
                first,
                f"{name} assigned {task.key} to you.",
            )
        for change in task.changes:
            if change.field == "Assignee" and tl.clock.start <= change.at < tl.clock.end:
                who = tl.company.employee(change.who).name
                _tracker_mail(
                    tl,
                    task,
                    change.at + timedelta(seconds=40),
                    change.after,
                    f"{who} assigned {task.key} to you.",
                )
            elif (
                change.after in ("Done", "Approved", "Rejected", "Blocked")
                and change.who != task.reporter
            ):
                who = tl.company.employee(change.who).name
                if tl.clock.start <= change.at < tl.clock.end:
                    _tracker_mail(
                        tl,
                        task,
                        change.at + timedelta(seconds=40),
                        task.reporter,
                        f"{who} changed the status of {task.key} to {change.after}.",
                    )


def _alerts(tl: Timeline, rng: random.Random) -> None:
    services = ("api-gateway", "ingest-worker", "billing-sync", "portal-web")
    for day in rng.sample(tl.clock.days(), 16):
        at = tl.clock.at(day, rng.randrange(0, 24), rng.randrange(60))
        service = rng.choice(services)
        value = rng.randrange(820, 2400)
        subject = f"[ALERT] {service}: p95 latency {value} ms above 800 ms threshold"
        body = (
            f"Alert triggered at {at:%Y-%m-%d %H:%M %Z}\nService: {service}\n"
            f"Condition: p95 latency > 800 ms for 5 minutes\nCurrent value: {value} ms\n\n"
            f"Acknowledge: https://pagerline.example/incidents/{rng.randrange(10**5, 10**6)}"
        )
        tl.add(
            Mail(
                tl.message_id(at, "pagerline"),
                "pagerline",
                ("lena-park",),
                ("jonas-weber",),
                subject,
                body,
                at,
                "notification",
                project="atlas",
            )
        )


def _receipts(tl: Timeline, rng: random.Random) -> None:
    travellers = [p.id for p in tl.company.people if p.level <= 1 or "sales" in p.groups]
    for day in [d for d in tl.clock.days() if is_workday(d)]:
        if rng.random() >= 0.55:
            continue
        person = rng.choice(travellers)
        sender = rng.choice(("expenseflow", "expenseflow", "skyways"))
        at = tl.clock.moment_in(rng, day, 6, 22)
        subject, body = receipt_text(rng, sender, tl.company.employee(person).first)
        tl.add(Mail(tl.message_id(at, sender), sender, (person,), (), subject, body, at, "receipt"))


def run_automated(tl: Timeline) -> None:
    """Add newsletters, tracker notifications, monitoring alerts and receipts."""
    rng = tl.rng("automated")
    _newsletters(tl, rng)
    _notifications(tl)
    _alerts(tl, rng)
    _receipts(tl, rng)
