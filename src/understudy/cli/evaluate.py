"""``understudy eval …``: measure the parts on real data; print a table and write JSON."""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from understudy.cli.common import console, print_json, progress_bar
from understudy.errors import InputError

if TYPE_CHECKING:
    from understudy.brain.embeddings import Embedder
    from understudy.brain.evaluate import Progress
    from understudy.store import Store

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


@contextmanager
def _throwaway_store(keep: Path | None) -> Iterator[Store]:
    """Open a SQLite store in a fresh folder (``keep``, or a temporary one removed after)."""
    from understudy.store.sqlite import SQLiteStore

    with tempfile.TemporaryDirectory(prefix="understudy-eval-") as scratch:
        home = keep or Path(scratch)
        home.mkdir(parents=True, exist_ok=True)
        if (home / "understudy.db").exists():
            raise InputError(f"{home}: already holds a store; give an empty --home")
        store = SQLiteStore.open(home / "understudy.db")
        try:
            yield store
        finally:
            store.close()


@contextmanager
def _throwaway_schema(url: str) -> Iterator[Store]:
    """Open a PostgreSQL store at ``url`` in a schema of its own, dropped after."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from understudy.store.postgres import PostgresStore, redact_url

    schema = f"understudy_eval_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as admin:
            admin.execute(f"CREATE SCHEMA {schema}")
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = redact_url(url)
        raise InputError(f"--database-url {where}: cannot create a schema ({reason})") from None
    options = f"{conninfo_to_dict(url).get('options') or ''} -csearch_path={schema},public"
    try:
        store = PostgresStore.open(make_conninfo(url, options=options.strip()))
        try:
            yield store
        finally:
            store.close()
    finally:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def _embedder(name: str | None) -> Embedder | None:
    """Return the embedder named (the ``embedding_model`` setting if None); ``none`` for none."""
    from understudy.brain.embeddings import embedder_class
    from understudy.settings import Settings

    if name == "none":
        return None
    settings = Settings.load()
    return embedder_class(name or settings.text("embedding_model")).from_settings(settings)


def _progress(as_json: bool) -> Progress:
    @contextmanager
    def report(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
        with progress_bar(description, total=total, quiet=as_json) as bar:
            yield bar

    return report


EMBEDDER_HELP = "Embedding model (minilm, hash, or none for keywords only); default: the setting."


@eval_app.command("retrieval")
def eval_retrieval(
    beir: Path = typer.Option(
        ..., "--beir", help="A BEIR folder: corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv."
    ),
    split: str = typer.Option("test", "--split", help="Which qrels/SPLIT.tsv to score."),
    embedder_name: str = typer.Option(None, "--embedder", help=EMBEDDER_HELP),
    home: Path = typer.Option(
        None, "--home", help="Keep the throwaway store in this empty folder (default: removed)."
    ),
    database_url: str = typer.Option(
        None,
        "--database-url",
        help="Evaluate on PostgreSQL at this URL instead, in a schema of its own (dropped after).",
    ),
    out: Path = typer.Option(
        Path("understudy-eval"), "--out", help="Folder for the JSON report and the plot."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Search a BEIR collection through the product's own path and score the rankings.

    Prints nDCG@10, Recall@10, Recall@100 and MRR@10 for keyword, vector and
    hybrid search. What is learned comes from training judgments only: on the
    train split by 5-fold cross-validation, on another split from qrels/train.tsv.
    """
    from understudy.brain.evaluate import evaluate_retrieval, load_collection

    collection = load_collection(beir, split)
    embedder = _embedder(embedder_name)
    if database_url and home:
        raise InputError("give --home (SQLite) or --database-url (PostgreSQL), not both")
    opened = _throwaway_schema(database_url) if database_url else _throwaway_store(home)
    with opened as store:
        report = evaluate_retrieval(store, collection, embedder, _progress(as_json))
    written = _save(
        report,
        out / f"retrieval-{beir.resolve().name}-{split}",
        {name: scores["ndcg@10"] for name, scores in report["steps"].items()},
        f"{beir.resolve().name} ({split}, {report['n_queries']} queries): nDCG@10",
    )
    if as_json:
        print_json(report)
        return
    table = Table(title=f"{beir} — {split} split, {report['n_queries']} queries")
    table.add_column("method")
    for measure in ("ndcg@10", "recall@10", "recall@100", "mrr@10"):
        table.add_column(measure, justify="right")
    for name, scores in report["steps"].items():
        shown = f"{name} (hybrid)" if name == report["hybrid_method"] else name
        table.add_row(shown, *(f"{scores[m]:.3f}" for m in scores))
    console.print(table)
    if report.get("learned_from"):
        console.print(f"learned from: {report['learned_from']}")
    elif report.get("not_learned"):
        console.print(f"no ranker learned: {report['not_learned']}")
    console.print(written)


@eval_app.command("memory")
def eval_memory(
    locomo: Path = typer.Option(..., "--locomo", help="A LoCoMo-format JSON file."),
    conversations: str = typer.Option(
        None, "--conversations", help="Which conversations, by number: 0,1,2 or 5-9 (default all)."
    ),
    embedder_name: str = typer.Option(None, "--embedder", help=EMBEDDER_HELP),
    out: Path = typer.Option(
        Path("understudy-eval"), "--out", help="Folder for the JSON report and the plot."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Index each conversation as one person's history and measure evidence recall.

    Reports Recall@5 and Recall@10 of the evidence turns over the questions that
    have evidence, per method and per question category. The learned ranker of a
    conversation is trained on the other conversations' questions only.
    """
    from understudy.brain.memory import CATEGORIES, evaluate_memory, load_conversations

    chosen = _numbers(conversations)
    loaded = load_conversations(locomo, chosen)
    embedder = _embedder(embedder_name)
    with _throwaway_store(None) as store:
        report = evaluate_memory(store, loaded, embedder, str(locomo), _progress(as_json))
    written = _save(
        report,
        out / f"memory-{locomo.stem}",
        {name: scores["recall@10"] for name, scores in report["methods"].items()},
        f"{locomo.name} ({report['n_questions']} questions): evidence Recall@10",
    )
    if as_json:
        print_json(report)
        return
    table = Table(title=f"{locomo} — {report['n_questions']} questions with evidence")
    table.add_column("method")
    table.add_column("recall@5", justify="right")
    table.add_column("recall@10", justify="right")
    categories = sorted(report["by_category"], key=int)
    for category in categories:
        name = CATEGORIES.get(int(category), f"category {category}")
        table.add_column(f"{name} @10", justify="right")
    for name, scores in report["methods"].items():
        shown = f"{name} (reported)" if name == report["method"] else name
        cells = [f"{scores['recall@5']:.3f}", f"{scores['recall@10']:.3f}"]
        cells += [f"{scores['by_category'][c]['recall@10']:.3f}" for c in categories]
        table.add_row(shown, *cells)
    console.print(table)
    console.print(written)


def _save(report: dict[str, Any], stem: Path, values: dict[str, float], title: str) -> str:
    """Write the JSON report and a bar chart of ``values`` beside it; return where, as a line."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    path = stem.parent / f"{stem.name}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    plotted = _plot_steps(values, title, stem.parent / f"{stem.name}.png")
    return f"JSON written to {path}" + (f", plot to {plotted}" if plotted else "")


def _numbers(text: str | None) -> list[int] | None:
    """Parse ``0,2,5-9`` into numbers; None when not given."""
    if not text:
        return None
    numbers: list[int] = []
    for part in text.split(","):
        bounds = part.strip().split("-")
        try:
            if len(bounds) == 1:
                numbers.append(int(bounds[0]))
            elif len(bounds) == 2:
                numbers.extend(range(int(bounds[0]), int(bounds[1]) + 1))
            else:
                raise ValueError(part)
        except ValueError:
            raise InputError(
                f"--conversations {text!r}: write numbers and ranges, such as 0,1 or 5-9"
            ) from None
    return list(dict.fromkeys(numbers))


def _plot_steps(values: dict[str, float], title: str, path: Path) -> Path | None:
    """Draw one bar per method; return the file, or None if nothing to draw."""
    if not values:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 3.2))
    names = list(values)
    bars = axes.barh(names[::-1], [values[n] for n in names[::-1]], color="#4c72b0")
    axes.bar_label(bars, fmt="%.3f", padding=3)
    axes.set_xlim(0, 1)
    axes.set_title(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def register(app: typer.Typer) -> None:
    """Add the ``eval`` commands to ``app``."""
    app.add_typer(eval_app, name="eval")
