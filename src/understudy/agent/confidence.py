"""How sure the twin is of a proposed action, and the threshold certified at the owner's precision.

The twin keeps its scores on the newest held-out part of the owner's
history. The threshold an action must clear to be carried out alone is
certified on those scores (Learn-then-Test) at the precision the owner's
policy asks for — not at whatever target the twin was trained with. A
stricter precision therefore never lowers the threshold; with too little
evidence for it, nothing is certified and the action waits for approval.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from understudy.agent.tools import Proposal
from understudy.errors import NotFound
from understudy.records import Principal
from understudy.store import Store

__all__ = ["CERTIFIABLE", "certified_threshold", "twin_confidence"]

# Which held-out scores (and which outcomes counted as right) back each action type.
CERTIFIABLE: dict[str, tuple[str, str, bool]] = {
    "reply": ("p_reply", "replied", False),
    "ignore": ("p_reply", "replied", True),
    "file": ("p_folder", "folder_correct", False),
}


def certified_threshold(twin: Any, action: str, precision: float) -> float | None:
    """Return the lowest confidence certified to reach ``precision`` for ``action``, or None."""
    from understudy.twin.thresholds import certify_threshold

    if action not in CERTIFIABLE:
        return None
    score_key, outcome_key, inverted = CERTIFIABLE[action]
    held_out = getattr(twin, "held_out", {}) or {}
    scores, outcomes = held_out.get(score_key), held_out.get(outcome_key)
    if scores is None or outcomes is None or len(scores) != len(outcomes):
        # A twin without its held-out scores: its own threshold still holds for any target
        # up to the one it was certified at (more precision there is enough precision here).
        trained_for = float(held_out.get("target", 0.95) or 0.95)
        return twin.thresholds.get(action) if precision <= trained_for else None
    confidence = np.asarray(scores, dtype=float)
    correct = np.asarray(outcomes, dtype=bool)
    if inverted:
        confidence, correct = 1 - confidence, ~correct
    return certify_threshold(confidence, correct, precision).threshold


def twin_confidence(
    store: Store, owner: str, proposal: Proposal, precision: float
) -> tuple[float | None, float | None]:
    """Return the twin's confidence in a proposal and the threshold it must clear."""
    if proposal.item_id is None or proposal.action not in CERTIFIABLE:
        return None, None
    from understudy.twin.model import load_twin
    from understudy.twin.predict import predict_item

    try:
        twin = load_twin(store, owner)
    except NotFound:
        return None, None
    item = store.get_item(Principal.person(owner), proposal.item_id)
    if item is None:
        return None, None
    prediction = predict_item(store, twin, item)
    value = {
        "reply": prediction.p_reply,
        "ignore": 1 - prediction.p_reply,
        "file": prediction.p_folder,
    }[proposal.action]
    return value, certified_threshold(twin, proposal.action, precision)
