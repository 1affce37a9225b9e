"""The tracker export looks like Jira's; the figures database holds the company's numbers."""

from __future__ import annotations

import csv
import sqlite3
from datetime import date
from pathlib import Path

from understudy.demo import DemoManifest

COLUMNS = [
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
]


def rows(root: Path) -> tuple[list[str], list[list[str]]]:
    """Return the header and rows of the tracker CSV."""
    with (root / "tasks" / "tracker.csv").open(encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle))
    return table[0], table[1:]


def test_tracker_has_jira_columns_with_repeated_comments(
    demo_root: Path, manifest: DemoManifest
) -> None:
    header, body = rows(demo_root)
    assert header[: len(COLUMNS)] == COLUMNS
    assert header[-1] == "Change history"
    assert header.count("Comment") >= 2
    assert len(body) == manifest.counts["tasks"]
    assert all("@halcyon.example" in r[5] and "@halcyon.example" in r[6] for r in body)


def test_atlas_has_overdue_work_still_open(demo_root: Path, manifest: DemoManifest) -> None:
    _header, body = rows(demo_root)
    overdue = [
        r[0]
        for r in body
        if r[11] == "Atlas"
        and r[9]
        and date.fromisoformat(r[9]) < manifest.today
        and r[3] in ("In Progress", "Blocked")
    ]
    assert len(overdue) >= 3
    assert set(overdue) <= set(manifest.fact("slipping_project").evidence["tasks"])


def test_approvals_are_decided_and_history_records_changes(demo_root: Path) -> None:
    _header, body = rows(demo_root)
    approvals = [r for r in body if r[2] == "Approval"]
    assert {"Approved", "Rejected"} <= {r[10] for r in approvals}
    history = [r[-1] for r in body if r[-1]]
    assert any(" Status " in h and " -> Done" in h for h in history)
    assert any(": Assignee " in h for h in history)
    assert all(line.split(" ")[2].endswith(":") for h in history for line in h.split(" | "))


def test_figures_database_has_the_tables(demo_root: Path) -> None:
    with sqlite3.connect(demo_root / "data" / "figures.sqlite") as connection:
        tables = {
            r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        assert {"revenue", "headcount", "pipeline", "budget", "compensation"} <= tables
        revenue = connection.execute("SELECT COUNT(*), SUM(revenue_usd) FROM revenue").fetchone()
        people = connection.execute("SELECT COUNT(*) FROM compensation").fetchone()[0]
    assert revenue[0] > 0
    assert revenue[1] > 1_000_000
    assert people == 20
