"""Generate the demo company: build the story from the seed, then write it as files.

The same (seed, today) always gives the same bytes and mtimes: every random
choice comes from a ``random.Random`` seeded by a string, nothing reads the
wall clock, and the tree is built in a staging folder and swapped into place.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from understudy.demo.agenda import build_agenda
from understudy.demo.automated import run_automated
from understudy.demo.calendar import calendar_bytes, last_change
from understudy.demo.chat import build_chat, slack_export
from understudy.demo.clock import Clock
from understudy.demo.company import build_company
from understudy.demo.conversations import Conversations
from understudy.demo.documents import write_documents
from understudy.demo.figures import draw_figures, write_figures
from understudy.demo.files import Tree, zip_bytes
from understudy.demo.habits import draw_habits, sender_class
from understudy.demo.mail import write_mailboxes
from understudy.demo.manifest import DemoManifest, DemoSource
from understudy.demo.org import org_toml
from understudy.demo.planted import plant_stories
from understudy.demo.story import Timeline
from understudy.demo.tasks import build_tasks, tracker_csv
from understudy.demo.traffic import run_inbound, run_internal
from understudy.errors import InputError

__all__ = ["Progress", "build_story", "generate_demo"]

Progress = Callable[[str, int, int], None]


def _quiet(stage: str, done: int, total: int) -> None:
    """Ignore progress when nobody is listening."""


def build_story(seed: int, today: date, progress: Progress = _quiet) -> Timeline:
    """Return the whole ten-week story for ``seed``, ending at 08:00 on ``today``."""
    company = build_company()
    clock = Clock(today, ZoneInfo(company.timezone))
    tl = Timeline(
        company, draw_habits(company, seed), clock, seed, draw_figures(company, seed, today)
    )
    conversations = Conversations(tl)
    steps: list[Callable[[], None]] = [
        lambda: build_tasks(tl),
        lambda: build_agenda(tl),
        lambda: run_internal(tl, conversations),
        lambda: run_inbound(tl, conversations),
        lambda: run_automated(tl),
        lambda: plant_stories(tl, conversations),
        lambda: build_chat(tl),
    ]
    for done, step in enumerate(steps):
        progress("story", done, len(steps))
        step()
    tl.mails = sorted(
        (m for m in tl.mails if clock.start <= m.at < clock.end), key=lambda m: (m.at, m.id)
    )
    progress("story", len(steps), len(steps))
    return tl


def _sources(tl: Timeline) -> tuple[DemoSource, ...]:
    sources = [DemoSource("maildir", f"mail/{p.id}", owner=p.id) for p in tl.company.people]
    sources += [DemoSource("ics", f"calendar/{p.id}.ics", owner=p.id) for p in tl.company.people]
    sources.append(DemoSource("slack", "chat/slack"))
    sources += [
        DemoSource("files", f"docs/{p.id}", project=p.id, readers=(f"project:{p.id}",))
        for p in tl.company.projects
    ]
    sources.append(DemoSource("files", "docs/company", readers=("group:everyone",)))
    sources.append(DemoSource("files", "docs/hr", readers=("group:hr",)))
    sources.append(DemoSource("tasks", "tasks/tracker.csv", readers=("group:everyone",)))
    sources.append(
        DemoSource(
            "sql",
            "data/figures.sqlite",
            readers=("group:exec", "group:finance"),
            # Salaries are for HR only, whoever else may read the company figures.
            options={"table_readers": {"compensation": ["group:hr"]}},
        )
    )
    return tuple(sources)


def _write_calendars(tl: Timeline, tree: Tree, progress: Progress) -> None:
    people = tl.company.people
    for done, person in enumerate(people):
        progress("calendar", done, len(people))
        tree.write(
            f"calendar/{person.id}.ics", calendar_bytes(tl, person.id), last_change(tl, person.id)
        )
    progress("calendar", len(people), len(people))


def _write_chat(tl: Timeline, tree: Tree, progress: Progress) -> None:
    progress("chat", 0, 2)
    files = slack_export(tl)
    for name, (data, stamp) in sorted(files.items()):
        tree.write(f"chat/slack/{name}", data, stamp)
    progress("chat", 1, 2)
    tree.write("chat/slack-export.zip", zip_bytes(files, tl.clock.end), tl.clock.end)
    progress("chat", 2, 2)


def _write_data(tl: Timeline, tree: Tree, progress: Progress) -> tuple[int, int]:
    progress("documents", 0, 1)
    documents = write_documents(tl, tree)
    progress("documents", 1, 1)
    progress("tasks", 0, 1)
    tree.write("tasks/tracker.csv", tracker_csv(tl), max(t.updated for t in tl.tasks))
    progress("tasks", 1, 1)
    progress("figures", 0, 1)
    path = tree.root / "data" / "figures.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_figures(tl.figures, path)
    tree.stamp(path, tl.clock.start)
    progress("figures", 1, 1)
    return documents, len(tl.tasks)


def _sender_classes(tl: Timeline) -> dict[str, dict[str, str]]:
    """Return, per person, the reply class of everyone who can write to them."""
    parties = [p.id for p in tl.company.people] + [o.id for o in tl.company.outsiders]
    return {
        person: {
            party: sender_class(tl.company, habits, party) for party in parties if party != person
        }
        for person, habits in sorted(tl.habits.items())
    }


def _truth(tl: Timeline) -> str:
    data = {
        "seed": tl.seed,
        "today": tl.clock.today.isoformat(),
        "timezone": tl.company.timezone,
        "note": "Ground truth for evaluation; not for ingestion. Latencies are in working "
        "minutes; planted messages listed under exceptions break the habits on purpose.",
        "habits": {person: habits.to_json() for person, habits in sorted(tl.habits.items())},
        "sender_classes": _sender_classes(tl),
        "exceptions": tl.exceptions,
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _write(tl: Timeline, tree: Tree, progress: Progress) -> DemoManifest:
    tree.write("org.toml", org_toml(tl.company), tl.clock.start)
    progress("mail", 0, 1)
    mail_files = write_mailboxes(tl, tree)
    progress("mail", 1, 1)
    _write_calendars(tl, tree, progress)
    _write_chat(tl, tree, progress)
    documents, tasks = _write_data(tl, tree, progress)
    counts = {
        "people": len(tl.company.people),
        "messages": len(tl.mails),
        "files": len(tree.written) + 2,
        "mail_files": mail_files,
        "events": len(tl.meetings),
        "chat_messages": len(tl.chat),
        "documents": documents,
        "tasks": tasks,
    }
    return DemoManifest(
        seed=tl.seed,
        today=tl.clock.today,
        timezone=tl.company.timezone,
        company=tl.company.name,
        domain=tl.company.domain,
        ceo=tl.company.ceo.id,
        counts=counts,
        sources=_sources(tl),
        planted=tuple(tl.planted),
    )


def _check_target(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise InputError(f"{root}: is a file; give a folder for the demo")
    if root.is_dir() and any(root.iterdir()) and not (root / "manifest.json").is_file():
        raise InputError(
            f"{root}: folder is not empty and holds no demo manifest.json; "
            "pick an empty folder or one a previous demo was generated into"
        )


def _swap(staging: Path, root: Path) -> None:
    old = root.with_name(f".{root.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if root.exists():
        root.rename(old)
    staging.rename(root)
    shutil.rmtree(old, ignore_errors=True)


def generate_demo(
    root: Path, seed: int = 7, today: date | None = None, progress: Progress | None = None
) -> DemoManifest:
    """Write the demo company under ``root`` and return its manifest (also in manifest.json)."""
    root = Path(root)
    report = progress or _quiet
    _check_target(root)
    tl = build_story(seed, today or date.today(), report)
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = root.with_name(f".{root.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    tree = Tree(staging)
    manifest = _write(tl, tree, report)
    report("manifest", 0, 1)
    tree.write("manifest.json", manifest.to_json(), tl.clock.end)
    tree.write("truth.json", _truth(tl), tl.clock.end)
    tree.seal(tl.clock.end)
    _swap(staging, root)
    report("manifest", 1, 1)
    return manifest
