"""Ann's mailbox with habits firm enough for the twin to certify replying alone.

Every day Bo Boss (her manager) and Cleo Client (outside the company) each
ask Ann to look at something, and she answers both within half an hour; a
bulletin arrives that she never answers, and every other day Pat Peer sends
an FYI she never answers either. Fifty days of that, trained with a precision
target of 0.8, certify a reply threshold the newest requests clear.
"""

from __future__ import annotations

from pathlib import Path

from tests.agent.acme import ask
from tests.twin.mailboxes import (
    ANN,
    BOSS,
    CLIENT,
    DAY,
    MINUTE,
    NEWS,
    PEER,
    T0,
    Mail,
    add_directory,
    ingest,
    write_maildir,
)
from understudy.records import Item, Principal
from understudy.store import ItemFilter, Store
from understudy.twin.model import PersonTwin, save_twin, train_twin

DAYS = 50
TARGET = 0.8


def habit_mails(days: int = DAYS) -> list[Mail]:
    """Return Ann's mail: requests she answers, bulletins and FYIs she does not."""
    mails = []
    for d in range(days):
        day = T0 + d * DAY
        for sender, tag, hour in ((BOSS, "b", 0), (CLIENT, "c", 2)):
            asked = Mail(
                sender,
                [ANN],
                f"Request {tag}{d}",
                f"Could you look at item {tag}{d}?",
                day + hour * 60 * MINUTE,
                message_id=f"<{tag}{d}@habits.example>",
            )
            mails.append(asked)
            mails.append(
                Mail(
                    ANN,
                    [sender],
                    f"Re: Request {tag}{d}",
                    f"Hi,\n\nLooked at item {tag}{d}, all fine.\n\nThanks",
                    asked.at + 30 * MINUTE,
                    folders=("Sent",),
                    in_reply_to=asked.message_id,
                    message_id=f"<reply-{tag}{d}@habits.example>",
                )
            )
        mails.append(
            Mail(
                NEWS,
                [ANN, "all@co.example"],
                f"Bulletin {d}",
                "News. Unsubscribe here.",
                day,
                message_id=f"<n{d}@habits.example>",
            )
        )
        if d % 2:
            mails.append(
                Mail(
                    PEER,
                    [ANN],
                    f"FYI {d}",
                    f"For your information: the weekly numbers {d} are in the shared folder.",
                    day + 5 * 60 * MINUTE,
                    message_id=f"<fyi{d}@habits.example>",
                )
            )
    return mails


def load_habits(store: Store, root: Path) -> PersonTwin:
    """Ingest Ann's mailbox into ``store``, train and save her twin, and return it."""
    add_directory(store)
    ingest(store, write_maildir(root, habit_mails()))
    twin = train_twin(store, "ann", target=TARGET)
    save_twin(store, twin)
    return twin


def mail_titled(store: Store, title: str) -> Item:
    """Return Ann's email with this subject."""
    found = [
        i
        for i in store.list_items(Principal.person("ann"), ItemFilter(kinds=("email",)))
        if i.title == title
    ]
    assert len(found) == 1, f"{len(found)} emails titled {title!r}"
    return found[0]


def draft_for(store: Store, title: str, asker: str = "ann") -> tuple[str, int]:
    """Ask Ann's understudy to draft a reply to a mail; return the status and the action id."""
    item = mail_titled(store, title)
    response = ask(store, asker, "Draft a reply to this message", owner="ann", item=item.id)
    ids = [a["id"] for a in response.actions]
    return response.status, ids[0] if ids else 0
