"""The approval queue: the owner approves, edits or rejects what the understudy proposed.

An approved action is carried out at once; an approved question is answered
to its asker (``agent/questions.py``). An edit or a rejection also
teaches the twin: an edited reply becomes the reply the owner would write,
a rejected reply becomes "the owner would not have replied".
"""

from __future__ import annotations

from datetime import UTC, datetime

from understudy.agent.outbox import execute_action
from understudy.agent.questions import QUESTION, answer_queued, decline_queued
from understudy.errors import InputError, NotFound, PermissionDenied
from understudy.records import Action, AuditEvent, Decision, Principal
from understudy.settings import Settings
from understudy.store import Store

__all__ = ["approve", "edit", "pending", "reject"]


def pending(store: Store, owner: str | None = None) -> list[Action]:
    """Return the actions waiting for approval, newest first."""
    return store.list_actions(owner=owner, state="proposed")


def _waiting(store: Store, action_id: int, by: str) -> Action:
    action = store.get_action(action_id)
    if action.owner != by:
        raise PermissionDenied(
            f"action {action_id} belongs to {action.owner}; only they may decide it"
        )
    if action.state != "proposed":
        raise InputError(f"action {action_id} is already {action.state}")
    return action


def _audit(store: Store, action: Action, event: str, by: str, detail: dict[str, object]) -> None:
    store.append_audit(
        AuditEvent(
            actor=by, event=event, on_behalf_of=action.owner, detail={"id": action.id, **detail}
        )
    )


def _correct(store: Store, action: Action, verdict: str, text: str = "") -> None:
    """Tell the twin what the owner really does with the item behind the action."""
    item_id = action.payload.get("item") or action.payload.get("in_reply_to")
    if not item_id or action.kind not in ("reply", "send", "forward"):
        return
    item = store.get_item(Principal.person(action.owner), int(item_id))
    if item is None:
        return
    try:
        from understudy.twin.feedback import apply_feedback
        from understudy.twin.model import load_twin

        apply_feedback(store, load_twin(store, action.owner), item, verdict, text)
    except NotFound:
        store.add_decisions(
            [
                Decision(
                    action.owner,
                    int(item_id),
                    verdict,
                    datetime.now(UTC),
                    text=text,
                    origin="correction",
                )
            ]
        )


def approve(store: Store, settings: Settings, action_id: int, by: str) -> Action:
    """Approve an action and carry it out."""
    action = _waiting(store, action_id, by)
    if not store.claim_action(action_id, "approved", by):
        raise InputError(f"action {action_id} was decided meanwhile; run 'understudy approvals'")
    approved = store.get_action(action_id)
    _audit(store, action, "action_approved", by, {"kind": action.kind})
    if action.kind == QUESTION:
        return answer_queued(store, settings, approved, by)
    done = execute_action(store, settings, approved)
    _audit(store, action, f"action_{done.state}", by, {"result": done.result})
    return done


def edit(store: Store, settings: Settings, action_id: int, by: str, text: str) -> Action:
    """Replace an action's text, approve it and carry it out; the twin learns the edit."""
    action = _waiting(store, action_id, by)
    field = "body" if "body" in action.payload or action.kind == QUESTION else "title"
    payload = {**action.payload, field: text}
    store.update_action(action_id, "proposed", payload=payload)
    _audit(store, action, "action_edited", by, {"field": field})
    _correct(store, action, "reply" if action.kind == "reply" else action.kind, text)
    return approve(store, settings, action_id, by)


def reject(store: Store, action_id: int, by: str, reason: str = "") -> Action:
    """Reject an action; the twin learns the owner would not have done it."""
    action = _waiting(store, action_id, by)
    if not store.claim_action(action_id, "rejected", by):
        raise InputError(f"action {action_id} was decided meanwhile; run 'understudy approvals'")
    rejected = store.update_action(action_id, "rejected", approved_by=by, result=reason)
    _audit(store, action, "action_rejected", by, {"reason": reason})
    if action.kind == QUESTION:
        return decline_queued(store, rejected, by)
    if action.kind != "forward":
        # Not forwarding an item to these people says nothing about ignoring it.
        _correct(store, action, "ignore")
    return rejected
