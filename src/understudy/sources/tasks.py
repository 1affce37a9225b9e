"""The ``tasks`` connector: Jira CSV and GitHub issues JSON exports, one item per issue.

The location is an export file, or a folder whose ``.csv`` and ``.json``
files are all read. Each issue becomes one ``task`` item: external id = the
Jira issue key (GitHub: the issue number, as ``owner/repo#N`` when the export
names its repository); title = summary; body = description, then comments as
``author (date): text``. Status, priority, people, dates, labels, comments and
the parsed change history go in metadata, with people as the export wrote
them. People given as email addresses become contacts: the reporter is the
author, everyone else named (assignee, commenters, people in the history) a
recipient; the assignee, reporter and commenters may read the item. An issue
whose project column (GitHub: repository name) names a known project is put
in that project and its members may read it; a source registered with a
project puts every issue there. Naive times are taken as UTC.

Jira CSV repeats column names (``Comment``, ``Labels``), so columns are found
by position. A comment cell is ``date;author;text`` (Jira's form) or plain
text. ``Change history`` holds entries separated by `` | ``, each
``YYYY-MM-DD HH:MM who: Field old -> new``.

Decision rules (``observe``), every decision with origin ``observed``:

* approve / reject. An outcome value is, case-insensitively, ``Approved``
  (approve) or ``Rejected``, ``Declined``, ``Won't Do``, ``Won't Fix``,
  ``Not planned`` (reject). On an Approval-type issue (issue type or a label
  containing "approval") ``Done``, ``Closed``, ``Resolved``, ``Fixed`` and
  ``Completed`` also mean approve. Each history entry that sets Status or
  Resolution to an outcome value is a decision by the person in the entry, at
  the entry's time. When the history shows none, an issue whose current
  Resolution (else Status) is an outcome value is a decision by whoever
  closed it (GitHub ``closed_by``), else by the assignee, at the resolved
  time (else updated, else the item's time). No known person, no decision.
* reassign. Each history entry ``Assignee a -> b`` with a new assignee
  ``b`` different from ``a`` is a decision by the person in the entry, with
  ``target`` = ``b``, at the entry's time. Taking an issue oneself (the
  person in the entry is ``b``) is not a reassignment.
* Latency is the time from the issue's creation (reassign: from the last
  assignee change before it, else creation) to the decision.
* People are person ids: an email address resolves through the stored items'
  author and recipients (the ids the pipeline gave those contacts); anything
  else (a Jira user name, a GitHub login) is kept as written, lower-cased
  when it is an email address.

Sync is incremental per file: the cursor keeps each file's ``[mtime_ns,
size]``; an unchanged file is not read again, a changed file is read whole
and only issues whose content changed become new versions.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from understudy.records import Decision, Item, project_reader, utc
from understudy.sources.base import Checkpoint, Connector, Contact, Draft, Problem, Reading
from understudy.sources.documents import decode_text

__all__ = [
    "Change",
    "Comment",
    "Issue",
    "TasksConnector",
    "github_issues",
    "issue_decisions",
    "issue_draft",
    "jira_issues",
    "parse_history",
    "parse_time",
    "people_index",
]

JIRA_REQUIRED = ("Issue key", "Summary")
GITHUB_REQUIRED = ("number", "title")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_APPROVE = frozenset({"approved", "approve"})
_REJECT = frozenset({"rejected", "declined", "won't do", "wont do", "won't fix", "wontfix"})
_REJECT_MORE = frozenset({"not planned"})
_DONE = frozenset({"done", "closed", "resolved", "fixed", "completed", "complete"})
_KNOWN_FIELDS = (
    "Fix Version/s",
    "Issue Type",
    "Due date",
    "Assignee",
    "Reporter",
    "Resolution",
    "Status",
    "Priority",
    "Summary",
    "Labels",
    "Sprint",
    "Description",
)
_ENTRY = re.compile(
    r"^\s*(?P<at>\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?)"
    r"\s+(?P<who>[^:]+?):\s*(?P<change>.*?)\s*$",
    re.DOTALL,
)
_JIRA_COMMENT = re.compile(r"^(?P<at>[^;\n]{6,40});(?P<who>[^;\n]+);(?P<text>.*)$", re.DOTALL)
_TIME_FORMATS = (
    "%d/%b/%y %I:%M %p",
    "%d/%b/%Y %I:%M %p",
    "%d/%b/%y %H:%M",
    "%d/%b/%y",
    "%d/%b/%Y",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
)


@dataclass(frozen=True, slots=True)
class Comment:
    """One comment on an issue."""

    author: str
    at: datetime | None
    text: str

    def as_dict(self) -> dict[str, Any]:
        """Return the comment as plain data for metadata."""
        return {"author": self.author, "at": _iso(self.at), "text": self.text}


@dataclass(frozen=True, slots=True)
class Change:
    """One change-history entry: who set which field from what to what, and when."""

    at: datetime | None
    who: str
    field: str
    old: str
    new: str
    raw: str

    def as_dict(self) -> dict[str, Any]:
        """Return the change as plain data for metadata."""
        return {
            "at": _iso(self.at),
            "who": self.who,
            "field": self.field,
            "old": self.old,
            "new": self.new,
            "raw": self.raw,
        }


@dataclass(slots=True)
class Issue:
    """One issue as an export describes it, whatever the export's format."""

    key: str
    summary: str
    description: str = ""
    issue_type: str = ""
    status: str = ""
    priority: str = ""
    assignee: str = ""
    reporter: str = ""
    created: datetime | None = None
    updated: datetime | None = None
    resolved: datetime | None = None
    due: str = ""
    resolution: str = ""
    project_name: str = ""
    closed_by: str = ""
    url: str = ""
    labels: list[str] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    history: list[Change] = field(default_factory=list)


class _RowError(ValueError):
    """A row or issue that cannot be read; the message says which field and why."""


# --- times and people -------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else utc(moment).isoformat()


def parse_time(text: str) -> datetime:
    """Return an export's time as aware UTC; raise ValueError if it is not a time."""
    value = text.strip()
    try:
        return utc(datetime.fromisoformat(value))
    except ValueError:
        pass
    for layout in _TIME_FORMATS:
        try:
            return utc(datetime.strptime(value, layout))
        except ValueError:
            continue
    raise ValueError(f"not a date: {value!r}")


def _time_field(name: str, text: str | None) -> datetime | None:
    if not text or not text.strip():
        return None
    try:
        return parse_time(text)
    except ValueError:
        raise _RowError(f"bad date in {name!r}: {text.strip()!r}") from None


def _is_email(text: str) -> bool:
    return bool(_EMAIL.match(text.strip()))


def _person_key(raw: str) -> str:
    text = raw.strip()
    return text.lower() if _is_email(text) else text


# --- change history ---------------------------------------------------------


def parse_history(text: str) -> list[Change]:
    """Return the entries of a Jira ``Change history`` cell, unparsed ones kept raw."""
    changes: list[Change] = []
    for raw in re.split(r"\s+\|\s+|\n", text):
        if raw.strip():
            changes.append(_parse_entry(raw.strip()))
    return changes


def _parse_entry(raw: str) -> Change:
    match = _ENTRY.match(raw)
    if match is None:
        return Change(at=None, who="", field="", old="", new="", raw=raw)
    try:
        at: datetime | None = parse_time(match.group("at"))
    except ValueError:
        at = None
    change = match.group("change").replace("→", "->")
    name = next(
        (f for f in _KNOWN_FIELDS if change.lower().startswith(f.lower() + " ")),
        change.split(" ", 1)[0],
    )
    rest = change[len(name) :].strip()
    if "->" not in rest:
        return Change(at=at, who=match.group("who").strip(), field="", old="", new="", raw=raw)
    old, _, new = rest.partition("->")
    return Change(at, match.group("who").strip(), name, old.strip(), new.strip(), raw)


# --- Jira CSV ---------------------------------------------------------------


class _Columns:
    """Column positions of a Jira CSV header, where a name may repeat."""

    def __init__(self, header: Sequence[str]) -> None:
        self.names = [name.strip().lstrip("\ufeff") for name in header]
        self.positions: dict[str, list[int]] = {}
        for index, name in enumerate(self.names):
            self.positions.setdefault(name.lower(), []).append(index)

    def missing(self, required: Sequence[str]) -> list[str]:
        """Return the required columns the header lacks."""
        return [name for name in required if name.lower() not in self.positions]

    def all(self, row: Sequence[str], *names: str) -> list[str]:
        """Return the non-empty values of every column called one of ``names``."""
        found: list[str] = []
        for name in names:
            for index in self.positions.get(name.lower(), []):
                if index < len(row) and row[index].strip():
                    found.append(row[index].strip())
        return found

    def first(self, row: Sequence[str], *names: str) -> str:
        """Return the first non-empty value among the columns called ``names``."""
        values = self.all(row, *names)
        return values[0] if values else ""


def _jira_comment(cell: str) -> Comment:
    match = _JIRA_COMMENT.match(cell)
    if match:
        try:
            at = parse_time(match.group("at"))
            return Comment(match.group("who").strip(), at, match.group("text").strip())
        except ValueError:
            pass
    return Comment("", None, cell.strip())


def _jira_issue(columns: _Columns, row: Sequence[str]) -> Issue:
    key = columns.first(row, "Issue key")
    if not key:
        raise _RowError("no value in 'Issue key'")
    labels: list[str] = []
    for cell in columns.all(row, "Labels"):
        labels.extend(label for label in re.split(r"[,\s]+", cell) if label)
    due = _time_field("Due date", columns.first(row, "Due date"))
    return Issue(
        key=key,
        summary=columns.first(row, "Summary"),
        description=columns.first(row, "Description"),
        issue_type=columns.first(row, "Issue Type"),
        status=columns.first(row, "Status"),
        priority=columns.first(row, "Priority"),
        assignee=columns.first(row, "Assignee"),
        reporter=columns.first(row, "Reporter"),
        created=_time_field("Created", columns.first(row, "Created")),
        updated=_time_field("Updated", columns.first(row, "Updated")),
        resolved=_time_field("Resolved", columns.first(row, "Resolved")),
        due=due.date().isoformat() if due else "",
        resolution=columns.first(row, "Resolution"),
        project_name=columns.first(row, "Project name", "Project key"),
        labels=list(dict.fromkeys(labels)),
        comments=[_jira_comment(cell) for cell in columns.all(row, "Comment")],
        history=parse_history("\n".join(columns.all(row, "Change history", "History"))),
    )


def jira_issues(path: Path, text: str) -> Iterator[Issue | Problem]:
    """Yield the issues of a Jira CSV export, and problems for rows that are not."""
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(rows, None)
        columns = _Columns(header or [])
        missing = columns.missing(JIRA_REQUIRED)
        if header is None or missing:
            yield Problem(str(path), _missing_message("columns", missing, columns.names))
            return
        for number, row in enumerate(rows, start=2):
            if not any(cell.strip() for cell in row):
                continue
            try:
                yield _jira_issue(columns, row)
            except _RowError as exc:
                yield Problem(f"{path}: row {number}", str(exc))
    except csv.Error as exc:
        reason = f"not readable as CSV ({exc}); the rest of the file is skipped"
        yield Problem(f"{path}: line {rows.line_num}", reason)


def _missing_message(what: str, missing: Sequence[str], found: Sequence[str]) -> str:
    shown = ", ".join(f for f in found if f)[:300] or "none"
    return (
        f"not a task export: missing {what} {', '.join(missing)} (found: {shown}); "
        "export Jira issues as CSV with all fields, or GitHub issues as JSON"
    )


# --- GitHub JSON ------------------------------------------------------------


def _login(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("email") or value.get("login") or value.get("name") or "")
    return str(value or "")


def _github_history(events: Any) -> list[Change]:
    changes: list[Change] = []
    for event in events if isinstance(events, list) else []:
        if isinstance(event, str):
            changes.extend(parse_history(event))
            continue
        if not isinstance(event, dict):
            continue
        kind, who = str(event.get("event", "")), _login(event.get("actor"))
        at = _time_field("events.created_at", event.get("created_at"))
        assignee, label = _login(event.get("assignee")), _login(event.get("label"))
        field_old_new = {
            "assigned": ("Assignee", "", assignee),
            "unassigned": ("Assignee", assignee, ""),
            "closed": ("Status", "open", "closed"),
            "reopened": ("Status", "closed", "open"),
            "labeled": ("Labels", "", label),
            "unlabeled": ("Labels", label, ""),
        }.get(kind)
        if field_old_new is None:
            continue
        name, old, new = field_old_new
        if kind == "closed" and event.get("state_reason"):
            name, new = "Resolution", str(event["state_reason"]).replace("_", " ")
        changes.append(Change(at, who, name, old, new, f"{kind} by {who}"))
    return _chain_assignees(changes)


def _chain_assignees(changes: list[Change]) -> list[Change]:
    """Fill in the previous assignee of GitHub ``assigned`` events, which do not say."""
    current = ""
    chained: list[Change] = []
    for change in changes:
        if change.field == "Assignee":
            if change.new and not change.old:
                change = Change(change.at, change.who, "Assignee", current, change.new, change.raw)
            current = change.new
        chained.append(change)
    return chained


def _github_issue(data: dict[str, Any]) -> Issue:
    assignees = [_login(a) for a in data.get("assignees") or [] if _login(a)]
    repo = str(data.get("repository_url") or "").rstrip("/").split("/repos/")[-1]
    repo = repo if repo.count("/") == 1 else ""
    comments = data.get("comments") if isinstance(data.get("comments"), list) else []
    kind = data.get("type")
    return Issue(
        key=f"{repo}#{data['number']}" if repo else str(data["number"]),
        summary=str(data["title"] or ""),
        description=str(data.get("body") or ""),
        issue_type=str(kind.get("name", "")) if isinstance(kind, dict) else str(kind or ""),
        status=str(data.get("state") or ""),
        assignee=_login(data.get("assignee")) or (assignees[0] if assignees else ""),
        reporter=_login(data.get("user")),
        created=_time_field("created_at", data.get("created_at")),
        updated=_time_field("updated_at", data.get("updated_at")),
        resolved=_time_field("closed_at", data.get("closed_at")),
        resolution=str(data.get("state_reason") or "").replace("_", " "),
        project_name=str(data.get("project") or repo.rpartition("/")[2]),
        closed_by=_login(data.get("closed_by")),
        url=str(data.get("html_url") or ""),
        labels=[_login(label) for label in data.get("labels") or [] if _login(label)],
        comments=[
            Comment(
                _login(c.get("user")),
                _time_field("comments.created_at", c.get("created_at")),
                str(c.get("body") or ""),
            )
            for c in comments or []
            if isinstance(c, dict)
        ],
        history=_github_history(data.get("events") or data.get("history")),
    )


def github_issues(path: Path, text: str) -> Iterator[Issue | Problem]:
    """Yield the issues of a GitHub issues JSON export (a list, or ``{"issues": [...]}``)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        yield Problem(str(path), f"not valid JSON (line {exc.lineno}, column {exc.colno})")
        return
    issues = data.get("issues") if isinstance(data, dict) else data
    if not isinstance(issues, list) or not all(isinstance(i, dict) for i in issues):
        yield Problem(str(path), _missing_message("fields", ["issues"], []))
        return
    missing = [name for name in GITHUB_REQUIRED if any(name not in i for i in issues)]
    if missing:
        found = sorted({name for issue in issues for name in issue})
        yield Problem(str(path), _missing_message("fields", missing, found))
        return
    for index, issue in enumerate(issues, start=1):
        try:
            yield _github_issue(issue)
        except _RowError as exc:
            yield Problem(f"{path}: issue {issue.get('number', index)}", str(exc))


# --- drafts -----------------------------------------------------------------


def _body(issue: Issue) -> str:
    parts = [issue.description.strip()] if issue.description.strip() else []
    if issue.comments:
        lines = ["Comments:"]
        for comment in issue.comments:
            when = f" ({utc(comment.at):%Y-%m-%d %H:%M})" if comment.at else ""
            lines.append(f"{comment.author or 'unknown'}{when}: {comment.text}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _contact(raw: str) -> Contact | None:
    return Contact(email=raw.strip().lower()) if _is_email(raw) else None


def _metadata(issue: Issue, file: str) -> dict[str, Any]:
    return {
        "file": file,
        "key": issue.key,
        "issue_type": issue.issue_type,
        "status": issue.status,
        "priority": issue.priority,
        "assignee": issue.assignee,
        "reporter": issue.reporter,
        "created": _iso(issue.created),
        "updated": _iso(issue.updated),
        "resolved": _iso(issue.resolved),
        "due": issue.due or None,
        "resolution": issue.resolution,
        "project_name": issue.project_name,
        "closed_by": issue.closed_by,
        "url": issue.url,
        "labels": issue.labels,
        "comments": [comment.as_dict() for comment in issue.comments],
        "history": [change.as_dict() for change in issue.history],
    }


def _involved(issue: Issue) -> list[str]:
    """Return the email addresses named on an issue other than the reporter's, in order."""
    named = [issue.assignee, issue.closed_by, *(c.author for c in issue.comments)]
    for change in issue.history:
        named.append(change.who)
        if change.field == "Assignee":
            named.extend((change.old, change.new))
    reporter = _person_key(issue.reporter)
    emails = (_person_key(raw) for raw in named if _is_email(raw))
    return [email for email in dict.fromkeys(emails) if email != reporter]


def issue_draft(issue: Issue, file: str, fallback: datetime, project: str | None) -> Draft:
    """Return the draft item of one issue."""
    involved = _involved(issue)
    readers: list[str | Contact] = [project_reader(project)] if project else []
    for raw in (issue.assignee, issue.reporter, *(c.author for c in issue.comments)):
        contact = _contact(raw)
        if contact is not None and contact not in readers:
            readers.append(contact)
    metadata = _metadata(issue, file)
    metadata["author_email"] = _person_key(issue.reporter) if _is_email(issue.reporter) else None
    metadata["recipient_emails"] = involved
    return Draft(
        external_id=issue.key,
        kind="task",
        timestamp=issue.updated or issue.created or issue.resolved or fallback,
        title=issue.summary,
        body=_body(issue),
        author=_contact(issue.reporter),
        recipients=tuple(Contact(email=email) for email in involved),
        readers=tuple(readers),
        project=project,
        metadata=metadata,
    )


# --- decisions --------------------------------------------------------------


def _outcome(value: str, approval_type: bool) -> str | None:
    text = " ".join(value.lower().replace("’", "'").replace("_", " ").split())
    if text in _APPROVE or (approval_type and text in _DONE):
        return "approve"
    if text in _REJECT or text in _REJECT_MORE:
        return "reject"
    return None


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return parse_time(str(value))
    except ValueError:
        return None


def _latency(since: datetime | None, at: datetime) -> float | None:
    if since is None or at < since:
        return None
    return (at - since).total_seconds()


def people_index(items: Sequence[Item]) -> dict[str, str]:
    """Return email address → person id, learnt from stored items' author and recipients."""
    index: dict[str, str] = {}
    for item in items:
        author_email = item.metadata.get("author_email")
        if author_email and item.author:
            index[author_email] = item.author
        emails = item.metadata.get("recipient_emails") or []
        # The pipeline drops duplicates after resolving, so only a full match lines up.
        if len(emails) == len(item.recipients):
            index.update(zip(emails, item.recipients, strict=True))
    return index


def issue_decisions(item: Item, people: dict[str, str]) -> list[Decision]:
    """Return the approve, reject and reassign decisions the history of one task shows."""
    meta = item.metadata
    if item.id is None:
        return []

    def person(raw: str) -> str:
        """Return the person id for a name, id or address as the export wrote it."""
        key = _person_key(raw)
        return people.get(key, key)

    labels = [str(label).lower() for label in meta.get("labels") or []]
    approval = "approval" in str(meta.get("issue_type", "")).lower() or any(
        "approval" in label for label in labels
    )
    created = _time(meta.get("created"))
    found = _history_decisions(item.id, meta.get("history") or [], approval, created, person)
    if not any(d.action in ("approve", "reject") for d in found):
        found.extend(_state_decision(item, approval, created, person))
    return found


PersonOf = Callable[[str], str]


def _history_decisions(
    item_id: int,
    history: list[dict[str, Any]],
    approval: bool,
    created: datetime | None,
    person: PersonOf,
) -> list[Decision]:
    found: list[Decision] = []
    last_assigned = created
    for entry in history:
        at, who, name = _time(entry.get("at")), str(entry.get("who") or ""), entry.get("field", "")
        if at is None or not who:
            continue
        name = str(name).lower()
        new, old = str(entry.get("new") or ""), str(entry.get("old") or "")
        outcome = _outcome(new, approval) if name in ("status", "resolution") else None
        raw = str(entry.get("raw") or "")
        if outcome is not None:
            latency = _latency(created, at)
            found.append(Decision(person(who), item_id, outcome, at, None, latency, raw))
        if name == "assignee" and new and person(new) != person(old):
            if person(new) != person(who):
                latency = _latency(last_assigned, at)
                found.append(
                    Decision(person(who), item_id, "reassign", at, person(new), latency, raw)
                )
            last_assigned = at
    return found


def _state_decision(
    item: Item, approval: bool, created: datetime | None, person: PersonOf
) -> list[Decision]:
    meta = item.metadata
    outcome = _outcome(str(meta.get("resolution") or ""), approval) or _outcome(
        str(meta.get("status") or ""), approval
    )
    decider = str(meta.get("closed_by") or meta.get("assignee") or "")
    if outcome is None or not decider or item.id is None:
        return []
    at = _time(meta.get("resolved")) or _time(meta.get("updated")) or utc(item.timestamp)
    state = str(meta.get("resolution") or meta.get("status"))
    return [Decision(person(decider), item.id, outcome, at, None, _latency(created, at), state)]


# --- the connector ----------------------------------------------------------


class TasksConnector(Connector):
    """Read Jira CSV and GitHub issues JSON exports; observe approvals and reassignments."""

    kind: ClassVar[str] = "tasks"
    item_kinds: ClassVar[tuple[str, ...]] = ("task",)
    description: ClassVar[str] = (
        "Issues from a Jira CSV or GitHub issues JSON export; approvals, rejections and "
        "reassignments in their history become decisions."
    )
    location_help: ClassVar[str] = "an export file (.csv or .json), or a folder of them"

    def _files(self) -> list[Path]:
        root = Path(self.source.location).expanduser()
        if root.is_file():
            return [root]
        found = (
            path
            for path in root.rglob("*")
            if path.suffix.lower() in (".csv", ".json")
            and not any(part.startswith(".") for part in path.relative_to(root).parts)
        )
        return sorted(path for path in found if path.is_file())

    def _changed(self, cursor: dict[str, Any]) -> Iterator[tuple[Path, list[int]]]:
        known = cursor.get("files", {})
        for path in self._files():
            try:
                stat = path.stat()
            except OSError:
                continue  # gone since it was listed
            signature = [stat.st_mtime_ns, stat.st_size]
            if known.get(str(path)) != signature:
                yield path, signature

    def estimate(self, cursor: dict[str, Any]) -> int | None:
        """Return roughly how many issues the changed export files hold."""
        total = 0
        try:
            for path, _ in self._changed(cursor):
                text = decode_text(path.read_bytes())
                total += max(1, text.count("\n")) if path.suffix.lower() == ".csv" else 1
        except OSError:
            return None  # read() reports the file; a progress bar can do without a total
        return total

    def read(self, cursor: dict[str, Any]) -> Iterator[Reading]:
        """Yield a draft per issue of each new or changed export file."""
        root = Path(self.source.location).expanduser()
        if not root.exists():
            yield Problem(self.source.location, "no such file or folder")
            return
        files: dict[str, list[int]] = dict(cursor.get("files", {}))
        for path, signature in self._changed(cursor):
            yield from self._read_file(path, signature)
            files[str(path)] = signature
            yield Checkpoint({"files": files})

    def _read_file(self, path: Path, signature: list[int]) -> Iterator[Reading]:
        try:
            text = decode_text(path.read_bytes())
        except OSError as exc:
            yield Problem(str(path), f"cannot read: {exc.strerror or exc}")
            return
        is_json = path.suffix.lower() == ".json" or text.lstrip()[:1] in ("[", "{")
        parsed = github_issues(path, text) if is_json else jira_issues(path, text)
        fallback = datetime.fromtimestamp(signature[0] / 1e9, UTC)
        for found in parsed:
            if isinstance(found, Problem):
                yield found
            else:
                yield issue_draft(found, path.name, fallback, self._project(found))

    def _project(self, issue: Issue) -> str | None:
        """Return the source's project, else the one the project column or key prefix names."""
        if self.source.project:
            return self.source.project
        names = (issue.project_name, issue.key.rpartition("-")[0])
        known = self.context.projects
        return next((known[n.lower()] for n in names if n and n.lower() in known), None)

    def observe(self, items: Sequence[Any]) -> list[Decision]:
        """Return the approve, reject and reassign decisions in the stored tasks' history."""
        tasks = [item for item in items if isinstance(item, Item) and item.kind == "task"]
        people = people_index(tasks)
        return [decision for item in tasks for decision in issue_decisions(item, people)]
