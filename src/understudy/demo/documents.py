"""Documents: project briefs, weekly status notes, wiki pages, a PDF, DOCX files,
company-wide notes, and the private HR folder.

Status notes are written from the tracker (what closed, what is blocked) and
the figures (budget), so documents agree with tasks and the database.
"""

from __future__ import annotations

import html
from datetime import date, datetime, timedelta

from understudy.demo.company import Venture
from understudy.demo.files import Tree
from understudy.demo.office import docx_bytes, pdf_bytes
from understudy.demo.planted import HR_PATH, HR_PHRASE, atlas_dates, slip_notes, status_notes
from understudy.demo.story import Task, Timeline

__all__ = ["write_documents"]

_PAGES = {
    "atlas": ("launch-plan.html", "Atlas launch plan"),
    "beacon": ("territory-plan.html", "Beacon territory plan"),
    "cobalt": ("savings-tracker.html", "Cobalt savings tracker"),
    "delta": ("portal-wiki.html", "Delta portal wiki"),
    "ember": ("hiring-plan.html", "Ember hiring plan"),
}


def _money(value: int) -> str:
    return f"${value:,}"


def _nice(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def _brief(tl: Timeline, project: Venture) -> str:
    planned, spent = tl.figures.project_budget(project.id)
    owner = tl.company.employee(project.members[0])
    team = ", ".join(tl.company.employee(m).name for m in project.members)
    tasks = tl.tasks_of(project.id)
    milestones = sorted({t.due for t in tasks if t.due})[:: max(1, len(tasks) // 4)][:4]
    lines = [
        f"# {project.title}",
        "",
        f"**Owner:** {owner.name} ({owner.title})  ",
        f"**Team:** {team}  ",
        f"**Readers:** {', '.join(project.groups)}",
        "",
        "## Goal",
        "",
        project.description,
        "",
        "## Scope",
        "",
        *(f"- {t.summary} ({t.key})" for t in tasks[:6]),
        "",
        "## Milestones",
        "",
        *(f"- {_nice(d)}" for d in milestones),
        "",
        "## Budget",
        "",
        f"Planned {_money(planned)} for the year; {_money(spent)} committed so far.",
        "",
        "## How we work",
        "",
        f"Weekly status notes live in `docs/{project.id}/status/`. Day-to-day discussion "
        f"happens in the #{project.id} channel; decisions are recorded in the tracker.",
    ]
    return "\n".join(lines) + "\n"


def _week_tasks(tasks: list[Task], start: datetime, end: datetime) -> tuple[list[Task], list[Task]]:
    done, moving = [], []
    for task in tasks:
        changes = [c for c in task.changes if start <= c.at < end and c.field == "Status"]
        if any(c.after == "Done" for c in changes):
            done.append(task)
        elif changes:
            moving.append(task)
    return done, moving


def _status_health(tl: Timeline, project: Venture, friday: date) -> tuple[str, list[str]]:
    if project.id != "atlas" or friday not in {d for d, _ in slip_notes(tl.clock)}:
        return "Green", ["No new risks this week."]
    original, revised = atlas_dates(tl.clock.today)
    first = slip_notes(tl.clock)[0][0]
    if friday == first:
        return "Amber", [
            f"The launch on {_nice(original)} is at risk: the legacy account migration is behind "
            "and the 3x load test has not passed.",
        ]
    return "Red", [
        f"The launch slips by three weeks, from {_nice(original)} to {_nice(revised)}.",
        "Blocked: legacy account migration (backfill times out on the largest tenants).",
        "Load test still fails at 2.1x launch traffic; failover drill postponed.",
        "Ask: two SREs for the next month; decision at the launch review.",
    ]


def _status(tl: Timeline, project: Venture, friday: date) -> str:
    start = tl.clock.at(friday - timedelta(days=4), 0)
    done, moving = _week_tasks(tl.tasks_of(project.id), start, tl.clock.at(friday, 16))
    health, risks = _status_health(tl, project, friday)
    planned, spent = tl.figures.project_budget(project.id)
    share = round(100 * spent / planned) if planned else 0
    lines = [
        f"# {project.name} — weekly status, week ending {_nice(friday)}",
        "",
        f"Owner: {tl.company.employee(project.members[0]).name} · Status: **{health}**",
        "",
        "## Done this week",
        "",
        *([f"- {t.key}: {t.summary}" for t in done] or ["- Nothing closed this week."]),
        "",
        "## In progress",
        "",
        *([f"- {t.key}: {t.summary} ({t.status})" for t in moving] or ["- Steady; no changes."]),
        "",
        "## Risks",
        "",
        *(f"- {r}" for r in risks),
        "",
        "## Budget",
        "",
        f"{_money(spent)} of {_money(planned)} committed ({share}%).",
    ]
    return "\n".join(lines) + "\n"


def _page(tl: Timeline, project: Venture, title: str) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(t.key)}</td><td>{html.escape(t.summary)}</td>"
        f"<td>{html.escape(t.status)}</td><td>{t.due.isoformat() if t.due else ''}</td></tr>"
        for t in tl.tasks_of(project.id)
    )
    owner = tl.company.employee(project.members[0]).name
    note = ""
    if project.id == "atlas":
        original, revised = atlas_dates(tl.clock.today)
        note = (
            f'<p class="warning"><strong>Update:</strong> launch moved from {_nice(original)} '
            f"to {_nice(revised)} (three-week slip).</p>"
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n<p>Owner: {html.escape(owner)}. Exported from the "
        f"Halcyon wiki.</p>\n{note}\n<h2>Goal</h2>\n<p>{html.escape(project.description)}</p>\n"
        "<h2>Work items</h2>\n<table><thead><tr><th>Key</th><th>Summary</th><th>Status</th>"
        f"<th>Due</th></tr></thead><tbody>{rows}</tbody></table>\n</body></html>\n"
    )


def _project_files(tl: Timeline, tree: Tree, project: Venture) -> int:
    base = f"docs/{project.id}"
    opened = tl.clock.at(tl.clock.workdays()[2], 11)
    tree.write(f"{base}/brief.md", _brief(tl, project), opened)
    count = 1
    for friday, path in status_notes(tl.clock, project.id):
        tree.write(path, _status(tl, project, friday), tl.clock.at(friday, 16, 5))
        count += 1
    name, title = _PAGES[project.id]
    updated = max((t.updated for t in tl.tasks_of(project.id)), default=opened)
    tree.write(f"{base}/{name}", _page(tl, project, title), min(updated, tl.clock.end))
    return count + 1


def _architecture(tl: Timeline, tree: Tree) -> None:
    at = tl.clock.at(tl.clock.workdays()[14], 15, 30)
    sections = (
        (
            "Summary",
            "Atlas replaces the v1 ingestion path with a streaming pipeline (ingestion v2), "
            "adds a second region for failover, and exposes billing hooks for usage-based pricing.",
        ),
        (
            "Current architecture",
            "v1 ingestion is a batch job per tenant. It cannot meet the "
            "15-minute freshness target above 40 tenants and has no regional failover.",
        ),
        (
            "Proposed changes",
            "1. Streaming ingestion with a schema registry.\n2. Active-passive "
            "failover to a second region.\n3. Billing hooks emitted per tenant per hour.\n4. Rate "
            "limiting and audit logging for the public API.",
        ),
        (
            "Risks",
            "The legacy account migration is the critical path: the largest tenants hold "
            "most of the historical data and the backfill has not been tested at that size. Load "
            "must be proven at 3x launch traffic before go-live.",
        ),
        (
            "Decision",
            "Approved by the architecture review board, subject to a migration "
            "rehearsal and the 3x load test before launch.",
        ),
    )
    data = pdf_bytes("Atlas architecture review", sections, "Daniel Reyes", at)
    tree.write("docs/atlas/architecture-review.pdf", data, at)


def _pricing(tl: Timeline, tree: Tree) -> None:
    at = tl.clock.at(tl.clock.workdays()[20], 10, 15)
    deals = [d for d in tl.figures.pipeline if d[2] not in ("Closed Won", "Closed Lost")]
    total = sum(d[3] for d in deals)
    sections = (
        (
            "Context",
            "Beacon opens the mid-market segment. Our current list price is built for "
            "enterprise deals and loses mid-market buyers at the proposal stage.",
        ),
        (
            "Proposed tiers",
            "Starter: $18,000 per year, up to 25 seats.\n\nGrowth: $48,000 per "
            "year, up to 100 seats, SSO included.\n\nEnterprise: from $120,000 per year, custom "
            "SLA and data residency.",
        ),
        (
            "Discounts",
            "Up to 10% at the account executive's discretion; 10–20% with VP Sales "
            "approval; above 20% needs the CFO.",
        ),
        (
            "Pipeline impact",
            f"{len(deals)} open deals worth ${total:,} are affected; we expect "
            "the Growth tier to lift win rates in Proposal and Negotiation.",
        ),
    )
    data = docx_bytes("Beacon pricing proposal", sections, "Tom Becker", at)
    tree.write("docs/beacon/pricing-proposal.docx", data, at)


def _handbook(tl: Timeline) -> str:
    return "\n".join(
        [
            "# Halcyon Labs employee handbook",
            "",
            "## Working hours",
            "",
            "Core hours are 10:00–16:00 Eastern. Outside them, set your own schedule and keep your "
            "calendar current.",
            "",
            "## Time off",
            "",
            "Request PTO from your manager by email at least a week ahead and add it to the PTO "
            "tracker.",
            "",
            "## Expenses",
            "",
            "Submit receipts in ExpenseFlow within 30 days. Travel over $1,000 needs your VP's "
            "approval in the tracker.",
            "",
            "## Communication",
            "",
            "Use email for decisions and anything external; use chat for quick questions. Project "
            "channels are open to the whole company; #exec-team and #hr-private are private.",
            "",
            "## Security",
            "",
            "Never share customer data outside approved tools. Report lost devices to IT at once.",
            "",
        ]
    )


def _all_hands(tl: Timeline, day: date) -> str:
    quarter = tl.figures.quarters[-1]
    revenue = tl.figures.quarter_revenue(quarter)
    demo = tl.company.projects[(day.month + day.day) % len(tl.company.projects)]
    return "\n".join(
        [
            f"# All-hands notes — {_nice(day)}",
            "",
            "## Company update (Maya)",
            "",
            f"- {quarter} revenue closed at {_money(revenue)}.",
            f"- Headcount is {sum(h[2] for h in tl.figures.headcount[-7:])} across seven teams.",
            "- Hiring: Ember is on track for engineering, behind for sales.",
            "",
            f"## Demo: {demo.title}",
            "",
            demo.description,
            "",
            "## Q&A",
            "",
            "- Q: Will the office move next year? A: No decision yet; Samuel will share options.",
            "- Q: When do goals for next quarter close? A: End of the month.",
            "",
        ]
    )


def _company(tl: Timeline, tree: Tree) -> int:
    tree.write("docs/company/handbook.md", _handbook(tl), tl.clock.start + timedelta(days=1))
    count = 1
    for meeting in tl.meetings:
        if meeting.uid != "all-hands@halcyon.example":
            continue
        day = meeting.start.date()
        while day < tl.clock.today:
            first = day.replace(day=1)
            thursday = first + timedelta(days=(3 - first.weekday()) % 7)
            if tl.clock.start.date() <= thursday < tl.clock.today:
                tree.write(
                    f"docs/company/all-hands-{thursday:%Y-%m}.md",
                    _all_hands(tl, thursday),
                    tl.clock.at(thursday, 17, 30),
                )
                count += 1
            day = (first + timedelta(days=32)).replace(day=1)
    return count


def _compensation(tl: Timeline) -> str:
    names = {p.email: p for p in tl.company.people}
    rows = []
    for email, salary, bonus, _ in tl.figures.compensation:
        person = names[email]
        raise_pct = 0 if person.id == "ben-friedman" else (3 + (salary // 1000) % 5)
        rows.append(
            f"| {person.name} | {person.title} | {_money(salary)} | {raise_pct}% | {bonus:g}% |"
        )
    review = tl.figures.compensation[0][3]
    return "\n".join(
        [
            "# Compensation review — confidential (HR only)",
            "",
            f"Review date: {review}. Prepared by Grace Liu and Emily Carter.",
            "",
            "## Salary adjustments",
            "",
            "| Name | Title | Current salary | Proposed increase | Bonus target |",
            "|---|---|---|---|---|",
            *rows,
            "",
            "## Performance",
            "",
            f"We are opening a {HR_PHRASE}, starting after calibration. Goals: ship the "
            "assigned migration work on time, attend every standup, and meet weekly with "
            "Daniel Reyes. No salary increase until the plan closes.",
            "",
            "## Notes",
            "",
            "Letters go out after calibration. Do not discuss individual numbers outside HR.",
            "",
        ]
    )


def _hr(tl: Timeline, tree: Tree) -> int:
    review = date.fromisoformat(tl.figures.compensation[0][3])
    tree.write(HR_PATH, _compensation(tl), tl.clock.at(review, 17, 10))
    benefits = (
        "# Benefits renewal\n\nThe medical plan renewal quote is 6% higher than last year. "
        "Options: accept, raise the deductible, or switch carrier. Recommendation: raise the "
        "deductible and add an HSA contribution.\n"
    )
    tree.write("docs/hr/benefits-renewal.md", benefits, tl.clock.at(review - timedelta(days=9), 11))
    return 2


def write_documents(tl: Timeline, tree: Tree) -> int:
    """Write every document under ``docs/``; return how many were written."""
    count = 0
    for project in tl.company.projects:
        count += _project_files(tl, tree, project)
    _architecture(tl, tree)
    _pricing(tl, tree)
    return count + 2 + _company(tl, tree) + _hr(tl, tree)
