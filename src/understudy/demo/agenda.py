"""Who meets when: the standing series, the one-off meetings, and the CEO's today.

On ``today`` the CEO has exec staff at 09:00, the Atlas launch review at
11:00, a 1:1 with the CFO at 14:00 and board-call prep at 16:00.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from understudy.demo.clock import is_workday
from understudy.demo.meetings import Plan, attendances, invite, series
from understudy.demo.story import Meeting, Timeline

__all__ = ["board_call_day", "build_agenda"]

CEO = "maya-okafor"
EXECS = ("daniel-reyes", "priya-raman", "tom-becker", "grace-liu", "samuel-adeyemi")
_PROJECT_SERIES = (
    ("beacon-pipeline", "Beacon pipeline review", "tom-becker", "beacon", (1,), (11, 0), 45),
    ("cobalt-sync", "Cobalt savings sync", "priya-raman", "cobalt", (2,), (15, 0), 30),
    ("delta-design", "Delta design sync", "chloe-dubois", "delta", (3,), (13, 0), 45),
    ("ember-hiring", "Ember hiring sync", "grace-liu", "ember", (2,), (10, 30), 30),
)
_ONE_OFFS = (
    ("Design review: {project}", "project", 60),
    ("{project} retro", "project", 45),
    ("{project} planning", "project", 60),
    ("Customer call: {customer}", "customer", 30),
    ("Interview: Senior Backend Engineer (round 2)", "interview", 45),
    ("Interview: Account Executive (final)", "interview", 45),
    ("Budget review: {project}", "exec", 60),
    ("Lunch & learn: observability basics", "social", 60),
)
_INTERVIEWERS = ("daniel-reyes", "jonas-weber", "aisha-khan", "lena-park", "tom-becker")
_CUSTOMERS = ("kate-morrison", "luis-fernandez", "hiroshi-sato", "anna-kowalski")


def board_call_day(today: date) -> date:
    """Return the day of the board call: the next Thursday after ``today``."""
    return today + timedelta(days=(3 - today.weekday()) % 7 or 7)


def _anchor(today: date) -> int:
    return today.weekday() if is_workday(today) else 0


def _last_workday_before(day: date) -> date:
    day -= timedelta(days=1)
    while not is_workday(day):
        day -= timedelta(days=1)
    return day


def _next_workday(day: date) -> date:
    day += timedelta(days=1)
    while not is_workday(day):
        day += timedelta(days=1)
    return day


def _ceo_series(tl: Timeline) -> list[Plan]:
    anchor = _anchor(tl.clock.today)
    staff = "Weekly exec staff: metrics, projects, people, decisions."
    plans = [
        Plan(
            "exec-staff",
            "Exec staff",
            CEO,
            EXECS,
            60,
            weekdays=(anchor,),
            hour=(9, 0),
            location="Boardroom",
            description=staff,
            cancel=True,
        ),
        Plan(
            "1on1-maya-priya",
            "Maya / Priya 1:1",
            CEO,
            ("priya-raman",),
            30,
            weekdays=(anchor,),
            hour=(14, 0),
            location="Maya's office",
        ),
    ]
    for n, executive in enumerate((EXECS[0], *EXECS[2:])):
        name = tl.company.employee(executive).first
        plans.append(
            Plan(
                f"1on1-maya-{executive}",
                f"Maya / {name} 1:1",
                CEO,
                (executive,),
                30,
                weekdays=((anchor + 1 + n) % 5,),
                hour=(15 if n % 2 else 10, 30),
                interval=2,
            )
        )
    return plans


def _manager_series(tl: Timeline, rng: random.Random) -> list[Plan]:
    plans = []
    for person in tl.company.people:
        if person.level != 2 or person.manager is None:
            continue
        boss = tl.company.employee(person.manager)
        earliest = max(tl.habits[boss.id].start_hour, tl.habits[person.id].start_hour, 10)
        plans.append(
            Plan(
                f"1on1-{boss.id}-{person.id}",
                f"{boss.first} / {person.first} 1:1",
                boss.id,
                (person.id,),
                30,
                weekdays=(rng.randrange(5),),
                hour=(earliest + rng.randrange(0, 4), 0),
                interval=2,
            )
        )
    return plans


def _team_series(tl: Timeline) -> list[Plan]:
    company = tl.company
    atlas = tuple(m for m in company.project("atlas").members if m not in (CEO, "jonas-weber"))
    plans = [
        Plan(
            "atlas-standup",
            "Atlas standup",
            "jonas-weber",
            atlas,
            15,
            weekdays=(0, 1, 2, 3),
            hour=(10, 0),
            project="atlas",
            cancel=True,
        )
    ]
    for slug, summary, owner, project, days, hour, minutes in _PROJECT_SERIES:
        members = tuple(m for m in company.project(project).members if m != owner)
        plans.append(
            Plan(slug, summary, owner, members, minutes, weekdays=days, hour=hour, project=project)
        )
    engineers = tuple(p for p in company.in_group("engineering") if p != "daniel-reyes")
    sales = tuple(p for p in company.in_group("sales") if p != "tom-becker")
    plans.append(
        Plan(
            "eng-weekly",
            "Engineering weekly",
            "daniel-reyes",
            engineers,
            45,
            weekdays=(0,),
            hour=(15, 0),
        )
    )
    plans.append(
        Plan(
            "sales-forecast",
            "Sales forecast call",
            "tom-becker",
            sales,
            30,
            weekdays=(4,),
            hour=(10, 0),
        )
    )
    return plans


def _all_hands(tl: Timeline, rng: random.Random) -> None:
    first = (tl.clock.start.date().replace(day=1) - timedelta(days=1)).replace(day=1)
    thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    start = tl.clock.at(thursday, 16)
    everyone = tuple(p.id for p in tl.company.people if p.id != CEO)
    attendees = attendances(tl, rng, CEO, everyone, start, 45, None)
    description = "Monthly all-hands: company update, project demos, Q&A."
    tl.meetings.append(
        Meeting(
            "all-hands@halcyon.example",
            "All-hands",
            CEO,
            attendees,
            start,
            45,
            start - timedelta(days=10),
            description=description,
            location="Main room + Zoom",
            rrule={"freq": "monthly", "byday": "1TH"},
        )
    )


def _one_off_parties(
    tl: Timeline, rng: random.Random, kind: str, project: str
) -> tuple[str, tuple[str, ...]]:
    if kind == "customer":
        return rng.choice(("ryan-oneill", "sofia-rossi")), (rng.choice(_CUSTOMERS), "kenji-tanaka")
    if kind == "interview":
        return "emily-carter", tuple(rng.sample(_INTERVIEWERS, 2))
    if kind == "exec":
        return "priya-raman", (*rng.sample([e for e in EXECS if e != "priya-raman"], 2), CEO)
    if kind == "social":
        people = [p.id for p in tl.company.people if p.id != "lena-park"]
        return "lena-park", tuple(sorted(rng.sample(people, 8)))
    members = tl.company.project(project).members
    owner = rng.choice([m for m in members if m != CEO])
    others = [m for m in members if m not in (owner, CEO)]
    return owner, tuple(rng.sample(others, min(len(others), rng.randrange(2, 5))))


def _slot(tl: Timeline, rng: random.Random, organizer: str) -> tuple[datetime, datetime]:
    ahead = [tl.clock.today + timedelta(days=n) for n in range(1, 10)]
    day = rng.choice([d for d in [*tl.clock.workdays()[3:], *ahead] if is_workday(d)])
    habits = tl.habits[organizer]
    low, high = max(9, habits.start_hour), min(17, habits.end_hour - 1)
    start = tl.clock.at(day, rng.randrange(low, max(low + 1, high)), rng.choice((0, 30)))
    made_on = day - timedelta(days=rng.randrange(1, 8))
    while not is_workday(made_on):
        made_on -= timedelta(days=1)
    return start, tl.clock.moment_in(rng, made_on, habits.start_hour, habits.end_hour)


def _one_offs(tl: Timeline, rng: random.Random) -> None:
    for n in range(60):
        template, kind, minutes = _ONE_OFFS[n % len(_ONE_OFFS)]
        project = rng.choice(tl.company.projects).id
        organizer, parties = _one_off_parties(tl, rng, kind, project)
        start, created = _slot(tl, rng, organizer)
        if not tl.clock.start <= created < tl.clock.end:
            continue
        customer = tl.company.outsider(parties[0]).organization if kind == "customer" else ""
        summary = template.format(project=tl.company.project(project).name, customer=customer)
        tagged = project if kind in ("project", "exec") else None
        invite(
            tl,
            rng,
            Plan(
                f"meeting-{n:03d}",
                summary,
                organizer,
                parties,
                minutes,
                start=start,
                created=created,
                project=tagged,
            ),
        )


def _review_and_board(tl: Timeline) -> list[Plan]:
    clock, today = tl.clock, tl.clock.today
    before, board = _last_workday_before(today), board_call_day(today)
    review = (
        "Go/no-go on the Atlas launch date after the slip: overdue migration, load test and "
        "failover work, and what we tell customers."
    )
    prep = f"Prepare for the {board:%A} board call: revised FY forecast, Atlas, Nimbus contract."
    agenda = "Quarterly board call. Agenda: FY forecast, Atlas launch, hiring plan."
    review_team = (CEO, "jonas-weber", "chloe-dubois", "samuel-adeyemi", "priya-raman")
    board_members = (CEO, "priya-raman", "robert-chen", "amara-osei")
    return [
        Plan(
            "atlas-launch-review",
            "Atlas launch review",
            "daniel-reyes",
            review_team,
            60,
            start=clock.at(today, 11),
            created=clock.at(_last_workday_before(today - timedelta(days=3)), 11, 20),
            project="atlas",
            location="Boardroom",
            description=review,
        ),
        Plan(
            "board-call-prep",
            "Board call prep",
            CEO,
            ("priya-raman", "samuel-adeyemi"),
            45,
            start=clock.at(today, 16),
            created=clock.at(before, 17, 20),
            location="Maya's office",
            description=prep,
        ),
        Plan(
            "board-call@vancecapital.example",
            "Halcyon Labs board call",
            "eleanor-vance",
            board_members,
            90,
            start=clock.at(board, 10),
            created=clock.at(today - timedelta(days=20), 9, 40),
            description=agenda,
        ),
    ]


def _pending(tl: Timeline) -> list[Plan]:
    """Return a customer's invitation sent last evening, which the CEO has not answered yet."""
    clock, today = tl.clock, tl.clock.today
    agenda = "Quarterly business review: usage, the renewal, and the portal roadmap."
    return [
        Plan(
            "brightline-qbr@brightline.example",
            "Brightline quarterly business review",
            "kate-morrison",
            (CEO, "sofia-rossi"),
            60,
            start=clock.at(_next_workday(_next_workday(today)), 14),
            created=clock.at(today - timedelta(days=1), 19, 5),
            location="Brightline Logistics, Chicago office",
            description=agenda,
        )
    ]


def _weekend_plans(tl: Timeline) -> list[Plan]:
    """Return today's exec staff and CFO 1:1 as one-offs when today is not a weekday."""
    clock, today = tl.clock, tl.clock.today
    if is_workday(today):
        return []
    before = _last_workday_before(today)
    return [
        Plan(
            "exec-staff-special",
            "Exec staff",
            CEO,
            EXECS,
            60,
            start=clock.at(today, 9),
            created=clock.at(before, 10, 5),
            location="Boardroom",
        ),
        Plan(
            "1on1-maya-priya-special",
            "Maya / Priya 1:1",
            CEO,
            ("priya-raman",),
            30,
            start=clock.at(today, 14),
            created=clock.at(before, 10, 12),
        ),
    ]


def build_agenda(tl: Timeline) -> None:
    """Fill ``tl.meetings`` (and the invitation mail) for the whole window and today."""
    rng = tl.rng("agenda")
    for plan in [*_ceo_series(tl), *_manager_series(tl, rng), *_team_series(tl)]:
        series(tl, rng, plan)
    _all_hands(tl, rng)
    _one_offs(tl, rng)
    for plan in [*_review_and_board(tl), *_pending(tl), *_weekend_plans(tl)]:
        invite(tl, rng, plan)
