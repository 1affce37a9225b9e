"""``understudy eval …``: measure the parts on real data; print a table and write JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from understudy.cli.common import console, print_json, progress_bar
from understudy.errors import InputError

__all__ = ["register"]

eval_app = typer.Typer(help="Measure the parts on real data.", no_args_is_help=True)


def _users(root: Path, user: str | None, everyone: bool) -> list[str]:
    if not root.is_dir():
        raise InputError(
            f"{root}: no such maildir root; give the folder that holds one folder per person"
        )
    people = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if everyone:
        return people
    if not user:
        raise InputError("give --user NAME (a folder under --maildir) or --all")
    if user not in people:
        raise InputError(f"{root / user}: no such person folder; choose one of {', '.join(people)}")
    return [user]


def _date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:
        raise InputError(f"--test-from {text!r}: write the date as YYYY-MM-DD") from None


@eval_app.command("twin")
def eval_twin(
    maildir: Path = typer.Option(
        ..., "--maildir", help="Root folder holding one maildir per person."
    ),
    user: str = typer.Option(None, "--user", help="The person's folder name under the root."),
    everyone: bool = typer.Option(False, "--all", help="Evaluate every person under the root."),
    test_from: str = typer.Option(
        None, "--test-from", help="Test on mail from this date (YYYY-MM-DD)."
    ),
    predictions: Path = typer.Option(
        None, "--predictions", help="Write one JSON line per test message."
    ),
    out: Path = typer.Option(
        Path("understudy-eval"), "--out", help="Folder for the JSON and the plots."
    ),
    no_prior: bool = typer.Option(
        False, "--no-prior", help="Do not learn a prior from the other people."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Train the twin on a person's past mail and test it on their later mail."""
    from understudy.twin.evaluate import evaluate_user, load_maildir_user, prior_from

    chosen = _users(maildir, user, everyone)
    others = _users(maildir, None, True) if not no_prior else chosen
    mailboxes: dict[str, Any] = {}
    with progress_bar(
        "reading mailboxes", total=len(set(others) | set(chosen)), quiet=as_json
    ) as bar:
        for name in sorted(set(others) | set(chosen)):
            mailboxes[name] = load_maildir_user(maildir, name)
            bar(1)
    if predictions:
        predictions.parent.mkdir(parents=True, exist_ok=True)
        predictions.write_text("")
    out.mkdir(parents=True, exist_ok=True)
    reports = []
    for name in chosen:
        prior = None if no_prior else prior_from([mailboxes[o] for o in others if o != name])
        evaluation = evaluate_user(mailboxes[name], _date(test_from), prior)
        evaluation.report["user"] = name
        reports.append(evaluation.report)
        _write_outputs(evaluation, name, out, predictions)
    result: dict[str, Any] = reports[0] if len(reports) == 1 else _summary(reports)
    (out / ("twin.json" if len(reports) > 1 else f"twin-{chosen[0]}.json")).write_text(
        json.dumps(result, indent=2) + "\n"
    )
    if as_json:
        print_json(result)
    else:
        _table(reports)
        console.print(f"JSON and plots written to {out}")


def _write_outputs(evaluation: Any, name: str, out: Path, predictions: Path | None) -> None:
    from understudy.twin.evaluate import write_predictions
    from understudy.twin.plots import reliability_diagram, risk_coverage_curve

    reliability_diagram(
        evaluation.reply_scores,
        evaluation.reply_labels,
        out / f"reliability-{name}.png",
        f"Reply calibration — {name}",
    )
    risk_coverage_curve(
        evaluation.filing_confidence,
        evaluation.filing_correct,
        out / f"risk-coverage-{name}.png",
        f"Filing risk–coverage — {name}",
        evaluation.report["autonomy"]["threshold"],
    )
    if predictions:
        write_predictions(evaluation, name, predictions)


def _summary(reports: list[dict[str, Any]]) -> dict[str, Any]:
    scored = [r for r in reports if r["reply"]["roc_auc"] is not None]
    worst = min(scored, key=lambda r: r["reply"]["roc_auc"]) if scored else None
    return {
        "users": reports,
        "summary": {
            "n_users": len(reports),
            "n_scored_reply": len(scored),
            "mean_reply_roc_auc": sum(r["reply"]["roc_auc"] for r in scored) / len(scored)
            if scored
            else None,
            "worst_reply": {"user": worst["user"], "roc_auc": worst["reply"]["roc_auc"]}
            if worst
            else None,
        },
    }


def _fmt(value: Any) -> str:
    return "—" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _table(reports: list[dict[str, Any]]) -> None:
    table = Table(title="Twin evaluation (test slice, scorer's labels)")
    columns = (
        "user",
        "test",
        "replied",
        "AUC",
        "sender AUC",
        "ECE",
        "top10%",
        "lat F1",
        "file acc",
        "rule",
        "cov@95",
    )
    for column in columns:
        table.add_column(column, justify="right" if column != "user" else "left")
    for r in reports:
        table.add_row(
            r["user"],
            str(r["n_test"]),
            str(r["counts"]["replied_test"]),
            _fmt(r["reply"]["roc_auc"]),
            _fmt(r["baselines"]["sender_rate"]["reply_roc_auc"]),
            _fmt(r["reply"]["ece"]),
            _fmt(r["triage"]["reply_recall_at_top10"]),
            _fmt(r["latency"]["macro_f1"]),
            _fmt(r["filing"]["accuracy"]),
            _fmt(r["baselines"]["majority"]["filing_accuracy"]),
            _fmt(r["autonomy"]["filing_coverage_at_95"]),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``eval`` commands to ``app``."""
    app.add_typer(eval_app, name="eval")
