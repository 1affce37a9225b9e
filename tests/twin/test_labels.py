"""The independent scorer's labels follow the rules quoted in docs/decisions.md, case by case."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from understudy.sources.decisions import normalize_subject
from understudy.twin.labels import scorer_labels
from understudy.twin.mailbox import Mailbox, Message

ME = "kay@co.example"
T0 = datetime(2001, 5, 7, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
_ids = count(1)


def message(
    sender: str,
    subject: str,
    at: datetime,
    folders: Sequence[str] = ("inbox",),
    to: Sequence[str] = (ME,),
    cc: Sequence[str] = (),
) -> Message:
    n = next(_ids)
    return Message(
        item_id=n,
        at=at,
        sender=sender,
        to=tuple(to),
        cc=tuple(cc),
        subject=subject,
        topic=normalize_subject(subject),
        thread=f"t{n}",
        folders=tuple(folders),
        sent=sender == ME,
        text="",
        attachments=0,
    )


def sent(
    subject: str,
    at: datetime,
    to: Sequence[str],
    folder: str = "sent",
    cc: Sequence[str] = (),
) -> Message:
    return message(ME, subject, at, folders=(folder,), to=to, cc=cc)


def labels(*messages: Message) -> tuple[dict[int, bool], dict[int, str], frozenset[str]]:
    box = Mailbox("kay", frozenset({ME}), sorted(messages, key=lambda m: (m.at, m.item_id)))
    found = scorer_labels(box)
    return found.replied, found.folder, found.rule_folders


def replied(received: Message, *others: Message) -> bool:
    return labels(received, *others)[0][received.item_id]


def test_same_normalized_subject_to_the_sender_within_7_days_is_a_reply() -> None:
    gas = message("bo@co.example", "Gas  Curve", T0)
    assert replied(gas, sent("RE: Fw: gas curve", T0 + 2 * DAY, to=["bo@co.example"]))


@pytest.mark.parametrize("folder", ["sent", "sent_items", "_sent_mail"])
def test_every_sent_folder_counts(folder: str) -> None:
    gas = message("bo@co.example", "Gas curve", T0)
    assert replied(gas, sent("Re: Gas curve", T0 + DAY, to=["bo@co.example"], folder=folder))


def test_the_sender_in_cc_counts_and_a_sender_not_addressed_does_not() -> None:
    gas = message("bo@co.example", "Gas curve", T0)
    cc = sent("Re: Gas curve", T0 + DAY, to=["cy@co.example"], cc=["bo@co.example"])
    assert replied(gas, cc)
    elsewhere = sent("Re: Gas curve", T0 + DAY, to=["cy@co.example"])
    assert not replied(gas, elsewhere)


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (timedelta(minutes=1), True),
        (6 * DAY + timedelta(hours=23), True),
        (7 * DAY, True),
        (8 * DAY, False),
        (-timedelta(hours=1), False),
    ],
)
def test_the_reply_window_is_7_days_after_the_message(after: timedelta, expected: bool) -> None:
    gas = message("bo@co.example", "Gas curve", T0)
    assert replied(gas, sent("Re: Gas curve", T0 + after, to=["bo@co.example"])) is expected


@pytest.mark.parametrize(("subject", "answer"), [("", ""), ("Re:", "RE: "), ("FW:", "Re: fwd:")])
def test_empty_subjects_never_match(subject: str, answer: str) -> None:
    blank = message("bo@co.example", subject, T0)
    assert not replied(blank, sent(answer, T0 + DAY, to=["bo@co.example"]))


def test_a_message_of_the_person_outside_the_sent_folders_is_no_reply() -> None:
    gas = message("bo@co.example", "Gas curve", T0)
    copy_only = sent("Re: Gas curve", T0 + DAY, to=["bo@co.example"], folder="all_documents")
    assert not replied(gas, copy_only)


def test_only_received_messages_are_labelled() -> None:
    gas = message("bo@co.example", "Gas curve", T0)
    answer = sent("Re: Gas curve", T0 + DAY, to=["bo@co.example"])
    found, _, _ = labels(gas, answer)
    assert found == {gas.item_id: True}


@pytest.mark.parametrize(
    "folder",
    [
        "inbox",
        "sent",
        "sent_items",
        "_sent_mail",
        "deleted_items",
        "all_documents",
        "discussion_threads",
        "notes_inbox",
        "calendar",
        "contacts",
        "straw",
    ],
)
def test_these_folders_are_not_the_persons_own(folder: str) -> None:
    messages = [message(f"p{n}@co.example", f"Note {n}", T0 + n * DAY, [folder]) for n in range(4)]
    _, filed, _ = labels(*messages)
    assert filed == {}


def test_a_message_in_an_own_folder_is_filed_there_whatever_its_other_copies() -> None:
    messages = [
        message(f"p{n}@co.example", f"Note {n}", T0 + n * DAY, ["all_documents", "projects"])
        for n in range(4)
    ]
    _, filed, rules = labels(*messages)
    assert filed == {m.item_id: "projects" for m in messages}
    assert rules == frozenset()


def test_a_folder_filled_from_one_sender_is_a_rule_and_not_scored() -> None:
    news = [
        message("news@list.example", f"Issue {n}", T0 + n * DAY, ["newsletters"]) for n in range(20)
    ]
    # 19 of 20 from one sender is 95%: still a rule.
    bills = [
        message("bill@vendor.example", f"Bill {n}", T0 + n * DAY, ["bills"]) for n in range(19)
    ]
    bills.append(message("other@shop.example", "Receipt", T0, ["bills"]))
    # 18 of 20 is 90%: a judgment.
    clients = [
        message("cy@client.example", f"Deal {n}", T0 + n * DAY, ["clients"]) for n in range(18)
    ]
    clients += [message(f"d{n}@client.example", f"Deal x{n}", T0, ["clients"]) for n in range(2)]
    single = [message("mom@home.example", "Dinner", T0, ["personal"])]

    _, filed, rules = labels(*news, *bills, *clients, *single)

    assert rules == {"newsletters", "bills", "personal"}
    assert set(filed.values()) == {"clients"}
    assert len(filed) == 20
