"""``understudy eval twin``: train on a person's past mail, test on their later mail.

The mailbox is read through the real maildir connector into a throwaway
store. Rows are split by time (never at random), the models are fitted on the
training slice, calibrated and certified on the calibration slice, and scored
on the test slice with the independent scorer's labels (docs/decisions.md).
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from understudy.twin.calibration import expected_calibration_error
from understudy.twin.dataset import Row, Split, build_rows, matrix, split_rows, texts
from understudy.twin.features import FEATURE_NAMES
from understudy.twin.filing import FolderModel
from understudy.twin.labels import scorer_labels
from understudy.twin.mailbox import Mailbox, load_mailbox
from understudy.twin.reply import LatencyModel, PriorModel, ReplyModel
from understudy.twin.thresholds import certify_threshold

__all__ = ["TwinEvaluation", "evaluate_user", "load_maildir_user", "pooled_auc"]

MIN_SCORED_FOLDER = 5


@dataclass
class TwinEvaluation:
    """The figures of one person's evaluation, and what plots and predictions need."""

    report: dict[str, Any]
    test_rows: list[Row] = field(default_factory=list)
    p_reply: np.ndarray = field(default_factory=lambda: np.zeros(0))
    folders: list[str | None] = field(default_factory=list)
    p_folder: np.ndarray = field(default_factory=lambda: np.zeros(0))
    reply_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    reply_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    filing_correct: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    filing_confidence: np.ndarray = field(default_factory=lambda: np.zeros(0))


def load_maildir_user(root: Path, user: str) -> Mailbox:
    """Read one person's maildir under ``root`` into a throwaway store; return the mailbox."""
    from understudy.sources.maildir import infer_owner_email
    from understudy.sources.pipeline import add_source, sync
    from understudy.store.sqlite import SQLiteStore

    path = root / user
    with tempfile.TemporaryDirectory(prefix="understudy-eval-") as scratch:
        store = SQLiteStore.open(Path(scratch) / "eval.db")
        try:
            owner = infer_owner_email(path)
            source = add_source(store, "maildir", str(path), owner=owner)
            sync(store, source)
            return load_mailbox(store, source.owner or "", sources=[source.id or 0])
        finally:
            store.close()


def _auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    if labels.all() or not labels.any():
        return None
    return float(roc_auc_score(labels, scores))


def pooled_auc(groups: Sequence[tuple[np.ndarray, np.ndarray]]) -> float | None:
    """Return ROC-AUC over (replied, unreplied) pairs taken within each group only."""
    concordant = pairs = 0.0
    for labels, scores in groups:
        positive, negative = scores[labels], scores[~labels]
        if len(positive) and len(negative):
            greater = (positive[:, None] > negative[None, :]).sum()
            ties = (positive[:, None] == negative[None, :]).sum()
            concordant += float(greater) + 0.5 * float(ties)
            pairs += len(positive) * len(negative)
    return concordant / pairs if pairs else None


def _reply_section(rows: list[Row], split: Split, prior: PriorModel | None) -> dict[str, Any]:
    train, calibrate, test = (
        [i for i in part if rows[i].covered] for part in (split.train, split.calibrate, split.test)
    )
    labels = np.array([r.replied for r in rows], dtype=bool)
    model = ReplyModel(prior=prior).fit(matrix(rows, train), labels[train], texts(rows, train))
    model.calibrate(
        matrix(rows, calibrate),
        labels[calibrate],
        (matrix(rows, train), labels[train]),
        texts(rows, calibrate),
        texts(rows, train),
    )
    everything = list(range(len(rows)))
    p_all = (
        model.predict(matrix(rows, everything), texts(rows, everything)) if rows else np.zeros(0)
    )
    y, p = labels[test], p_all[test] if test else np.zeros(0)
    sender_rate = np.array(
        [rows[i].features[FEATURE_NAMES.index("sender_reply_rate")] for i in test]
    )
    top: np.ndarray = np.argsort(-p, kind="stable")[: max(1, round(0.1 * len(p)))]
    return {
        "model": model,
        "p_all": p_all,
        "test": test,
        "metrics": {
            "roc_auc": _auc(y, p),
            "pr_auc": float(average_precision_score(y, p)) if y.any() else None,
            "ece": expected_calibration_error(p, y) if len(p) else None,
            "brier": float(np.mean((p - y) ** 2)) if len(p) else None,
            "n_test": len(test),
            "n_replied": int(y.sum()),
        },
        "triage": float(y[top].sum() / y.sum()) if y.any() else None,
        "sender_auc": _auc(y, sender_rate) if len(test) else None,
        "labels": y,
        "scores": p,
    }


def _latency_section(rows: list[Row], split: Split, model: ReplyModel) -> dict[str, Any]:
    train = [i for i in split.train if rows[i].replied and rows[i].latency]
    test = [i for i in split.test if rows[i].replied and rows[i].latency and rows[i].covered]
    latency = LatencyModel().fit(matrix(rows, train), [rows[i].latency or "" for i in train])
    if not test:
        return {"macro_f1": None, "n_test": 0, "model": latency}
    predicted = latency.predict(matrix(rows, test))
    truth = [rows[i].latency for i in test]
    return {
        "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
        "n_test": len(test),
        "model": latency,
    }


def _filing_section(rows: list[Row], split: Split) -> dict[str, Any]:
    sizes = Counter(r.folder for r in rows if r.folder)
    scored = {f for f, n in sizes.items() if n >= MIN_SCORED_FOLDER}
    train, calibrate, test = (
        [i for i in part if rows[i].folder] for part in (split.train, split.calibrate, split.test)
    )
    model = FolderModel().fit(
        [rows[i].message for i in train], [rows[i].folder or "" for i in train]
    )
    if calibrate:
        model.calibrate(
            [rows[i].message for i in calibrate], [rows[i].folder or "" for i in calibrate]
        )
    predicted, confidence = model.predict([r.message for r in rows])
    test_scored = [i for i in test if rows[i].folder in scored]
    truth = [rows[i].folder for i in test_scored]
    guesses = [predicted[i] or "" for i in test_scored]
    majority = Counter(rows[i].folder for i in train).most_common(1)
    cal_correct = np.array([predicted[i] == rows[i].folder for i in calibrate], dtype=bool)
    certificate = certify_threshold(np.array([confidence[i] for i in calibrate]), cal_correct)
    covered = [
        i
        for i in test
        if certificate.threshold is not None and confidence[i] >= certificate.threshold
    ]
    return {
        "predicted": predicted,
        "confidence": confidence,
        "metrics": {
            "accuracy": float(np.mean([g == t for g, t in zip(guesses, truth, strict=True)]))
            if truth
            else None,
            "macro_f1": float(f1_score(truth, guesses, average="macro", zero_division=0))
            if truth
            else None,
            "n_folders": len(scored),
            "n_test": len(test_scored),
        },
        "autonomy": {
            "filing_coverage_at_95": len(covered) / len(test) if test else None,
            "threshold": certificate.threshold,
            "precision_above": float(np.mean([predicted[i] == rows[i].folder for i in covered]))
            if covered
            else None,
        },
        "majority_accuracy": float(np.mean([t == majority[0][0] for t in truth]))
        if truth and majority
        else None,
    }


def evaluate_user(
    mailbox: Mailbox, test_from: datetime | None = None, prior: PriorModel | None = None
) -> TwinEvaluation:
    """Evaluate the twin on one person's mailbox, split by time."""
    labels = scorer_labels(mailbox)
    rows = build_rows(mailbox, labels)
    split = split_rows(rows, test_from)
    reply = _reply_section(rows, split, prior)
    latency = _latency_section(rows, split, reply["model"])
    filing = _filing_section(rows, split)
    report = {
        "user": mailbox.person,
        "n_train": len(split.train) + len(split.calibrate),
        "n_test": len(split.test),
        "reply": {k: reply["metrics"][k] for k in ("roc_auc", "pr_auc", "ece", "brier")},
        "latency": {"macro_f1": latency["macro_f1"]},
        "filing": {k: filing["metrics"][k] for k in ("accuracy", "macro_f1", "n_folders")},
        "triage": {"reply_recall_at_top10": reply["triage"]},
        "autonomy": {k: filing["autonomy"][k] for k in ("filing_coverage_at_95", "threshold")},
        "baselines": {
            "majority": {"reply_roc_auc": 0.5, "filing_accuracy": filing["majority_accuracy"]},
            "sender_rate": {"reply_roc_auc": reply["sender_auc"]},
        },
        "counts": {
            "reply_test": reply["metrics"]["n_test"],
            "replied_test": reply["metrics"]["n_replied"],
            "filing_test": filing["metrics"]["n_test"],
            "latency_test": latency["n_test"],
        },
    }
    filed_test = [i for i in split.test if rows[i].folder]
    return TwinEvaluation(
        report=report,
        test_rows=[rows[i] for i in split.test],
        p_reply=reply["p_all"][split.test] if rows else np.zeros(0),
        folders=[filing["predicted"][i] for i in split.test],
        p_folder=filing["confidence"][split.test] if rows else np.zeros(0),
        reply_labels=reply["labels"],
        reply_scores=reply["scores"],
        filing_correct=np.array(
            [filing["predicted"][i] == rows[i].folder for i in filed_test], dtype=bool
        ),
        filing_confidence=np.array([filing["confidence"][i] for i in filed_test], dtype=float),
    )


def write_predictions(evaluation: TwinEvaluation, user: str, path: Path) -> int:
    """Append one JSON line per file copy of each test message; return the lines written."""
    written = 0
    with path.open("a", encoding="utf-8") as out:
        for row, p_reply, folder, p_folder in zip(
            evaluation.test_rows,
            evaluation.p_reply,
            evaluation.folders,
            evaluation.p_folder,
            strict=True,
        ):
            for copy in row.message.paths or ("",):
                record = {
                    "path": f"{user}/{copy}",
                    "p_reply": round(float(p_reply), 6),
                    "folder": folder,
                    "p_folder": round(float(p_folder), 6),
                }
                out.write(json.dumps(record) + "\n")
                written += 1
    return written


def prior_from(
    mailboxes: Sequence[Mailbox], progress: Callable[[], None] | None = None
) -> PriorModel | None:
    """Fit the cold-start prior on other people's training slices."""
    features: list[list[float]] = []
    replied: list[bool] = []
    for mailbox in mailboxes:
        rows = build_rows(mailbox, scorer_labels(mailbox))
        split = split_rows(rows)
        for i in split.train:
            if rows[i].covered:
                features.append(rows[i].features)
                replied.append(rows[i].replied)
        if progress is not None:
            progress()
    if not features:
        return None
    return PriorModel.fit(np.array(features), np.array(replied, dtype=bool))
