"""The ``tasks`` connector: Jira CSV and GitHub JSON exports, readers, decisions, bad input."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from understudy.records import Item, Person, Principal, Project, Source
from understudy.sources.pipeline import add_source, sync
from understudy.sources.tasks import parse_history
from understudy.store import ItemFilter, Store

HEADER = [
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
    "Labels",
    "Description",
    "Comment",
    "Comment",
    "Change history",
]


def row(key: str, summary: str, **fields: Any) -> list[str]:
    """Return one CSV row; keyword names are header names with spaces as underscores."""
    values = dict.fromkeys(HEADER, "")
    values.update({"Issue key": key, "Summary": summary, "Created": "2026-09-28 09:00"})
    labels = fields.pop("labels", ["", ""])
    comments = fields.pop("comments", ["", ""])
    for name, value in fields.items():
        values[name.replace("_", " ")] = value
    out = [values[name] for name in HEADER[:12]]
    return [*out, *labels, values["Description"], *comments, values["Change history"]]


def csv_text(rows: list[list[str]], header: list[str] = HEADER) -> str:
    """Return rows as CSV text under ``header``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def jira_rows() -> list[list[str]]:
    """Return four Atlas issues and one Ops issue with history worth observing."""
    return [
        row(
            "ATL-1",
            "Approve the Lisbon offsite budget",
            Issue_Type="Approval",
            Status="Approved",
            Assignee="ann@co.example",
            Reporter="maya@co.example",
            Updated="2026-10-01 10:02",
            Project_name="Atlas",
            labels=["budget", "offsite travel"],
            Description="Budget is 40k.",
            comments=["01/Oct/26 10:05 AM;ann@co.example;Looks good", "plain comment"],
            Change_history=(
                "2026-10-01 09:00 maya@co.example: Assignee bo@co.example -> ann@co.example"
                " | 2026-10-01 10:02 ann@co.example: Status In Progress -> Approved"
            ),
        ),
        row(
            "ATL-2",
            "Add SSO to the admin console",
            Status="Closed",
            Resolution="Won't Do",
            Assignee="bo@co.example",
            Reporter="ann@co.example",
            Updated="2026-10-03 16:00",
            Project_name="Atlas",
        ),
        row(
            "ATL-3",
            "Rotate the signing keys",
            Status="In Progress",
            Assignee="dee-ray",
            Reporter="Maya Okafor",
            Updated="2026-10-02 11:00",
            Due_date="2026-10-15",
            Project_name="Atlas",
            Change_history="2026-10-02 11:00 maya-okafor: Assignee Cy Doe -> dee-ray",
        ),
        row("ATL-4", "Write the launch post", Status="To Do", Priority="Low", Project_name="Atlas"),
        row(
            "OPS-1",
            "Renew the TLS certificate",
            Status="Open",
            Assignee="bo@co.example",
            Reporter="ann@co.example",
            Project_name="Operations",
            Description="Expires on Friday.",
        ),
    ]


def org(store: Store) -> None:
    """Add Ann (the owner), Bo, Cy (in nothing) and project Atlas whose member is Dee."""
    store.upsert_person(Person(id="ann", name="Ann Lee", emails=("ann@co.example",)))
    store.upsert_person(Person(id="bo", name="Bo Park", emails=("bo@co.example",)))
    store.upsert_person(Person(id="cy", name="Cy Diaz", emails=("cy@co.example",)))
    store.upsert_person(Person(id="dee-ray", name="Dee Ray", emails=("dee@co.example",)))
    store.upsert_project(Project(id="atlas", name="Atlas", members=("dee-ray",)))


def tasks(store: Store, principal: Principal, source: Source) -> dict[str, Item]:
    """Return the current task items ``principal`` may read, by key."""
    found = store.list_items(principal, ItemFilter(source_id=source.id))
    return {item.external_id: item for item in found}


def jira_source(store: Store, tmp_path: Path) -> tuple[Source, Path]:
    """Write the Jira export and register it, owned by Ann."""
    path = tmp_path / "jira.csv"
    path.write_text(csv_text(jira_rows()), encoding="utf-8-sig")
    return add_source(store, "tasks", str(path), owner="ann"), path


def test_jira_rows_become_tasks(store: Store, tmp_path: Path) -> None:
    org(store)
    source, _ = jira_source(store, tmp_path)
    report = sync(store, source)
    assert (report.added, report.problems) == (5, 0)
    items = tasks(store, Principal.person("ann"), source)
    assert {key: item.title for key, item in items.items()} == {
        "ATL-1": "Approve the Lisbon offsite budget",
        "ATL-2": "Add SSO to the admin console",
        "ATL-3": "Rotate the signing keys",
        "ATL-4": "Write the launch post",
        "OPS-1": "Renew the TLS certificate",
    }
    first = items["ATL-1"]
    assert first.kind == "task"
    assert first.body == (
        "Budget is 40k.\n\nComments:\nann@co.example (2026-10-01 10:05): Looks good\n"
        "unknown: plain comment"
    )
    assert first.timestamp == datetime(2026, 10, 1, 10, 2, tzinfo=UTC)
    assert first.author == "maya@co.example"
    assert first.metadata["status"] == "Approved"
    assert first.metadata["labels"] == ["budget", "offsite", "travel"]
    assert first.metadata["assignee"] == "ann@co.example"
    assert first.metadata["history"][1]["field"] == "Status"
    assert first.metadata["history"][1]["new"] == "Approved"
    assert items["ATL-3"].metadata["due"] == "2026-10-15"
    assert items["ATL-3"].metadata["reporter"] == "Maya Okafor"
    assert items["ATL-4"].metadata["priority"] == "Low"


def test_project_column_and_readers(store: Store, tmp_path: Path) -> None:
    org(store)
    source, _ = jira_source(store, tmp_path)
    sync(store, source)
    items = tasks(store, Principal.person("ann"), source)
    assert {key: item.project for key, item in items.items()} == {
        "ATL-1": "atlas",
        "ATL-2": "atlas",
        "ATL-3": "atlas",
        "ATL-4": "atlas",
        "OPS-1": None,
    }
    assert items["OPS-1"].readers == {"person:ann", "person:bo"}
    assert items["ATL-1"].readers == {"person:ann", "person:maya@co.example", "project:atlas"}
    assert sorted(tasks(store, Principal.person("bo"), source)) == ["ATL-2", "OPS-1"]
    assert sorted(tasks(store, Principal.person("dee-ray"), source)) == [
        "ATL-1",
        "ATL-2",
        "ATL-3",
        "ATL-4",
    ]
    assert tasks(store, Principal.person("cy"), source) == {}


def test_history_and_state_become_decisions(store: Store, tmp_path: Path) -> None:
    org(store)
    source, _ = jira_source(store, tmp_path)
    report = sync(store, source)
    items = tasks(store, Principal.maintenance(), source)
    key_of = {item.id: key for key, item in items.items()}
    found = {(key_of[d.item_id], d.person, d.action, d.target) for d in store.list_decisions()}
    assert found == {
        ("ATL-1", "maya@co.example", "reassign", "ann"),
        ("ATL-1", "ann", "approve", None),
        ("ATL-2", "bo", "reject", None),
        ("ATL-3", "maya-okafor", "reassign", "dee-ray"),
    }
    assert report.decisions == 4
    (approve,) = store.list_decisions(actions=["approve"])
    assert approve.at == datetime(2026, 10, 1, 10, 2, tzinfo=UTC)
    assert approve.latency_seconds == (3 * 24 + 1) * 3600 + 2 * 60
    assert approve.origin == "observed"
    assert "In Progress -> Approved" in approve.text
    (reject,) = store.list_decisions(actions=["reject"])
    assert reject.at == datetime(2026, 10, 3, 16, 0, tzinfo=UTC)


def test_second_sync_adds_nothing_and_a_changed_row_supersedes(
    store: Store, tmp_path: Path
) -> None:
    org(store)
    source, path = jira_source(store, tmp_path)
    sync(store, source)
    os.utime(path, (1_700_000_000, 1_700_000_000))  # touched, content the same
    again = sync(store, store.get_source(source.id or 0))
    assert (again.added, again.superseded, again.decisions) == (0, 0, 0)
    rows = jira_rows()
    rows[3] = row("ATL-4", "Write the launch post", Status="In Progress", Project_name="Atlas")
    path.write_text(csv_text(rows), encoding="utf-8")
    changed = sync(store, store.get_source(source.id or 0))
    assert (changed.added, changed.superseded, changed.unchanged) == (1, 1, 4)
    current = tasks(store, Principal.person("ann"), source)["ATL-4"]
    assert current.metadata["status"] == "In Progress"


def test_missing_columns_are_one_problem_and_nothing_is_stored(
    store: Store, tmp_path: Path
) -> None:
    org(store)
    path = tmp_path / "wrong.csv"
    path.write_text("Key,Title,State\nA-1,Something,Open\n", encoding="utf-8")
    source = add_source(store, "tasks", str(path), owner="ann")
    report = sync(store, source)
    assert (report.added, report.problems) == (0, 1)
    (error,) = store.source_errors(source.id or 0)
    assert error.location == str(path)
    assert "missing columns Issue key, Summary" in error.reason
    assert "found: Key, Title, State" in error.reason


def test_a_bad_date_skips_only_its_row(store: Store, tmp_path: Path) -> None:
    org(store)
    rows = jira_rows()
    rows[1] = row("ATL-2", "Bad dates", Updated="next tuesday", Project_name="Atlas")
    path = tmp_path / "jira.csv"
    path.write_text(csv_text(rows), encoding="utf-8")
    source = add_source(store, "tasks", str(path), owner="ann")
    report = sync(store, source)
    assert (report.added, report.problems) == (4, 1)
    (error,) = store.source_errors(source.id or 0)
    assert error.location == f"{path}: row 3"
    assert error.reason == "bad date in 'Updated': 'next tuesday'"
    assert "ATL-2" not in tasks(store, Principal.person("ann"), source)


def test_a_row_without_a_key_is_a_problem(store: Store, tmp_path: Path) -> None:
    org(store)
    path = tmp_path / "jira.csv"
    path.write_text(csv_text([row("", "No key"), row("ATL-9", "Has key")]), encoding="utf-8")
    source = add_source(store, "tasks", str(path), owner="ann")
    report = sync(store, source)
    assert (report.added, report.problems) == (1, 1)
    assert store.source_errors(source.id or 0)[0].location == f"{path}: row 2"


def github_issues() -> list[dict[str, Any]]:
    """Return two GitHub issues: one closed as not planned, one reassigned by events."""
    return [
        {
            "number": 12,
            "title": "Dark mode",
            "state": "closed",
            "state_reason": "not_planned",
            "user": {"login": "octo-cat"},
            "assignee": {"login": "bo"},
            "assignees": [{"login": "bo"}],
            "labels": [{"name": "feature"}, "ui"],
            "created_at": "2026-09-01T08:00:00Z",
            "updated_at": "2026-09-05T08:00:00Z",
            "closed_at": "2026-09-05T08:00:00Z",
            "closed_by": {"login": "ann"},
            "body": "Please add dark mode.",
            "comments": [
                {"user": {"login": "ann"}, "body": "Not this year.",
                 "created_at": "2026-09-05T07:59:00Z"}
            ],
        },
        {
            "number": 13,
            "title": "Crash on login",
            "state": "open",
            "user": {"login": "bo"},
            "assignees": [{"login": "cy"}],
            "labels": [],
            "created_at": "2026-09-02T08:00:00Z",
            "updated_at": "2026-09-03T08:00:00Z",
            "body": None,
            "comments": 0,
            "events": [
                {"event": "assigned", "actor": {"login": "bo"}, "assignee": {"login": "bo"},
                 "created_at": "2026-09-02T09:00:00Z"},
                {"event": "assigned", "actor": {"login": "bo"}, "assignee": {"login": "cy"},
                 "created_at": "2026-09-03T08:00:00Z"},
            ],
        },
    ]  # fmt: skip


@pytest.mark.parametrize("wrapped", [False, True])
def test_github_issues_become_tasks_and_decisions(
    store: Store, tmp_path: Path, wrapped: bool
) -> None:
    org(store)
    path = tmp_path / "issues.json"
    data: Any = {"issues": github_issues()} if wrapped else github_issues()
    path.write_text(json.dumps(data), encoding="utf-8")
    source = add_source(store, "tasks", str(path), owner="ann")
    report = sync(store, source)
    assert (report.added, report.problems) == (2, 0)
    items = tasks(store, Principal.person("ann"), source)
    assert {key: item.title for key, item in items.items()} == {
        "12": "Dark mode",
        "13": "Crash on login",
    }
    dark = items["12"]
    assert dark.body == "Please add dark mode.\n\nComments:\nann (2026-09-05 07:59): Not this year."
    assert dark.metadata["labels"] == ["feature", "ui"]
    assert dark.metadata["status"] == "closed"
    assert dark.metadata["resolution"] == "not planned"
    assert items["13"].metadata["assignee"] == "cy"
    key_of = {item.id: key for key, item in items.items()}
    found = {(key_of[d.item_id], d.person, d.action, d.target) for d in store.list_decisions()}
    assert found == {("12", "ann", "reject", None), ("13", "bo", "reassign", "cy")}


def test_github_json_without_titles_is_one_problem(store: Store, tmp_path: Path) -> None:
    org(store)
    path = tmp_path / "issues.json"
    path.write_text(json.dumps([{"number": 1, "name": "x"}]), encoding="utf-8")
    source = add_source(store, "tasks", str(path), owner="ann")
    report = sync(store, source)
    assert (report.added, report.problems) == (0, 1)
    (error,) = store.source_errors(source.id or 0)
    assert error.location == str(path)
    assert "missing fields title" in error.reason


def test_broken_json_names_the_line(store: Store, tmp_path: Path) -> None:
    org(store)
    path = tmp_path / "issues.json"
    path.write_text('[\n{"number": 1,\n', encoding="utf-8")
    source = add_source(store, "tasks", str(path), owner="ann")
    sync(store, source)
    (error,) = store.source_errors(source.id or 0)
    assert error.reason.startswith("not valid JSON (line 3")


def test_a_folder_of_exports_is_read_file_by_file(store: Store, tmp_path: Path) -> None:
    org(store)
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "jira.csv").write_text(csv_text(jira_rows()), encoding="utf-8")
    (folder / "github.json").write_text(json.dumps(github_issues()), encoding="utf-8")
    (folder / ".hidden.csv").write_text("junk", encoding="utf-8")
    source = add_source(store, "tasks", str(folder), owner="ann")
    report = sync(store, source)
    assert (report.added, report.problems) == (7, 0)
    again = sync(store, store.get_source(source.id or 0))
    assert (again.seen, again.added) == (0, 0)


def test_history_entries_parse_with_spaces_and_empty_values() -> None:
    changes = parse_history(
        "2026-10-01 10:02 maya-okafor: Status In Progress -> Done"
        " | 2026-10-01 11:00 Ann Lee: Due date 2026-10-10 -> 2026-10-17"
        " | 2026-10-01 12:00 bo@co.example: Assignee -> cy@co.example"
        " | nonsense without a date"
    )
    assert [(c.who, c.field, c.old, c.new) for c in changes] == [
        ("maya-okafor", "Status", "In Progress", "Done"),
        ("Ann Lee", "Due date", "2026-10-10", "2026-10-17"),
        ("bo@co.example", "Assignee", "", "cy@co.example"),
        ("", "", "", ""),
    ]
    assert changes[0].at == datetime(2026, 10, 1, 10, 2, tzinfo=UTC)
    assert changes[3].raw == "nonsense without a date"


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=300))
def test_history_parsing_never_fails(text: str) -> None:
    for change in parse_history(text):
        assert change.raw


def test_a_missing_location_is_a_problem(store: Store, tmp_path: Path) -> None:
    org(store)
    source = add_source(store, "tasks", str(tmp_path / "none.csv"), owner="ann")
    report = sync(store, source)
    assert report.problems == 1
    assert store.source_errors(source.id or 0)[0].reason == "no such file or folder"
