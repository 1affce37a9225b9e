"""The owner's target precision is what the autonomy threshold is certified against."""

from __future__ import annotations

import pytest

from tests.agent.habits import TARGET, draft_for, mail_titled
from tests.agent.smtp import SMTPServer
from understudy.agent.confidence import certified_threshold
from understudy.agent.policy import Policy
from understudy.store import Store
from understudy.twin.model import PersonTwin
from understudy.twin.predict import predict_item

PRECISIONS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99)


def test_the_default_target_precision_is_95_percent() -> None:
    assert Policy("ann").precision == 0.95


@pytest.mark.parametrize("action", ["reply", "ignore", "file"])
def test_a_stricter_precision_never_lowers_the_threshold(
    ann: tuple[Store, PersonTwin], action: str
) -> None:
    _, twin = ann
    thresholds = [certified_threshold(twin, action, p) for p in PRECISIONS]
    # Nothing certified is the strictest threshold of all: the twin never acts alone.
    as_numbers = [2.0 if t is None else t for t in thresholds]
    assert as_numbers == sorted(as_numbers), dict(zip(PRECISIONS, thresholds, strict=True))


def test_the_threshold_is_certified_at_the_owners_precision(
    ann: tuple[Store, PersonTwin],
) -> None:
    _, twin = ann
    # At the target the twin was trained for, the policy gets the twin's own threshold.
    assert certified_threshold(twin, "reply", TARGET) == twin.thresholds["reply"]
    lenient = certified_threshold(twin, "reply", 0.6)
    assert lenient is not None
    assert lenient < (twin.thresholds["reply"] or 1.0)
    assert certified_threshold(twin, "reply", 0.99) is None
    assert certified_threshold(twin, "forward", 0.6) is None  # the twin has no forward model


def test_the_same_request_acts_alone_or_waits_by_the_owners_precision(
    ann: tuple[Store, PersonTwin], smtp_server: SMTPServer
) -> None:
    store, twin = ann
    assert predict_item(store, twin, mail_titled(store, "Request b46")).p_reply >= (
        twin.thresholds["reply"] or 1.0
    )
    store.put_policy("ann", {"autonomy": {"reply": "act"}, "precision": 0.95})
    status, action_id = draft_for(store, "Request b46")
    assert status == "queued"
    assert store.get_action(action_id).payload["reason"] == "not certain enough to act alone"
    assert smtp_server.received == []
    store.put_policy("ann", {"autonomy": {"reply": "act"}, "precision": TARGET})
    status, action_id = draft_for(store, "Request b45")
    assert status == "answered"
    assert store.get_action(action_id).approved_by == "policy"
    assert [d.message["Subject"] for d in smtp_server.received] == ["Re: Request b45"]
