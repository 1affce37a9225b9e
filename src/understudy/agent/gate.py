"""The policy gate every proposed action passes, whatever planned it.

Content of items is data, never instructions: an action may only reach
people the requester named themselves (in their request, or as the author
and recipients of the item they pointed at). An action aimed anywhere else
is blocked outright and logged — this is what stops a hostile email from
making the understudy forward anything, even when a language model was
persuaded to try. A forward is blocked too unless the requester's own words
ask to forward. What passes then meets the owner's autonomy for that
action type: ``observe`` drops it, ``suggest`` returns it as a draft only,
``ask`` queues it for approval, and ``act`` carries it out when the twin's
certified confidence clears the threshold (otherwise it is queued). Only the
owner's own requests can ever be carried out without approval.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from understudy.agent.policy import Policy
from understudy.agent.requests import Request, asks_to_forward
from understudy.agent.tools import Proposal
from understudy.errors import NotFound
from understudy.records import Action, AuditEvent, Principal
from understudy.store import Store
from understudy.store.directory import normalize_email

__all__ = ["GateDecision", "decide", "grounded_targets"]

_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass(frozen=True, slots=True)
class GateDecision:
    """What the gate did with a proposal."""

    outcome: str  # blocked | dropped | suggested | queued | approved
    reason: str
    action: Action | None = None


def _person_keys(store: Store, person_id: str) -> set[str]:
    person = store.get_person(person_id)
    keys = {person_id.lower()}
    if person is not None:
        keys |= {e.lower() for e in person.emails} | {person.id.lower()}
    return keys


def grounded_targets(store: Store, request: Request) -> set[str]:
    """Return every address or person id the requester themselves named or pointed at."""
    allowed: set[str] = set()
    text = request.text
    for address in _ADDRESS.findall(text):
        allowed |= _person_keys(store, normalize_email(address)) | {normalize_email(address)}
    lowered = text.lower()
    # Only people of the directory are named by name: an outsider's display name comes from
    # their own mail ("Inbox Assistant <x@evil.com>"), so only their address names them.
    for person in store.list_people():
        first = person.name.split(" ")[0].lower()
        if (
            person.name.lower() in lowered
            or re.search(rf"\b{re.escape(person.id.lower())}\b", lowered)
            or (len(first) > 2 and re.search(rf"\b{re.escape(first)}\b", lowered))
        ):
            allowed |= _person_keys(store, person.id)
    if request.item_id is not None:
        # A requester can only point at an item they may read themselves.
        item = store.get_item(Principal.all_of(request.owner, request.asker), request.item_id)
        if item is not None:
            for person_id in (item.author, *item.recipients):
                if person_id:
                    allowed |= _person_keys(store, person_id)
            allowed |= {str(a).lower() for a in item.metadata.get("to", []) or []}
            if item.metadata.get("from"):
                allowed.add(str(item.metadata["from"]).lower())
    return allowed | _person_keys(store, request.owner) | _person_keys(store, request.asker)


def _forward_refused(store: Store, request: Request, proposal: Proposal) -> str:
    """Return why a forward may not even be queued, or "" when the requester asked for it.

    Forwarding sends an item's content on, so only the requester's own words can ask
    for it and name its recipients: pointing at an item does not name its sender as one
    (the sender of a hostile item would otherwise be a target), and a pointed-at item
    is the only one that may travel.
    """
    if not asks_to_forward(request.text):
        return "the requester did not ask to forward anything"
    if request.item_id is not None and proposal.item_id != request.item_id:
        return "forwards another item than the one the requester pointed at"
    named = grounded_targets(store, replace(request, item_id=None))
    strays = [t for t in proposal.targets if t.lower() not in named]
    return f"not named by the requester: {', '.join(strays)}" if strays else ""


def _internal(store: Store, target: str) -> bool:
    try:
        person = store.find_person(target)
    except NotFound:
        return False
    return not person.external


def decide(
    store: Store,
    request: Request,
    proposal: Proposal,
    policy: Policy,
    confidence: float | None,
    threshold: float | None,
) -> GateDecision:
    """Block, drop, draft, queue or approve one proposal; record what happened."""
    allowed = grounded_targets(store, request)
    strays = [t for t in proposal.targets if t.lower() not in allowed]
    if strays:
        return _blocked(
            store, request, proposal, f"not named by the requester: {', '.join(strays)}"
        )
    if proposal.action == "forward":
        refused = _forward_refused(store, request, proposal)
        if refused:
            return _blocked(store, request, proposal, refused)
    level = policy.level(proposal.action)
    if level == "observe":
        return _record(
            store, request, proposal, "dropped", f"policy: {proposal.action} is observe-only"
        )
    if level == "suggest":
        return _record(
            store, request, proposal, "suggested", f"policy: {proposal.action} is suggest-only"
        )
    external = [t for t in proposal.targets if not _internal(store, t)]
    certified = confidence is not None and threshold is not None and confidence >= threshold
    if level == "act" and request.from_owner and certified and not external:
        return _record(
            store, request, proposal, "approved", f"confidence {confidence:.2f} ≥ {threshold:.2f}"
        )
    why = "policy: ask" if level == "ask" else "not certain enough to act alone"
    if external:
        why = f"goes outside the organization ({', '.join(external)})"
    if not request.from_owner:
        why = f"asked by {request.asker}, not the owner"
    return _record(store, request, proposal, "queued", why)


def _blocked(store: Store, request: Request, proposal: Proposal, reason: str) -> GateDecision:
    store.append_audit(
        AuditEvent(
            actor=request.asker,
            event="blocked",
            on_behalf_of=request.owner,
            request=request.text[:2000],
            detail={"action": proposal.action, "targets": list(proposal.targets), "reason": reason},
        )
    )
    return GateDecision("blocked", reason)


def _record(
    store: Store, request: Request, proposal: Proposal, outcome: str, reason: str
) -> GateDecision:
    action = None
    if outcome in ("queued", "approved"):
        action = store.add_action(
            Action(
                owner=request.owner,
                kind=proposal.action,
                payload={
                    **proposal.payload,
                    "item": proposal.item_id,
                    "reason": reason,
                    "request": request.text[:500],
                },
                requested_by=request.asker,
                state="approved" if outcome == "approved" else "proposed",
                approved_by="policy" if outcome == "approved" else None,
            )
        )
    store.append_audit(
        AuditEvent(
            actor=request.asker,
            event=f"action_{outcome}",
            on_behalf_of=request.owner,
            request=request.text[:2000],
            detail={
                "action": proposal.action,
                "reason": reason,
                "id": action.id if action else None,
            },
        )
    )
    return GateDecision(outcome, reason, action)
