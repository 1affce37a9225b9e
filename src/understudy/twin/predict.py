"""What would this person do with an item? Predictions with their reasons and a draft."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from understudy.records import Item, Prediction
from understudy.store import Store
from understudy.twin.drafts import Writer, adapt_reply
from understudy.twin.mailbox import Message, correspondent, message_from_item
from understudy.twin.model import Example, PersonTwin
from understudy.twin.reply import reply_document
from understudy.twin.style import audience_of

__all__ = ["TwinPrediction", "predict_item"]


@dataclass
class TwinPrediction:
    """The twin's answer for one item."""

    person: str
    item_id: int
    distribution: dict[str, float]
    p_reply: float
    latency: str
    latency_distribution: dict[str, float]
    folder: str | None
    p_folder: float
    p_file: float
    folders: dict[str, float]
    confidence: float
    autonomous: dict[str, bool]
    neighbours: list[dict[str, Any]] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)
    draft: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Return the prediction as plain data for ``--json``."""
        return {
            "person": self.person,
            "item": self.item_id,
            "distribution": {k: round(v, 4) for k, v in self.distribution.items()},
            "p_reply": round(self.p_reply, 4),
            "latency_bucket": self.latency,
            "latency_distribution": {k: round(v, 4) for k, v in self.latency_distribution.items()},
            "folder": self.folder,
            "p_folder": round(self.p_folder, 4),
            "p_file": round(self.p_file, 4),
            "folders": {k: round(v, 4) for k, v in self.folders.items()},
            "confidence": round(self.confidence, 4),
            "autonomous": self.autonomous,
            "neighbours": self.neighbours,
            "explanation": self.explanation,
            "draft": self.draft,
        }

    def record(self) -> Prediction:
        """Return the store record of this prediction."""
        return Prediction(
            person=self.person,
            item_id=self.item_id,
            distribution=self.distribution,
            confidence=self.confidence,
            explanation=tuple(self.explanation),
            neighbours=tuple(int(n["item"]) for n in self.neighbours),
            draft=self.draft,
        )


def _distribution(twin: PersonTwin, p_reply: float) -> dict[str, float]:
    forward = twin.rates.get("forward", 0.0)
    delegate = twin.rates.get("delegate", 0.0)
    ignore = max(0.0, 1.0 - p_reply - forward - delegate)
    total = p_reply + forward + delegate + ignore
    return {
        "reply": p_reply / total,
        "forward": forward / total,
        "delegate": delegate / total,
        "ignore": ignore / total,
    }


def _neighbours(
    twin: PersonTwin, text: str, sender: str, item_id: int, top: int = 5
) -> list[tuple[Example, float]]:
    index = twin.neighbours
    if index is None or index.size != len(twin.examples):
        from understudy.twin.neighbours import NeighbourIndex

        index = twin.neighbours = NeighbourIndex.build(twin.examples)
    if index is None:
        return []
    return [(twin.examples[i], s) for i, s in index.query(text, sender, item_id, top)]


def _explain(twin: PersonTwin, sender: str, features: list[float], folder: str | None) -> list[str]:
    from understudy.twin.features import FEATURE_NAMES

    values = dict(zip(FEATURE_NAMES, features, strict=True))
    stats = twin.history.senders.get(sender)
    lines: list[str] = []
    if stats is not None and stats.resolved:
        lines.append(
            f"you replied to {stats.replied} of {stats.resolved} earlier messages from {sender}"
        )
    elif stats is None or not stats.received:
        lines.append(f"first message from {sender}")
    if values["direct"] and values["sole_recipient"]:
        lines.append("addressed to you alone")
    elif values["cc_only"]:
        lines.append("you are only in Cc")
    if values["thread_participated"]:
        lines.append("you have written in this thread")
    if values["bulk"] or values["sender_automated"]:
        lines.append("looks like bulk or automated mail")
    if folder:
        filed = [e for e in twin.examples if e.sender == sender and e.folder]
        same = sum(1 for e in filed if e.folder == folder)
        if filed:
            lines.append(f"you filed {same} of {len(filed)} messages from {sender} in {folder}")
    return lines


def _draft(
    twin: PersonTwin,
    store: Store,
    message: Message,
    nearest: list[tuple[Example, float]],
    writer: Writer | None,
) -> str:
    me = store.get_person(twin.person)
    other = correspondent(store, message.sender)
    domains = {a.rsplit("@", 1)[-1] for a in twin.addresses}
    style = twin.style.for_audience(audience_of(me, other, domains))
    first = other.name.split(" ")[0] if other and other.name and "@" not in other.name else ""
    replies = [(e, s) for e, s in nearest if e.reply_text]
    if not replies:
        same_sender = [
            e
            for e in twin.examples
            if e.reply_text and e.sender == message.sender and e.item_id != message.item_id
        ]
        replies = [(e, 0.0) for e in same_sender[-1:]]
    if writer is not None:
        examples = [(f"{e.subject}\n{e.text}", e.reply_text) for e, _ in replies[:3]]
        return writer.draft_reply(f"{message.subject}\n{message.text}", examples, style, first)
    if not replies:
        return ""
    return adapt_reply(replies[0][0].reply_text, style, first)


def predict_item(
    store: Store, twin: PersonTwin, item: Item, writer: Writer | None = None
) -> TwinPrediction:
    """Return what the person would likely do with an email item, and why."""
    message = message_from_item(item, twin.addresses)
    features = twin.known.get(item.id or -1) or twin.history.features(message)
    x = np.asarray([features], dtype=float)
    document = reply_document(message.sender, message.subject, message.text)
    p_reply = float(twin.reply.predict(x, [document])[0])
    folders, confidence = twin.filing.predict([message])
    p_file = float(twin.propensity.predict([message])[0]) if folders[0] else 0.0
    # The chance it is filed at all, times the chance the folder is the right one.
    folder, p_folder = folders[0], float(confidence[0]) * p_file
    distribution = _distribution(twin, p_reply)
    nearest = _neighbours(twin, f"{message.subject} {message.text}", message.sender, item.id or 0)
    thresholds = twin.thresholds
    return TwinPrediction(
        person=twin.person,
        item_id=item.id or 0,
        distribution=distribution,
        p_reply=p_reply,
        latency=twin.latency.predict(x)[0],
        latency_distribution=twin.latency.distribution(features),
        folder=folder,
        p_folder=p_folder,
        p_file=p_file,
        folders=twin.filing.distribution(message),
        confidence=max(distribution.values()),
        autonomous={
            "reply": thresholds.get("reply") is not None and p_reply >= (thresholds["reply"] or 1),
            "ignore": thresholds.get("ignore") is not None
            and 1 - p_reply >= (thresholds["ignore"] or 1),
            "file": folder is not None
            and thresholds.get("file") is not None
            and p_folder >= (thresholds["file"] or 1),
        },
        neighbours=[
            {
                "item": e.item_id,
                "subject": e.subject,
                "replied": e.replied,
                "folder": e.folder,
                "similarity": round(s, 3),
            }
            for e, s in nearest
        ],
        explanation=_explain(twin, message.sender, features, folder),
        draft=_draft(twin, store, message, nearest, writer),
    )
