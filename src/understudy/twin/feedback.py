"""Corrections: the owner says what they would really do, and the twin learns at once.

A correction is stored as a ``Decision`` with origin ``correction`` and moves
the person's models by one online step — no retrain. A reply written in a
correction becomes a past reply the drafts can learn from.
"""

from __future__ import annotations

from datetime import UTC, datetime

from understudy.errors import InputError
from understudy.records import DECISION_ACTIONS, Decision, Item
from understudy.store import Store
from understudy.twin.mailbox import message_from_item
from understudy.twin.model import Example, PersonTwin, save_twin
from understudy.twin.reply import reply_document

__all__ = ["RESPONSE_ACTIONS", "apply_feedback"]

RESPONSE_ACTIONS = ("reply", "ignore", "forward", "delegate", "file", "delete")


def apply_feedback(
    store: Store,
    twin: PersonTwin,
    item: Item,
    action: str,
    text: str = "",
    target: str | None = None,
) -> Decision:
    """Record a correction for an item and update the twin online; return the decision."""
    if action not in DECISION_ACTIONS:
        raise InputError(f"--action {action!r}: use one of {', '.join(DECISION_ACTIONS)}")
    if action == "file" and not target:
        raise InputError("--action file needs --target FOLDER")
    decision = Decision(
        person=twin.person,
        item_id=item.id or 0,
        action=action,
        at=datetime.now(UTC),
        target=target,
        text=text,
        origin="correction",
    )
    store.add_decisions([decision])
    if item.kind == "email" and action in RESPONSE_ACTIONS:
        message = message_from_item(item, twin.addresses)
        features = twin.known.get(item.id or -1) or twin.history.features(message)
        if action != "file":
            document = reply_document(message.sender, message.subject, message.text)
            twin.reply.update(features, replied=action == "reply", texts=[document])
        if action == "file" and target and not twin.filing.update(message, target):
            # A folder the model has never seen needs a retrain; remember it until then.
            pending = twin.extra.get("new_folders")
            folders = list(pending) if isinstance(pending, list) else []
            twin.extra["new_folders"] = [*folders, target]
        twin.examples.append(
            Example(
                item_id=item.id or 0,
                sender=message.sender,
                subject=message.subject,
                text=message.text[:600],
                replied=action == "reply",
                folder=target if action == "file" else None,
                reply_text=text if action == "reply" else "",
            )
        )
    twin.corrections += 1
    save_twin(store, twin)
    return decision
