"""Rows are split by time, never at random: the twin is tested on mail newer than it saw."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.twin.test_labels import ME, message, sent
from understudy.twin.dataset import build_rows, latency_bucket, split_rows
from understudy.twin.mailbox import Mailbox

T0 = datetime(2001, 1, 1, 8, 0, tzinfo=UTC)


def mailbox(received: int) -> Mailbox:
    """Return a mailbox with ``received`` messages, one every 3 hours, and a little sent mail."""
    messages = [
        message(f"p{n % 7}@co.example", f"Topic {n}", T0 + n * timedelta(hours=3))
        for n in range(received)
    ]
    messages += [sent(f"Note {n}", T0 + n * timedelta(days=3), ["p1@co.example"]) for n in range(6)]
    return Mailbox("kay", frozenset({ME}), sorted(messages, key=lambda m: (m.at, m.item_id)))


def test_the_default_split_is_70_10_20_in_time_order() -> None:
    rows = build_rows(mailbox(100))
    split = split_rows(rows)
    assert (len(split.train), len(split.calibrate), len(split.test)) == (70, 10, 20)
    times = [
        [rows[i].message.at for i in part] for part in (split.train, split.calibrate, split.test)
    ]
    assert max(times[0]) < min(times[1]) <= max(times[1]) < min(times[2])
    assert sorted(split.train + split.calibrate + split.test) == list(range(100))


@pytest.mark.parametrize(("before", "train", "calibrate"), [(80, 70, 10), (64, 56, 8), (5, 5, 0)])
def test_test_from_tests_on_mail_from_that_date_and_calibrates_on_the_last_eighth(
    before: int, train: int, calibrate: int
) -> None:
    rows = build_rows(mailbox(100))
    split = split_rows(rows, test_from=T0 + before * timedelta(hours=3))
    assert (len(split.train), len(split.calibrate), len(split.test)) == (
        train,
        calibrate,
        100 - before,
    )
    assert all(rows[i].message.at >= T0 + before * timedelta(hours=3) for i in split.test)
    assert all(rows[i].message.at < T0 + before * timedelta(hours=3) for i in split.calibrate)


def test_only_received_mail_becomes_rows() -> None:
    rows = build_rows(mailbox(10))
    assert len(rows) == 10
    assert all(row.message.sender != ME for row in rows)


@pytest.mark.parametrize(
    ("minutes", "bucket"),
    [(0, "<=25min"), (25, "<=25min"), (26, "<=4h"), (240, "<=4h"), (241, "later"), (9000, "later")],
)
def test_latency_buckets(minutes: int, bucket: str) -> None:
    assert latency_bucket(minutes * 60) == bucket
