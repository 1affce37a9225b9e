"""The tracker: issues per project with history, approvals, and a Jira-style CSV.

Atlas carries the slipping launch: several of its issues are past their due
date and still In Progress or Blocked.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date, datetime, timedelta

from understudy.demo.clock import start_of_work
from understudy.demo.story import Task, TaskChange, Timeline

__all__ = ["COLUMNS", "build_tasks", "overdue", "tracker_csv"]

COLUMNS = (
    "Issue key",
    "Summary",
    "Issue Type",
    "Status",
    "Priority",
    "Assignee",
    "Reporter",
    "Created",
    "Updated",
    "Due date",
    "Resolution",
    "Project name",
    "Labels",
    "Description",
)

_WORK: dict[str, tuple[tuple[str, str], ...]] = {
    "atlas": (
        ("Migrate legacy accounts to ingestion v2", "migration"),
        ("Load test at 3x launch traffic", "performance"),
        ("Multi-region failover drill", "reliability"),
        ("Billing hooks sign-off with Finance", "billing"),
        ("Schema registry for event payloads", "backend"),
        ("Rate limiter for the public API", "backend"),
        ("Audit logging for admin actions", "security"),
        ("On-call runbook for Atlas services", "reliability"),
        ("SDK release notes and changelog", "docs"),
        ("Deprecate v1 ingestion endpoints", "backend"),
        ("Dashboards for p95 latency and error budget", "observability"),
        ("Security review of the tenant isolation layer", "security"),
        ("Launch checklist and go/no-go criteria", "launch"),
        ("Backfill job for historical events", "migration"),
        ("Customer beta feedback triage", "launch"),
        ("Fix flaky integration tests in CI", "testing"),
    ),
    "beacon": (
        ("Midwest target account list", "prospecting"),
        ("EMEA pricing tier proposal", "pricing"),
        ("Partner referral program draft", "partners"),
        ("Sales deck for mid-market", "enablement"),
        ("Hire two account executives", "hiring"),
        ("CRM cleanup: duplicate accounts", "ops"),
        ("Case study with Brightline Logistics", "marketing"),
        ("Quota model for next fiscal year", "planning"),
        ("Demo environment refresh", "enablement"),
        ("Competitive battlecard update", "enablement"),
        ("Chicago customer roadshow logistics", "events"),
        ("Discount approval workflow", "pricing"),
    ),
    "cobalt": (
        ("Reserved instance plan for cloud spend", "cloud"),
        ("Vendor contract inventory", "vendors"),
        ("Consolidate monitoring tools", "tools"),
        ("Renegotiate Nimbus Cloud commitment", "vendors"),
        ("Right-size staging clusters", "cloud"),
        ("Travel policy update", "policy"),
        ("Monthly spend dashboard", "reporting"),
        ("SaaS seat audit", "tools"),
        ("Storage lifecycle rules", "cloud"),
        ("Quarterly savings report for the board", "reporting"),
    ),
    "delta": (
        ("Portal login with SSO", "auth"),
        ("Usage charts for customers", "frontend"),
        ("Invoice download page", "billing"),
        ("Support ticket form", "support"),
        ("Design review: navigation", "design"),
        ("Accessibility audit", "design"),
        ("Beta invite list", "launch"),
        ("Portal analytics events", "analytics"),
        ("Empty states and error pages", "design"),
        ("Customer admin roles", "auth"),
        ("Help center links", "support"),
    ),
    "ember": (
        ("Job description: Senior Backend Engineer", "hiring"),
        ("Job description: Account Executive", "hiring"),
        ("Interview loop for SRE candidates", "process"),
        ("Referral bonus announcement", "process"),
        ("Campus recruiting plan", "planning"),
        ("Offer letter template update", "process"),
        ("Onboarding checklist refresh", "onboarding"),
        ("Recruiter agency review", "vendors"),
        ("Interviewer training session", "training"),
    ),
}

_APPROVALS = (
    ("Approve travel budget for EMEA roadshow", "tom-becker", "priya-raman", "Approved", "beacon"),
    ("Approve contractor extension for Atlas", "daniel-reyes", "priya-raman", "Rejected", "atlas"),
    ("Approve offer: Senior Backend Engineer", "jonas-weber", "grace-liu", "Approved", "ember"),
    (
        "Approve laptop refresh for sales team",
        "zoe-lindqvist",
        "samuel-adeyemi",
        "Approved",
        "cobalt",
    ),
    ("Approve 18% discount for Polaris Retail", "sofia-rossi", "tom-becker", "Rejected", "beacon"),
    ("Approve monitoring tool consolidation", "lena-park", "priya-raman", "Approved", "cobalt"),
    (
        "Approve design agency for portal icons",
        "hannah-schmidt",
        "samuel-adeyemi",
        "Rejected",
        "delta",
    ),
    ("Approve referral bonus increase", "emily-carter", "grace-liu", "Approved", "ember"),
)

_COMMENTS = (
    "PR is up for review.",
    "Blocked on the vendor API change; following up with them.",
    "Moved to next sprint — not enough capacity this week.",
    "Pairing with {other} on this tomorrow.",
    "Done on staging, waiting for production window.",
    "Need a decision on scope before I continue.",
    "Added test cases for the edge cases we discussed.",
    "Customer confirmed the fix works.",
)
_ATLAS_OVERDUE = (
    "Migrate legacy accounts to ingestion v2",
    "Load test at 3x launch traffic",
    "Multi-region failover drill",
    "Billing hooks sign-off with Finance",
    "Backfill job for historical events",
)
_FLOW = ("To Do", "In Progress", "In Review", "Done")


def _moment(tl: Timeline, rng: random.Random, person: str, after: datetime) -> datetime:
    habits = tl.habits[person]
    base = after + timedelta(minutes=rng.randrange(30, 60 * 24 * 4))
    moment = start_of_work(base, habits.start_hour, habits.end_hour)
    if moment.hour == habits.start_hour and moment.minute == 0:
        moment += timedelta(minutes=rng.randrange(5, 90))
    return moment


def _weekday(day: date) -> date:
    """Return ``day``, or the Friday before it if it falls on a weekend."""
    return day - timedelta(days=max(0, day.weekday() - 4))


def _new_task(
    tl: Timeline, rng: random.Random, project: str, n: int, summary: str, label: str
) -> Task:
    venture = tl.company.project(project)
    reporter = venture.members[0]
    staff = [m for m in venture.members if tl.company.employee(m).level == 2]
    assignee = rng.choice(staff) if staff and rng.random() < 0.85 else reporter
    day = rng.choice(tl.clock.workdays()[: -5 if n % 3 else -15])
    created = tl.clock.moment_in(
        rng, day, tl.habits[reporter].start_hour, tl.habits[reporter].end_hour
    )
    return Task(
        key=f"{venture.key}-{n}",
        summary=summary,
        kind=rng.choice(("Task", "Task", "Story", "Bug")),
        status="To Do",
        priority=rng.choice(("Highest", "High", "Medium", "Medium", "Low")),
        assignee=assignee,
        reporter=reporter,
        created=created,
        updated=created,
        due=_weekday(created.date() + timedelta(days=rng.randrange(10, 35))),
        resolution="Unresolved",
        project=project,
        labels=(label, project),
        description=f"{summary}. Part of {venture.title}: {venture.description}",
    )


def _change(task: Task, at: datetime, who: str, field: str, after: str) -> None:
    before = task.status if field == "Status" else task.assignee
    task.changes.append(TaskChange(at, who, field, before, after))
    if field == "Status":
        task.status = after
    else:
        task.assignee = after
    task.updated = at


def _advance(tl: Timeline, rng: random.Random, task: Task, stop: datetime) -> None:
    venture = tl.company.project(task.project)
    moment = task.created
    if rng.random() < 0.15:
        others = [
            m for m in venture.members if m != task.assignee and tl.company.employee(m).level == 2
        ]
        moment = _moment(tl, rng, task.reporter, moment)
        if moment < stop and others:
            _change(task, moment, task.reporter, "Assignee", rng.choice(others))
    target = (
        rng.choice((1, 2, 3, 3, 3))
        if task.due and task.due < tl.clock.today
        else rng.randrange(0, 4)
    )
    for status in _FLOW[1 : target + 1]:
        moment = _moment(tl, rng, task.assignee, moment)
        if moment >= stop:
            return
        _change(task, moment, task.assignee, "Status", status)
    if task.status == "Done":
        task.resolution = "Done"


def _comment(tl: Timeline, rng: random.Random, task: Task) -> None:
    venture = tl.company.project(task.project)
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
        who = rng.choice((task.assignee, task.reporter))
        at = _moment(tl, rng, who, task.created)
        if at >= tl.clock.end:
            continue
        other = tl.company.employee(rng.choice([m for m in venture.members if m != who])).first
        task.comments.append((at, who, rng.choice(_COMMENTS).format(other=other)))
        task.updated = max(task.updated, at)
    task.comments.sort()


def _after(tl: Timeline, rng: random.Random, who: str, task: Task) -> datetime:
    at = _moment(tl, rng, who, task.updated)
    return at if at < tl.clock.end else task.updated + timedelta(minutes=rng.randrange(10, 50))


def _slip_atlas(tl: Timeline, rng: random.Random, task: Task) -> None:
    """Make an Atlas launch task overdue: due before today, still in progress or blocked."""
    task.due = _weekday(tl.clock.today - timedelta(days=rng.randrange(3, 16)))
    task.priority = "Highest"
    task.resolution = "Unresolved"
    task.changes = [c for c in task.changes if c.after not in ("In Review", "Done")]
    statuses = [c for c in task.changes if c.field == "Status"]
    task.status = statuses[-1].after if statuses else "To Do"
    task.updated = task.changes[-1].at if task.changes else task.created
    if task.status == "To Do":
        _change(task, _after(tl, rng, task.assignee, task), task.assignee, "Status", "In Progress")
    if task.summary in _ATLAS_OVERDUE[::2]:
        habits = tl.habits[task.assignee]
        day = tl.clock.today - timedelta(days=rng.randrange(4, 17))
        at = start_of_work(tl.clock.at(day, 12), habits.start_hour, habits.end_hour)
        at = max(at, task.updated + timedelta(minutes=rng.randrange(20, 90)))
        _change(task, at, task.assignee, "Status", "Blocked")
        note = "Blocked: the launch date cannot hold; see the weekly status note."
        task.comments.append((at, task.assignee, note))
    task.updated = max([task.updated, *(at for at, _, _ in task.comments)])


def _approval(
    tl: Timeline, rng: random.Random, n: int, row: tuple[str, str, str, str, str]
) -> Task:
    summary, requester, approver, outcome, project = row
    venture = tl.company.project(project)
    day = rng.choice(tl.clock.workdays()[:-3])
    created = tl.clock.moment_in(
        rng, day, tl.habits[requester].start_hour, tl.habits[requester].end_hour
    )
    task = Task(
        key=f"{venture.key}-{n}",
        summary=summary,
        kind="Approval",
        status="Waiting for approval",
        priority="High",
        assignee=approver,
        reporter=requester,
        created=created,
        updated=created,
        due=created.date() + timedelta(days=5),
        resolution="Unresolved",
        project=project,
        labels=("approval", project),
        description=f"{summary}. Requested by {tl.company.employee(requester).name}.",
    )
    decided = _moment(tl, rng, approver, created)
    if decided < tl.clock.end:
        _change(task, decided, approver, "Status", outcome)
        task.resolution = outcome
    return task


def build_tasks(tl: Timeline) -> None:
    """Fill ``tl.tasks`` with every project's issues and the approval requests."""
    rng = tl.rng("tasks")
    for venture in tl.company.projects:
        for n, (summary, label) in enumerate(_WORK[venture.id], start=1):
            task = _new_task(tl, rng, venture.id, n, summary, label)
            _advance(tl, rng, task, tl.clock.end)
            _comment(tl, rng, task)
            if venture.id == "atlas" and summary in _ATLAS_OVERDUE:
                _slip_atlas(tl, rng, task)
            tl.tasks.append(task)
    for row in _APPROVALS:
        count = len(tl.tasks_of(row[4])) + 1
        tl.tasks.append(_approval(tl, rng, count, row))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _row(tl: Timeline, task: Task, comment_columns: int) -> list[str]:
    email = {p.id: p.email for p in tl.company.people}
    comments = [f"{_stamp(at)};{email[who]};{text}" for at, who, text in task.comments]
    history = " | ".join(
        f"{_stamp(c.at)} {email[c.who]}: {c.field} "
        f"{email.get(c.before, c.before)} -> {email.get(c.after, c.after)}"
        for c in task.changes
    )
    return [
        task.key,
        task.summary,
        task.kind,
        task.status,
        task.priority,
        email[task.assignee],
        email[task.reporter],
        _stamp(task.created),
        _stamp(task.updated),
        task.due.isoformat() if task.due else "",
        task.resolution,
        tl.company.project(task.project).name,
        " ".join(task.labels),
        task.description,
        *comments,
        *([""] * (comment_columns - len(comments))),
        history,
    ]


def tracker_csv(tl: Timeline) -> str:
    """Return the tracker as a Jira-style CSV export (``Comment`` repeats, as Jira does)."""
    width = max((len(t.comments) for t in tl.tasks), default=1) or 1
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*COLUMNS, *(["Comment"] * width), "Change history"])
    for task in sorted(tl.tasks, key=lambda t: (t.project, int(t.key.split("-")[1]))):
        writer.writerow(_row(tl, task, width))
    return buffer.getvalue()


def overdue(tl: Timeline, project: str, today: date) -> list[Task]:
    """Return the project's tasks past their due date and not done."""
    return [
        t
        for t in tl.tasks_of(project)
        if t.due is not None and t.due < today and t.status in ("In Progress", "Blocked", "To Do")
    ]
