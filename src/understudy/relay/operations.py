"""What an authenticated caller may do over the wire: ask, search, brief, predict,
approvals, questions.

The HTTP API, A2A and MCP all come here, with the caller taken from a
verified token and never from the request body. Reads run as the caller; a
question to someone else's understudy goes through that understudy, which
reads only what both may read and what its owner shares. Every call lands
in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from understudy.agent.requests import Origin, Request
from understudy.agent.tokens import Caller
from understudy.errors import (
    ConfigError,
    InputError,
    NotFound,
    PermissionDenied,
    UnderstudyError,
)
from understudy.records import AuditEvent, Person, Principal
from understudy.relay.deployment import Deployment
from understudy.relay.views import action_view, overview_view, result_view
from understudy.store import Store

__all__ = [
    "DeploymentRelay",
    "answer_as",
    "approvals",
    "ask",
    "ask_org",
    "brief",
    "decide",
    "find_colleague",
    "origin_for",
    "predict",
    "search",
]

MAX_QUESTION = 8000
VERDICTS = ("approve", "reject", "edit")


def origin_for(caller: Caller, owner: str) -> Origin:
    """Return who is asking ``owner``'s understudy: its owner, a colleague, or an understudy."""
    if caller.agent:
        return Origin.AGENT
    return Origin.OWNER if caller.person == owner else Origin.COLLEAGUE


def find_colleague(store: Store, text: str) -> Person:
    """Return the person (not an outside correspondent) named by id, email or name."""
    try:
        person = store.find_person(text)
    except NotFound:
        person = None
    if person is None or person.external:
        raise NotFound(f"no person {text[:80]!r} in this organization")
    return person


def _question(text: str) -> str:
    text = text.strip()
    if not text:
        raise InputError("the question is empty; send the question as text")
    if len(text) > MAX_QUESTION:
        raise InputError(f"the question is longer than {MAX_QUESTION} characters; shorten it")
    return text


def ask(
    deployment: Deployment, caller: Caller, question: str, to: str | None = None, via: str = "api"
) -> dict[str, Any]:
    """Ask the caller's own understudy, or ``to``'s; the answer cites what it used."""
    text = _question(question)
    if not to:
        return answer_as(deployment, caller, caller.person, text, via)
    with deployment.store() as store:
        owner = find_colleague(store, to).id
    return answer_as(deployment, caller, owner, text, via)


def answer_as(
    deployment: Deployment, caller: Caller, owner: str, question: str, via: str
) -> dict[str, Any]:
    """Return what ``owner``'s understudy says to the caller (the owner is known to exist)."""
    text = _question(question)
    request = Request(
        owner=owner,
        asker=caller.person,
        text=text,
        origin=origin_for(caller, owner),
        via=f"{via}:understudy:{caller.person}" if caller.agent else via,
    )
    with deployment.store() as store:
        return deployment.understudy(store, owner).handle(request).as_dict()


@dataclass
class DeploymentRelay:
    """Ask understudies served by this deployment, each on a connection of its own."""

    deployment: Deployment

    def ask(self, owner: str, question: str, asker: str) -> dict[str, Any]:
        """Return the response of ``owner``'s understudy to ``asker``'s understudy."""
        with self.deployment.store() as store:
            request = Request(
                owner=owner,
                asker=asker,
                text=question,
                origin=Origin.AGENT,
                via=f"understudy:{asker}",
            )
            return self.deployment.understudy(store, owner).handle(request).as_dict()


def ask_org(
    deployment: Deployment, caller: Caller, question: str, deadline: float = 10.0
) -> dict[str, Any]:
    """Ask the understudies of whoever likely knows, in parallel; merge what they say."""
    from understudy.agent.organization import ask_organization, who_knows

    text = _question(question)
    with deployment.store() as store:
        searcher = deployment.searcher(store)
        people = who_knows(store, searcher, caller.person, text)
        _audit(store, caller, "ask_organization", text, detail={"asked": people})
    # The connection goes back to the pool before the fan-out, which borrows its own:
    # with ``people`` given, ask_organization never touches the store or the searcher.
    merged = ask_organization(
        store, DeploymentRelay(deployment), searcher, caller.person, text, deadline, people
    )
    return merged.as_dict()


def _audit(
    store: Store,
    caller: Caller,
    event: str,
    request: str,
    items: list[int] | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    store.append_audit(
        AuditEvent(
            actor=caller.person,
            event=event,
            on_behalf_of=caller.person,
            request=request[:2000],
            items_read=tuple(items or ()),
            detail={"agent": caller.agent, **(detail or {})},
        )
    )


def search(deployment: Deployment, caller: Caller, query: str, limit: int = 10) -> dict[str, Any]:
    """Search everything the caller may read; ranked results with snippets."""
    text = _question(query)
    if not 1 <= limit <= 50:
        raise InputError(f"limit {limit} is out of range; ask for 1 to 50 results")
    with deployment.store() as store:
        results = deployment.searcher(store).search(Principal.person(caller.person), text, limit)
        rows = [result_view(n, r) for n, r in enumerate(results, start=1)]
        _audit(store, caller, "search", text, [r["item"] for r in rows if r["item"] is not None])
    return {"query": text, "results": rows}


def _zone(deployment: Deployment) -> ZoneInfo:
    name = deployment.settings.text("timezone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"timezone {name!r} is unknown; set UNDERSTUDY_TIMEZONE") from None


def brief(deployment: Deployment, caller: Caller, day: date | None = None) -> dict[str, Any]:
    """Return the caller's overview: waiting messages, the day's meetings, project changes."""
    from understudy.desk import build_overview

    zone = _zone(deployment)
    now = datetime.now(UTC) if day is None else datetime.combine(day, time(8), tzinfo=zone)
    with deployment.store() as store:
        overview = build_overview(store, caller.person, now, zone)
        view = overview_view(overview)
        items = [w["item"] for w in view["waiting"]] + [m["item"] for m in view["meetings"]]
        _audit(store, caller, "brief", f"brief for {now.date().isoformat()}", items)
    return view


def predict(deployment: Deployment, caller: Caller, item_id: int) -> dict[str, Any]:
    """Return what the caller would likely do with an item they may read, and why."""
    from understudy.twin.model import load_twin
    from understudy.twin.predict import predict_item

    with deployment.store() as store:
        item = store.get_item(Principal.person(caller.person), item_id)
        if item is None:
            raise NotFound(f"item {item_id} does not exist or you may not read it")
        try:
            twin = load_twin(store, caller.person)
        except NotFound as exc:
            # Not an unknown input: the person's twin has not been trained yet.
            raise UnderstudyError(exc.message) from None
        prediction = predict_item(store, twin, item).as_dict()
        _audit(store, caller, "predict", f"predict item {item_id}", [item_id])
    return prediction


def approvals(deployment: Deployment, caller: Caller) -> list[dict[str, Any]]:
    """Return the caller's actions waiting for approval, newest first."""
    from understudy.agent.approvals import pending

    with deployment.store() as store:
        return [action_view(a) for a in pending(store, caller.person)]


def questions(deployment: Deployment, caller: Caller, limit: int = 50) -> list[dict[str, Any]]:
    """Return the questions the caller left with others' owners, and their answers."""
    from understudy.agent.questions import asked_by

    with deployment.store() as store:
        return asked_by(store, caller.person, max(1, min(limit, 500)))


def decide(
    deployment: Deployment, caller: Caller, action_id: int, verdict: str, text: str = ""
) -> dict[str, Any]:
    """Approve, reject or edit one of the caller's waiting actions; only a person decides."""
    from understudy.agent.approvals import approve, edit, reject

    if verdict not in VERDICTS:
        raise InputError(f"verdict {verdict!r}: use one of {', '.join(VERDICTS)}")
    if caller.agent:
        raise PermissionDenied(
            "an understudy's token cannot decide approvals; use the person's own token"
        )
    if verdict == "edit" and not text.strip():
        raise InputError("an edit needs the new text")
    with deployment.store() as store:
        try:
            owner = store.get_action(action_id).owner
        except NotFound:
            owner = None
        if owner != caller.person:
            # Someone else's action is reported like a missing one: ids reveal nothing.
            raise NotFound(f"no action {action_id} waits for you")
        if verdict == "approve":
            done = approve(store, deployment.settings, action_id, caller.person)
        elif verdict == "edit":
            done = edit(store, deployment.settings, action_id, caller.person, text)
        else:
            done = reject(store, action_id, caller.person, text)
        return action_view(done)
