"""A person's twin: their models, thresholds, style and patterns, trained from the store.

``train_twin`` replays the person's mailbox, fits the reply, latency and
filing models on the older 85% of their received mail, calibrates them and
certifies the autonomy thresholds on the newest 15%, and keeps the history's
end state so a new message is scored in milliseconds. The twin is saved in
the store (``models`` table), so any process can load it.
"""

from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

import numpy as np

from understudy.errors import NotFound
from understudy.records import Principal
from understudy.store import Store
from understudy.twin.dataset import Row, matrix, replay, texts
from understudy.twin.features import History
from understudy.twin.filing import FilingPropensity, FolderModel
from understudy.twin.mailbox import Mailbox, correspondent, load_mailbox
from understudy.twin.neighbours import NeighbourIndex
from understudy.twin.patterns import DailyPatterns, build_patterns
from understudy.twin.reply import LatencyModel, PriorModel, ReplyModel
from understudy.twin.style import StyleProfile, audience_of, build_style
from understudy.twin.thresholds import certify_threshold

__all__ = ["MODEL_KIND", "PersonTwin", "load_twin", "save_twin", "train_twin"]

MODEL_KIND = "twin"
HELD_OUT_SHARE = 0.15


@dataclass
class Example:
    """A past received message, kept to explain and to draft from."""

    item_id: int
    sender: str
    subject: str
    text: str
    replied: bool
    folder: str | None
    reply_text: str = ""


@dataclass
class PersonTwin:
    """Everything learned about one person."""

    person: str
    trained_at: datetime
    reply: ReplyModel
    latency: LatencyModel
    filing: FolderModel
    history: History
    known: dict[int, list[float]]
    examples: list[Example]
    thresholds: dict[str, float | None]
    held_out: dict[str, object]
    rates: dict[str, float]
    style: StyleProfile
    patterns: DailyPatterns
    addresses: frozenset[str] = frozenset()
    propensity: FilingPropensity = field(default_factory=FilingPropensity)
    neighbours: NeighbourIndex | None = None
    corrections: int = 0
    extra: dict[str, object] = field(default_factory=dict)


def _fit_models(
    rows: list[Row], cut: int, prior: PriorModel | None
) -> tuple[ReplyModel, LatencyModel, FolderModel]:
    train = [i for i in range(cut) if rows[i].covered]
    held = [i for i in range(cut, len(rows)) if rows[i].covered]
    labels = np.array([r.replied for r in rows], dtype=bool)
    reply = ReplyModel(prior=prior).fit(matrix(rows, train), labels[train], texts(rows, train))
    reply.calibrate(
        matrix(rows, held),
        labels[held],
        (matrix(rows, train), labels[train]),
        texts(rows, held),
        texts(rows, train),
    )
    replied = [i for i in train if rows[i].replied and rows[i].latency]
    latency = LatencyModel().fit(matrix(rows, replied), [rows[i].latency or "" for i in replied])
    filed = [i for i in range(cut) if rows[i].folder]
    filing = FolderModel().fit(
        [rows[i].message for i in filed], [rows[i].folder or "" for i in filed]
    )
    held_filed = [i for i in range(cut, len(rows)) if rows[i].folder]
    if held_filed:
        filing.calibrate(
            [rows[i].message for i in held_filed], [rows[i].folder or "" for i in held_filed]
        )
    return reply, latency, filing


def _fit_propensity(rows: list[Row], cut: int) -> FilingPropensity:
    propensity = FilingPropensity().fit(
        [rows[i].message for i in range(cut)], [rows[i].folder is not None for i in range(cut)]
    )
    propensity.calibrate(
        [rows[i].message for i in range(cut, len(rows))],
        [rows[i].folder is not None for i in range(cut, len(rows))],
    )
    return propensity


def _certify(rows: list[Row], cut: int, twin: PersonTwin, target: float) -> dict[str, float | None]:
    held = [i for i in range(cut, len(rows)) if rows[i].covered]
    thresholds: dict[str, float | None] = {"reply": None, "ignore": None, "file": None}
    if held:
        p = twin.reply.predict(matrix(rows, held), texts(rows, held))
        replied = np.array([rows[i].replied for i in held], dtype=bool)
        thresholds["reply"] = certify_threshold(p, replied, target).threshold
        thresholds["ignore"] = certify_threshold(1 - p, ~replied, target).threshold
        twin.held_out["p_reply"] = p.tolist()
        twin.held_out["replied"] = replied.tolist()
    received = list(range(cut, len(rows)))
    if any(rows[i].folder for i in received):
        messages = [rows[i].message for i in received]
        folders, confidence = twin.filing.predict(messages)
        joint = confidence * twin.propensity.predict(messages)
        # Acting alone means filing mail that would really be filed, in the right folder.
        correct = np.array([f == rows[i].folder for f, i in zip(folders, received, strict=True)])
        thresholds["file"] = certify_threshold(joint, correct, target).threshold
        confidence = joint
        twin.held_out["p_folder"] = confidence.tolist()
        twin.held_out["folder_correct"] = correct.tolist()
    return thresholds


def _examples(rows: list[Row]) -> list[Example]:
    return [
        Example(
            item_id=row.message.item_id,
            sender=row.message.sender,
            subject=row.message.subject,
            text=row.message.text[:600],
            replied=row.replied,
            folder=row.folder,
            reply_text=row.message.outcome.reply_text,
        )
        for row in rows
    ]


def _rates(rows: list[Row]) -> dict[str, float]:
    n = max(1, len(rows))
    outcomes: Counter[str] = Counter()
    for row in rows:
        outcome = row.message.outcome
        outcomes["reply"] += row.replied
        outcomes["forward"] += outcome.forwarded and not outcome.delegated_to
        outcomes["delegate"] += outcome.delegated_to is not None
        outcomes["file"] += row.folder is not None
        outcomes["delete"] += outcome.deleted
    return {action: (count + 0.5) / (n + 1) for action, count in outcomes.items()}


def _style(store: Store, mailbox: Mailbox) -> StyleProfile:
    me = store.get_person(mailbox.person)
    domains = {a.rsplit("@", 1)[-1] for a in mailbox.addresses}
    people: dict[str, object] = {}
    samples = []
    for message in mailbox.sent:
        address = (message.to or message.cc or ("",))[0]
        if address not in people:
            people[address] = correspondent(store, address)
        other = people[address]
        names = [getattr(other, "name", "").split(" ")[0]] if other else []
        samples.append((audience_of(me, other, domains), message.text, names))  # type: ignore[arg-type]
    return build_style(mailbox.person, samples)


def _patterns(store: Store, mailbox: Mailbox, zone: tzinfo) -> DailyPatterns:
    me = store.get_person(mailbox.person)
    domains = {a.rsplit("@", 1)[-1] for a in mailbox.addresses}

    def sender_class(address: str) -> str:
        return audience_of(me, correspondent(store, address), domains)

    decisions = store.list_decisions(
        person=mailbox.person, actions=("accept", "decline", "tentative")
    )
    events = {
        item.id or 0: item
        for item in store.get_items(
            Principal.person(mailbox.person), [d.item_id for d in decisions]
        )
    }
    return build_patterns(mailbox, _cached(sender_class), decisions, events, zone)


def _cached(function: Callable[[str], str]) -> Callable[[str], str]:
    memo: dict[str, str] = {}

    def call(address: str) -> str:
        if address not in memo:
            memo[address] = function(address)
        return memo[address]

    return call


def train_twin(
    store: Store,
    person: str,
    prior: PriorModel | None = None,
    zone: tzinfo = UTC,
    target: float = 0.95,
) -> PersonTwin:
    """Learn a person's twin from their mailbox and decisions in the store."""
    if store.get_person(person) is None:
        raise NotFound(f"no person {person!r}; run 'understudy people' to see who is known")
    mailbox = load_mailbox(store, person)
    rows, history = replay(mailbox)
    if not rows:
        raise NotFound(
            f"no received mail for {person!r} to learn from; "
            f"add their mailbox with 'understudy ingest maildir PATH --owner {person}'"
        )
    cut = len(rows) - max(1, int(len(rows) * HELD_OUT_SHARE)) if len(rows) > 10 else len(rows)
    reply, latency, filing = _fit_models(rows, cut, prior)
    twin = PersonTwin(
        person=person,
        trained_at=datetime.now(UTC),
        reply=reply,
        latency=latency,
        filing=filing,
        history=history,
        known={row.message.item_id: row.features for row in rows},
        examples=_examples(rows),
        thresholds={},
        held_out={"rows": len(rows) - cut, "target": target},
        rates=_rates(rows),
        style=_style(store, mailbox),
        patterns=_patterns(store, mailbox, zone),
        addresses=mailbox.addresses,
    )
    twin.propensity = _fit_propensity(rows, cut)
    twin.neighbours = NeighbourIndex.build(twin.examples)
    twin.thresholds = _certify(rows, cut, twin, target)
    return twin


def save_twin(store: Store, twin: PersonTwin) -> int:
    """Save the twin in the store; return its version."""
    summary = {
        "trained_at": twin.trained_at.isoformat(),
        "examples": len(twin.examples),
        "thresholds": twin.thresholds,
        "rates": twin.rates,
        "corrections": twin.corrections,
    }
    return store.put_model(twin.person, MODEL_KIND, pickle.dumps(twin), summary)


def load_twin(store: Store, person: str) -> PersonTwin:
    """Load a person's twin, or say how to train one."""
    stored = store.get_model(person, MODEL_KIND)
    if stored is None:
        raise NotFound(f"no twin for {person!r} yet; run 'understudy twin train --for {person}'")
    twin = pickle.loads(stored.blob)
    if not isinstance(twin, PersonTwin):
        raise NotFound(f"the stored twin of {person!r} is unreadable; train it again")
    return twin
