"""Commands about a person's twin: train, predict, feedback, report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from understudy.cli.common import console, open_configured_store, print_json, progress_bar
from understudy.errors import InputError, NotFound
from understudy.records import Principal
from understudy.settings import Settings

__all__ = ["register"]

twin_app = typer.Typer(help="Train and inspect a person's twin.", no_args_is_help=True)
JSON_OPTION = typer.Option(False, "--json", help="Print JSON for scripts.")


def _zone() -> ZoneInfo:
    name = Settings.load().text("timezone")
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        raise InputError(
            f"timezone {name!r} is not a known time zone; set UNDERSTUDY_TIMEZONE"
        ) from None


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


@twin_app.command("train")
def train(
    person: str = typer.Option(None, "--for", help="Person to train (id, email or name)."),
    everyone: bool = typer.Option(False, "--all", help="Train everyone who has mail."),
    target: float = typer.Option(
        0.95, "--precision", help="Precision the autonomy thresholds must certify."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Learn a person's decisions, style and patterns from their history."""
    from understudy.twin.training import people_with_mail, train_people

    store = open_configured_store()
    if everyone:
        people = people_with_mail(store)
    elif person:
        people = [store.find_person(person).id]
    else:
        raise InputError("give --for PERSON or --all")
    with progress_bar("training twins", total=len(people), quiet=as_json) as bar:
        twins = train_people(store, people, _zone(), target, progress=lambda _: bar(1))
    rows: list[dict[str, Any]] = [
        {
            "person": t.person,
            "examples": len(t.examples),
            "reply_rate": round(t.rates.get("reply", 0.0), 3),
            "thresholds": t.thresholds,
            "folders": list(t.filing.folders),
        }
        for t in twins
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} twins trained")
    for column in (
        "person",
        "examples",
        "reply rate",
        "act: reply ≥",
        "act: ignore ≥",
        "act: file ≥",
        "folders",
    ):
        table.add_column(column)
    for r in rows:
        th = r["thresholds"]
        table.add_row(
            r["person"],
            str(r["examples"]),
            f"{r['reply_rate']:.2f}",
            _fmt(th.get("reply")),
            _fmt(th.get("ignore")),
            _fmt(th.get("file")),
            str(len(r["folders"])),
        )
    console.print(table)


@twin_app.command("report")
def report(
    person: str = typer.Option(..., "--for", help="Person whose twin to report on."),
    out: Path = typer.Option(
        Path("understudy-twin"), "--out", help="Folder for the plots and JSON."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write the twin's calibration, coverage and daily-pattern plots, style and patterns."""
    import numpy as np

    from understudy.twin.model import load_twin
    from understudy.twin.plots import activity_heatmap, reliability_diagram, risk_coverage_curve

    store = open_configured_store()
    twin = load_twin(store, store.find_person(person).id)
    out.mkdir(parents=True, exist_ok=True)
    held = twin.held_out
    files = [
        reliability_diagram(
            np.asarray(held.get("p_reply", []), dtype=float),
            np.asarray(held.get("replied", []), dtype=bool),
            out / f"reliability-{twin.person}.png",
            f"Reply calibration (held out) — {twin.person}",
        ),
        risk_coverage_curve(
            np.asarray(held.get("p_folder", []), dtype=float),
            np.asarray(held.get("folder_correct", []), dtype=bool),
            out / f"risk-coverage-{twin.person}.png",
            f"Filing risk–coverage (held out) — {twin.person}",
            twin.thresholds.get("file"),
        ),
        activity_heatmap(
            twin.patterns.activity,
            out / f"activity-{twin.person}.png",
            f"When {twin.person} writes",
        ),
    ]
    data = {
        "person": twin.person,
        "trained_at": twin.trained_at.isoformat(),
        "thresholds": twin.thresholds,
        "rates": twin.rates,
        "style": twin.style.as_dict(),
        "patterns": twin.patterns.as_dict(),
        "files": [str(f) for f in files],
    }
    (out / f"twin-{twin.person}.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
    if as_json:
        print_json(data)
        return
    console.print(f"Wrote {', '.join(str(f) for f in files)} and twin-{twin.person}.json")


def _item(store: object, item: int, person: str) -> object:
    found = store.get_item(Principal.person(person), item)  # type: ignore[attr-defined]
    if found is None:
        raise NotFound(f"item {item} does not exist or {person} may not read it")
    return found


def predict(
    item: int = typer.Argument(..., help="Item id (see 'understudy search … --json')."),
    person: str = typer.Option(..., "--for", help="Whose decision to predict."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Predict what a person would do with an item, with reasons and a suggested reply."""
    from understudy.twin.model import load_twin
    from understudy.twin.predict import predict_item

    store = open_configured_store()
    who = store.find_person(person).id
    found = _item(store, item, who)
    prediction = predict_item(store, load_twin(store, who), found)  # type: ignore[arg-type]
    store.add_prediction(prediction.record())
    data = prediction.as_dict()
    if as_json:
        print_json(data)
        return
    console.print(
        f"[bold]{who}[/bold] on item {item}: "
        + ", ".join(f"{a} {p:.0%}" for a, p in data["distribution"].items())
    )
    console.print(
        f"latency: {data['latency_bucket']}; "
        f"folder: {data['folder'] or '—'} ({data['p_folder']:.0%})"
    )
    for line in data["explanation"]:
        console.print(f"  · {line}")
    if data["draft"]:
        console.print("[bold]Suggested reply[/bold]\n" + data["draft"])


def feedback(
    item: int = typer.Argument(..., help="Item id."),
    person: str = typer.Option(..., "--for", help="Whose decision this is."),
    action: str = typer.Option(
        ..., "--action", help="What they did or would do: reply, ignore, file, …"
    ),
    text: str = typer.Option("", "--text", help="The reply they wrote, if any."),
    target: str = typer.Option(
        None, "--target", help="Folder (for file) or delegate (for delegate)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Record a correction as a decision and update the twin online."""
    from understudy.twin.feedback import apply_feedback
    from understudy.twin.model import load_twin

    store = open_configured_store()
    who = store.find_person(person).id
    found = _item(store, item, who)
    decision = apply_feedback(store, load_twin(store, who), found, action, text, target)  # type: ignore[arg-type]
    data = {
        "person": who,
        "item": item,
        "action": decision.action,
        "target": decision.target,
        "origin": decision.origin,
    }
    if as_json:
        print_json(data)
    else:
        console.print(f"Recorded: {who} would {action} item {item}; the twin has learned it.")


def register(app: typer.Typer) -> None:
    """Add the twin commands to ``app``."""
    app.add_typer(twin_app, name="twin")
    app.command()(predict)
    app.command()(feedback)
