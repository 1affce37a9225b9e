"""The labels an independent scorer uses on Enron mailboxes (docs/decisions.md).

Our own decisions are richer; evaluation reports the scorer's labels so the
figures mean what the check means.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from understudy.sources.decisions import REPLY_WINDOW, RULE_FOLDER_SHARE, folder_role
from understudy.twin.mailbox import Mailbox, Message

__all__ = ["ScorerLabels", "rule_folders", "scorer_labels"]


@dataclass(frozen=True, slots=True)
class ScorerLabels:
    """Per received message: replied (or not), and its judgment folder if filed."""

    replied: dict[int, bool]
    folder: dict[int, str]
    rule_folders: frozenset[str]


def rule_folders(mailbox: Mailbox) -> frozenset[str]:
    """Return own folders where at least 95% of the messages come from one sender."""
    senders: dict[str, Counter[str]] = defaultdict(Counter)
    for message in mailbox.messages:
        for folder in message.own_folders:
            senders[folder][message.sender] += 1
    return frozenset(
        folder
        for folder, counts in senders.items()
        if counts.most_common(1)[0][1] >= RULE_FOLDER_SHARE * sum(counts.values())
    )


def _in_sent_folder(message: Message) -> bool:
    return any(folder_role(f) == "sent" for f in message.folders)


def scorer_labels(mailbox: Mailbox) -> ScorerLabels:
    """Return the scorer's replied and filed labels for every received message."""
    sent_by_topic: dict[str, list[Message]] = defaultdict(list)
    for message in mailbox.messages:
        if _in_sent_folder(message) and message.topic:
            sent_by_topic[message.topic].append(message)
    times = {topic: [m.at for m in sent] for topic, sent in sent_by_topic.items()}
    rules = rule_folders(mailbox)
    replied: dict[int, bool] = {}
    folder: dict[int, str] = {}
    for message in mailbox.messages:
        if message.sender in mailbox.addresses:
            continue
        replied[message.item_id] = _replied(message, sent_by_topic, times)
        judged = [f for f in message.own_folders if f not in rules]
        if judged:
            folder[message.item_id] = judged[0]
    return ScorerLabels(replied=replied, folder=folder, rule_folders=rules)


def _replied(
    message: Message, sent_by_topic: dict[str, list[Message]], times: dict[str, list[datetime]]
) -> bool:
    if not message.topic or message.topic not in sent_by_topic:
        return False
    stamps = times[message.topic]
    start = bisect_right(stamps, message.at)
    end = bisect_left(stamps, message.at + REPLY_WINDOW)
    candidates = sent_by_topic[message.topic][start : end + 1]
    return any(
        message.at < sent.at <= message.at + REPLY_WINDOW and message.sender in (*sent.to, *sent.cc)
        for sent in candidates
    )
