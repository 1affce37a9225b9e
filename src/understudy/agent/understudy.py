"""An understudy: takes a request, finds what it may use, plans with tools, answers as itself.

Reads run as the owner for the owner's own requests, and as *both* the owner
and the asker otherwise, restricted further by the owner's sharing rule for
that asker. Every request, every item read, every disclosure and every
action is written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from understudy.agent.confidence import twin_confidence
from understudy.agent.gate import GateDecision, decide
from understudy.agent.policy import Policy
from understudy.agent.principals import principals_of
from understudy.agent.requests import Intent, Request, recognize_intent
from understudy.agent.response import Response
from understudy.agent.tools import Proposal, ToolContext
from understudy.records import ITEM_KINDS, Action, AuditEvent, Principal
from understudy.settings import Settings
from understudy.store import ItemFilter, Store

__all__ = ["Understudy", "load_policy"]


def load_policy(store: Store, owner: str) -> Policy:
    """Return the owner's policy, or the defaults."""
    data = store.get_policy(owner)
    return Policy(owner) if data is None else Policy.from_dict(owner, data)


@dataclass
class Understudy:
    """The understudy of one owner."""

    store: Store
    owner: str
    settings: Settings
    model: Any = None
    relay: Any = None
    now: datetime | None = None
    searcher: Any = None
    policy: Policy = field(init=False)
    # The audit events of the request being handled, written when it ends.
    _audit_batch: list[AuditEvent] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        # The owner may be given by email or name; the policy is kept under their id.
        person = self.store.find_person(self.owner)
        self.owner = person.id
        self.owner_name = person.name
        self.policy = load_policy(self.store, self.owner)
        if self.searcher is None:
            from understudy.brain.embeddings import get_embedder
            from understudy.brain.search import Searcher

            embedder = get_embedder(self.settings)
            self.searcher = Searcher(
                self.store, embedder if self.store.has_embeddings(embedder.name) else None
            )

    def context_for(
        self, request: Request, principal: Principal, where: ItemFilter | None
    ) -> ToolContext:
        """Return what tools may use to serve ``request``, reading as ``principal``."""
        return ToolContext(
            store=self.store,
            request=request,
            principal=principal,
            where=where,
            settings=self.settings,
            now=self.now or datetime.now(UTC),
            searcher=self.searcher,
            relay=self.relay,
            model=self.model,
        )

    def _scope(self, request: Request) -> tuple[Principal, ItemFilter | None] | None:
        """Return what this request may read; None when the owner shares nothing with the asker."""
        if request.from_owner:
            return Principal.person(self.owner), None
        rule = self.policy.rule_for(principals_of(self.store, request.asker))
        if rule is None:
            return None
        kinds = () if set(rule.kinds) == set(ITEM_KINDS) else tuple(rule.kinds)
        return Principal.all_of(self.owner, request.asker), ItemFilter(
            kinds=kinds, projects=rule.projects
        )

    def handle(self, request: Request) -> Response:
        """Serve one request and return what the understudy says.

        The request's audit events are written together, in one transaction,
        before the response leaves (and also when serving it failed).
        """
        self._audit_batch = []
        try:
            return self._handle(request)
        finally:
            events, self._audit_batch = self._audit_batch, None
            self.store.append_audits(events)

    def _handle(self, request: Request) -> Response:
        self.audit(request, "request", detail={"origin": request.origin.value, "via": request.via})
        intent = recognize_intent(request.text)
        scope = self._scope(request)
        if scope is None:
            response = self._decline(request, intent, "the owner shares nothing with you")
        else:
            from understudy.agent.planning import plan_and_run

            # One resolution of what owner and asker may both read, for every read below.
            with self.store.reading_as(scope[0]):
                context = self.context_for(request, *scope)
                response = plan_and_run(self, request, intent, context)
            self.audit(request, "read", items=context.read)
        if response.items and request.asker != self.owner:
            self.audit(request, "disclose", items=response.items, to=request.asker)
        return response

    def response(self, request: Request, intent: Intent, body: str, **fields: Any) -> Response:
        """Return a response spoken by this understudy."""
        return Response(self.owner, self.owner_name, request.asker, intent, body, **fields)

    def _decline(self, request: Request, intent: Intent, reason: str) -> Response:
        body = "I cannot share that with you."
        actions: list[dict[str, Any]] = []
        if self.policy.queue_declined and not request.from_owner:
            queued = self.store.add_action(
                Action(
                    owner=self.owner,
                    kind="answer_question",
                    payload={"question": request.text, "asker": request.asker, "reason": reason},
                    requested_by=request.asker,
                )
            )
            actions.append({"id": queued.id, "kind": queued.kind, "state": queued.state})
            body += f" I have passed your question to {self.owner_name}."
            self.audit(
                request, "action_queued", detail={"action": "answer_question", "id": queued.id}
            )
        return self.response(request, intent, body, status="declined", actions=actions)

    def decline(self, request: Request, intent: Intent, reason: str) -> Response:
        """Say the understudy cannot share, queueing the question when the policy says so."""
        return self._decline(request, intent, reason)

    def gate(self, request: Request, proposal: Proposal) -> GateDecision:
        """Pass a proposal through the owner's policy, with the twin's certified confidence."""
        confidence, threshold = twin_confidence(
            self.store, self.owner, proposal, self.policy.precision
        )
        return decide(self.store, request, proposal, self.policy, confidence, threshold)

    def audit(
        self,
        request: Request,
        event: str,
        items: list[int] | None = None,
        to: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        recorded = AuditEvent(
            actor=request.asker,
            event=event,
            on_behalf_of=self.owner,
            request=request.text[:2000],
            items_read=tuple(items or ()),
            disclosed_to=to,
            detail=detail or {},
        )
        if self._audit_batch is None:
            self.store.append_audit(recorded)
        else:
            self._audit_batch.append(recorded)
