"""Features never look at the future: later mail and later outcomes change nothing before them."""

from __future__ import annotations

import mailbox
import math
from pathlib import Path

import pytest

from tests.twin.mailboxes import (
    ANN,
    BOSS,
    CLIENT,
    DAY,
    HOUR,
    MINUTE,
    PEER,
    T0,
    Mail,
    add_directory,
    arrive,
    habits_mails,
    ingest,
    write_maildir,
)
from understudy.store import Store
from understudy.twin.dataset import Row, build_rows
from understudy.twin.features import FEATURE_NAMES
from understudy.twin.mailbox import load_mailbox

# Pat's mail of day 13 arrives at 11:00 and Ann answers it at 14:00: after the cut.
CUT = T0 + 13 * DAY + 2 * HOUR + 30 * MINUTE


def rows_by_id(store: Store) -> dict[str, Row]:
    return {row.message.message_id: row for row in build_rows(load_mailbox(store, "ann"))}


def feature(row: Row, name: str) -> float:
    return row.features[FEATURE_NAMES.index(name)]


def test_later_mail_and_later_replies_change_no_earlier_features(
    store: Store, tmp_path: Path
) -> None:
    mails = habits_mails(days=20)
    earlier = [m for m in mails if m.at < CUT]
    later = [m for m in mails if m.at >= CUT]
    pending = next(m for m in earlier if m.subject == "Atlas milestone 13")
    assert any(m.in_reply_to == pending.message_id for m in later)
    add_directory(store)
    root = write_maildir(tmp_path / "ann", earlier)
    ingest(store, root)
    before = rows_by_id(store)

    arrive(store, root, later)
    after = rows_by_id(store)

    assert len(after) > len(before)
    # The outcome of Pat's mail changed (Ann answered it later) ...
    assert not before[pending.message_id].replied
    assert after[pending.message_id].replied
    # ... but what the twin knew when each earlier message arrived did not.
    for message_id, row in before.items():
        assert after[message_id].features == row.features, row.message.subject


def test_an_outcome_is_known_only_once_it_happened(store: Store, tmp_path: Path) -> None:
    def mail(sender: str, to: str, subject: str, days: float, **extra: str) -> Mail:
        at = T0 + days * DAY
        folders = ("Sent",) if sender == ANN else ("INBOX",)
        message_id = f"<{subject.replace(' ', '-')}@test.example>"
        return Mail(
            sender, [to], subject, "Can you look at this?", at, folders, message_id, **extra
        )

    mails = [
        mail(ANN, PEER, "Status", -1),
        mail(BOSS, ANN, "Numbers", 0),
        mail(CLIENT, ANN, "Offer", 0),
        mail(BOSS, ANN, "Slides", 1),
        mail(ANN, BOSS, "Re: Numbers", 2, in_reply_to="<Numbers@test.example>"),
        mail(BOSS, ANN, "Agenda", 3),
        mail(CLIENT, ANN, "Offer follow-up", 6),
        mail(CLIENT, ANN, "Offer last call", 8),
    ]
    add_directory(store)
    ingest(store, write_maildir(tmp_path / "ann", mails))
    rows = {row.message.subject: row for row in build_rows(load_mailbox(store, "ann"))}

    # One day in, the reply (sent on day 2) is not known yet.
    assert feature(rows["Slides"], "sender_resolved_log") == 0
    # Three days in, it is: one resolved message from Bo, and it was answered.
    assert feature(rows["Agenda"], "sender_resolved_log") == pytest.approx(math.log1p(1))
    assert feature(rows["Agenda"], "sender_reply_rate") > feature(
        rows["Slides"], "sender_reply_rate"
    )
    # Six days in, Cleo's unanswered offer may still be answered: not known.
    assert feature(rows["Offer follow-up"], "sender_resolved_log") == 0
    # Eight days in, the 7-day window has passed: known as not answered.
    assert feature(rows["Offer last call"], "sender_resolved_log") == pytest.approx(math.log1p(1))
    assert feature(rows["Offer last call"], "sender_reply_rate") < feature(
        rows["Offer follow-up"], "sender_reply_rate"
    )


def test_a_later_message_joining_two_threads_changes_no_earlier_features(
    store: Store, tmp_path: Path
) -> None:
    mails = habits_mails(days=12)
    add_directory(store)
    root = write_maildir(tmp_path / "ann", mails)
    ingest(store, root)
    before = rows_by_id(store)
    milestone = next(m for m in mails if m.subject == "Atlas milestone 1")
    results = next(m for m in mails if m.subject == "Atlas test results 3")
    summary = Mail(PEER, [ANN], "Atlas summary", "Both threads.", T0 + 13 * DAY)
    summary.message_id = "<summary@test.example>"
    message = summary.email()
    message["References"] = f"{milestone.message_id} {results.message_id}"
    mailbox.Maildir(root).add(message)
    arrive(store, root, [])
    after = rows_by_id(store)

    assert len(after) == len(before) + 1
    for message_id, row in before.items():
        assert after[message_id].features == row.features, row.message.subject
