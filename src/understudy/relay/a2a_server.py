"""Every person's understudy as an A2A agent, served with the official ``a2a-sdk``.

``/a2a/<person>/`` speaks A2A 1.0 over JSON-RPC (``SendMessage``,
``GetTask``, ``ListTasks``, ``CancelTask``); its card lives at
``/a2a/<person>/.well-known/agent-card.json`` and ``/a2a/`` lists every card.
The caller is whoever the bearer token names — a colleague, or a colleague's
understudy — and the owner is the person in the path. The message text is
the request; the understudy decides what it may use and says so.

A quick question gets a message back. Long work — the owner having their own
understudy ask the organization (message metadata ``{"org": true}``), any
answer written by a language model, or a request sent with
``returnImmediately`` — is a task (submitted → working → completed) kept in
the store, so ``GetTask`` works on any server process.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from a2a.auth.user import User
from a2a.helpers import get_message_text, new_data_part
from a2a.server.agent_execution import (
    AgentExecutor,
    RequestContext,
    SimpleRequestContextBuilder,
)
from a2a.server.context import ServerCallContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import ServerCallContextBuilder
from a2a.server.routes.jsonrpc_dispatcher import JsonRpcDispatcher
from a2a.server.tasks import TaskUpdater
from a2a.types import Message, Part, Role, SendMessageRequest, Task, TaskState, TaskStatus
from a2a.utils.constants import VERSION_HEADER
from a2a.utils.errors import InvalidParamsError
from starlette.exceptions import HTTPException
from starlette.requests import Request as HTTPRequest
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from understudy.agent.tokens import Caller
from understudy.errors import ConfigError, NotFound, StoreError, UnderstudyError
from understudy.records import Person
from understudy.relay import operations
from understudy.relay.a2a_cards import agent_card, card_dict, template_card
from understudy.relay.a2a_tasks import FreshTaskIds, StoreTaskStore
from understudy.relay.deployment import Deployment

__all__ = ["SORRY", "A2AService", "CallerUser", "UnderstudyExecutor"]

log = logging.getLogger(__name__)

SORRY = "I could not answer just now; please try again later."
PERSON_LIFETIME = 30.0


class CallerUser(User):
    """The authenticated caller of one understudy; tasks are scoped to the pair."""

    def __init__(self, caller: Caller, owner: str) -> None:
        self.caller = caller
        self.owner = owner

    @property
    def is_authenticated(self) -> bool:
        """Return True: only verified tokens reach the agents."""
        return True

    @property
    def user_name(self) -> str:
        """Return the task scope: who called which understudy."""
        return f"{self.caller.person}>{self.owner}"


class _CallContextBuilder(ServerCallContextBuilder):
    """Build the call context from what the auth middleware and the route resolved."""

    def build(self, request: HTTPRequest) -> ServerCallContext:
        """Return the context: the verified caller and the understudy's owner (no headers)."""
        caller: Caller = request.state.caller
        owner: Person = request.state.owner
        # Only the protocol version travels on: no other header (least of all the token).
        headers = {VERSION_HEADER: request.headers.get(VERSION_HEADER, "")}
        return ServerCallContext(
            user=CallerUser(caller, owner.id),
            state={"caller": caller, "owner": owner, "headers": headers},
        )


def _parts(answer: dict[str, Any]) -> list[Part]:
    data = new_data_part(answer, media_type="application/json")
    return [Part(text=str(answer["text"]), media_type="text/plain"), data]


def _reply(context: RequestContext, answer: dict[str, Any] | str) -> Message:
    """Return the agent's reply message: the answer, or why there is none."""
    reply = Message(
        role=Role.ROLE_AGENT, message_id=uuid.uuid4().hex, context_id=str(context.context_id)
    )
    if isinstance(answer, str):
        reply.parts.append(Part(text=answer))
        reply.metadata.update({"status": "failed"})
    else:
        reply.parts.extend(_parts(answer))
        reply.metadata.update({"from": answer["from"], "status": answer["status"]})
    return reply


def _org_answer(owner: Person, caller: Caller, merged: dict[str, Any]) -> dict[str, Any]:
    lines = [str(a["text"]) for a in merged["answers"]] or ["No understudy could answer that."]
    for label, key in (
        ("declined to share", "declined"),
        ("knew nothing", "nothing"),
        ("did not answer in time", "unanswered"),
    ):
        if merged[key]:
            lines.append(f"{label}: {', '.join(merged[key])}")
    head = f"The understudy of {owner.name} asked {len(merged['asked'])} understudies."
    citations = [{**c, "from": a["from"]} for a in merged["answers"] for c in a["citations"]]
    return {
        "from": f"the understudy of {owner.name}",
        "owner": owner.id,
        "asker": caller.person,
        "intent": "question",
        "status": "answered" if merged["answers"] else "nothing",
        "text": "\n".join([head, *lines]),
        "citations": citations,
        "actions": [],
        "items": [],
        "organization": merged,
    }


class UnderstudyExecutor(AgentExecutor):
    """Run one A2A request through the owner's understudy, as a task."""

    def __init__(self, deployment: Deployment, org_deadline: float = 10.0) -> None:
        self.deployment = deployment
        self.org_deadline = org_deadline

    def _answer(self, caller: Caller, owner: Person, text: str, org: bool) -> dict[str, Any]:
        if org:
            merged = operations.ask_org(self.deployment, caller, text, self.org_deadline)
            return _org_answer(owner, caller, merged)
        return operations.answer_as(self.deployment, caller, owner.id, text, via="a2a")

    async def _answer_safely(
        self, caller: Caller, owner: Person, text: str, org: bool
    ) -> dict[str, Any] | str:
        """Return the answer, or what to say instead when it failed (revealing nothing)."""
        try:
            return await anyio.to_thread.run_sync(self._answer, caller, owner, text, org)
        except UnderstudyError as exc:
            if not isinstance(exc, StoreError | ConfigError):
                return exc.message
            log.exception("A2A request to %s failed", owner.id)
        except Exception:
            log.exception("A2A request to %s failed", owner.id)
        return SORRY

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Answer with a message, or — for long work — as a task others can follow."""
        caller: Caller = context.call_context.state["caller"]
        owner: Person = context.call_context.state["owner"]
        if context.message is None:
            raise InvalidParamsError(message="send the question as a text part")
        text = context.get_user_input().strip()
        wanted = bool(context.metadata.get("org") or _message_flag(context.message, "org"))
        # Only the owner, in person, has their understudy ask the organization.
        org = wanted and caller.person == owner.id and not caller.agent
        configuration = context.configuration
        long_work = (
            org
            or self.deployment.model is not None
            or context.current_task is not None
            or bool(configuration and configuration.return_immediately)
        )
        asked = (caller, owner, text, org)
        if not long_work:
            answer = await self._answer_safely(*asked)
            await event_queue.enqueue_event(_reply(context, answer))
            return
        await self._as_task(context, event_queue, lambda: self._answer_safely(*asked))

    async def _as_task(
        self,
        context: RequestContext,
        event_queue: EventQueue,
        answering: Callable[[], Awaitable[dict[str, Any] | str]],
    ) -> None:
        """Run the answer as a task: submitted, working, then completed (or failed)."""
        task_id, context_id = str(context.task_id), str(context.context_id)
        if context.current_task is None and context.message is not None:
            submitted = TaskStatus(state=TaskState.TASK_STATE_SUBMITTED)
            task = Task(id=task_id, context_id=context_id, status=submitted)
            task.history.append(context.message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task_id, context_id)
        await updater.start_work()
        answer = await answering()
        if isinstance(answer, str):
            await updater.failed(updater.new_agent_message([Part(text=answer)]))
            return
        parts = _parts(answer)
        await updater.add_artifact(parts, name="answer")
        metadata = {"from": answer["from"], "status": answer["status"]}
        await updater.complete(updater.new_agent_message(parts, metadata=metadata))

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Mark the task canceled (the answer being prepared is dropped)."""
        updater = TaskUpdater(event_queue, str(context.task_id), str(context.context_id))
        await updater.cancel()


def _message_flag(message: Message, name: str) -> bool:
    return (
        message.HasField("metadata")
        and name in message.metadata.fields
        and bool(message.metadata.fields[name].bool_value)
    )


class _Handler(DefaultRequestHandler):
    """The SDK's request handler, refusing a message without text before any task exists."""

    async def on_message_send(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> Message | Task:
        """Check the message has text, then send it as the SDK does."""
        if not get_message_text(params.message).strip():
            raise InvalidParamsError(message="send the question as a text part")
        result: Message | Task = await super().on_message_send(params, context)
        return result


class A2AService:
    """The A2A side of the server: cards, the directory and every understudy's endpoint."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        fresh = FreshTaskIds()
        self.handler = _Handler(
            agent_executor=UnderstudyExecutor(deployment),
            task_store=StoreTaskStore(deployment, fresh),
            agent_card=template_card(),
            request_context_builder=SimpleRequestContextBuilder(task_id_generator=fresh),
        )
        self.dispatcher = JsonRpcDispatcher(self.handler, context_builder=_CallContextBuilder())
        # Known owners, briefly: every call names one, and people change rarely.
        self._people_seen: dict[str, tuple[float, Person]] = {}

    def routes(self) -> list[BaseRoute]:
        """Return the routes to mount at the server's root."""
        card = "/a2a/{person}/.well-known/agent-card.json"
        return [
            Route("/a2a/", self.directory, methods=["GET"]),
            Route(card, self.card, methods=["GET"]),
            Route("/a2a/{person}/", self.rpc, methods=["POST"]),
            Route("/a2a/{person}", self.rpc, methods=["POST"]),
        ]

    def _person(self, person_id: str) -> Person:
        with self.deployment.store() as store:
            person = store.get_person(person_id)
        if person is None or person.external or person.id != person_id:
            raise NotFound(f"no understudy {person_id[:80]!r} here")
        self._people_seen[person_id] = (time.monotonic(), person)
        return person

    async def _owner(self, request: HTTPRequest) -> Person:
        person_id = request.path_params["person"]
        seen = self._people_seen.get(person_id)
        if seen is not None and time.monotonic() - seen[0] < PERSON_LIFETIME:
            return seen[1]
        try:
            return await anyio.to_thread.run_sync(self._person, person_id)
        except NotFound as exc:
            raise HTTPException(404, exc.message) from None

    async def rpc(self, request: HTTPRequest) -> Response:
        """Serve one JSON-RPC call to the understudy of the person in the path."""
        request.state.owner = await self._owner(request)
        return await self.dispatcher.handle_requests(request)

    async def card(self, request: HTTPRequest) -> Response:
        """Return the Agent Card of the person's understudy."""
        person = await self._owner(request)
        organization = self.deployment.settings.text("org")
        return JSONResponse(card_dict(agent_card(person, str(request.base_url), organization)))

    def _people(self) -> list[Person]:
        with self.deployment.store() as store:
            return store.list_people()

    async def directory(self, request: HTTPRequest) -> Response:
        """Return every understudy's card, as a directory."""
        people = await anyio.to_thread.run_sync(self._people)
        base, organization = str(request.base_url), self.deployment.settings.text("org")
        cards = [card_dict(agent_card(p, base, organization)) for p in people]
        return JSONResponse({"organization": organization, "agents": cards})

    async def aclose(self) -> None:
        """Drain running tasks at shutdown."""
        await self.handler.aclose()
