"""Training rows from a mailbox, and the split by time that evaluation uses.

Every received message becomes a row with online features (``History``),
its labels, and whether the person's sent mail covers its time (reply labels
outside that span are unknowable and are neither trained on nor scored).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from understudy.twin.features import History
from understudy.twin.labels import ScorerLabels
from understudy.twin.mailbox import Mailbox, Message

__all__ = [
    "LATENCY_BUCKETS",
    "Row",
    "Split",
    "build_rows",
    "latency_bucket",
    "matrix",
    "replay",
    "split_rows",
    "texts",
]

LATENCY_BUCKETS = ("<=25min", "<=4h", "later")


def latency_bucket(seconds: float | None) -> str | None:
    """Return the latency bucket of a reply: ≤ 25 min, ≤ 4 h, or later."""
    if seconds is None:
        return None
    if seconds <= 25 * 60:
        return LATENCY_BUCKETS[0]
    if seconds <= 4 * 3600:
        return LATENCY_BUCKETS[1]
    return LATENCY_BUCKETS[2]


@dataclass(slots=True)
class Row:
    """One received message with its features and labels."""

    message: Message
    features: list[float]
    replied: bool
    covered: bool
    latency: str | None
    folder: str | None


@dataclass(frozen=True, slots=True)
class Split:
    """Row indices for training, calibration and test, in time order."""

    train: list[int]
    calibrate: list[int]
    test: list[int]


def _coverage(mailbox: Mailbox) -> tuple[datetime, datetime] | None:
    sent = [m.at for m in mailbox.messages if m.sent and m.dated]
    if not sent:
        return None
    return min(sent) - timedelta(days=1), max(sent)


def build_rows(mailbox: Mailbox, labels: ScorerLabels | None = None) -> list[Row]:
    """Return one row per dated received message, labels from ``labels`` or decisions."""
    return replay(mailbox, labels)[0]


def replay(mailbox: Mailbox, labels: ScorerLabels | None = None) -> tuple[list[Row], History]:
    """Return the rows of a mailbox and the history as it stands after its last message."""
    history = History(mailbox.addresses)
    span = _coverage(mailbox)
    rows: list[Row] = []
    for message in mailbox.messages:
        received = not message.sent and message.sender not in mailbox.addresses
        if received and message.dated:
            features = history.features(message)
            outcome = message.outcome
            replied = (
                labels.replied.get(message.item_id, False)
                if labels is not None
                else outcome.replied_at is not None
            )
            folder = labels.folder.get(message.item_id) if labels is not None else outcome.folder
            rows.append(
                Row(
                    message=message,
                    features=features,
                    replied=replied,
                    covered=span is not None and span[0] <= message.at <= span[1],
                    latency=latency_bucket(outcome.latency) if replied else None,
                    folder=folder,
                )
            )
        history.observe(message)
    return rows, history


def split_rows(rows: Sequence[Row], test_from: datetime | None = None) -> Split:
    """Split rows by time: 70/10/20 by default, or train+calibrate before ``test_from``."""
    n = len(rows)
    if test_from is None:
        train_end, calibrate_end = int(n * 0.7), int(n * 0.8)
    else:
        calibrate_end = sum(1 for row in rows if row.message.at < test_from)
        train_end = calibrate_end - calibrate_end // 8
    return Split(
        train=list(range(train_end)),
        calibrate=list(range(train_end, calibrate_end)),
        test=list(range(calibrate_end, n)),
    )


def texts(rows: Sequence[Row], indices: Sequence[int]) -> list[str]:
    """Return what the reply text model reads for the chosen rows."""
    from understudy.twin.reply import reply_document

    return [
        reply_document(rows[i].message.sender, rows[i].message.subject, rows[i].message.text)
        for i in indices
    ]


def matrix(rows: Sequence[Row], indices: Sequence[int]) -> NDArray[np.float64]:
    """Return the feature matrix of the chosen rows."""
    if not indices:
        return np.zeros((0, len(rows[0].features) if rows else 0))
    return np.array([rows[i].features for i in indices], dtype=float)
