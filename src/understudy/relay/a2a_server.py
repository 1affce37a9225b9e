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
the store, so ``GetTask`` works on any server process. A question the
understudy queued for its owner is a task waiting for input until the owner
decides; ``GetTask`` then returns the owner's answer or refusal (a2a_tasks).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from a2a.auth.user import User
from a2a.helpers import get_message_text
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
from a2a.utils.input_mode_validator import validate_input_modes
from a2a.utils.proto_utils import validate_proto_required_fields
from a2a.utils.task import validate_history_length
from starlette.exceptions import HTTPException
from starlette.requests import Request as HTTPRequest
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from understudy.agent.tokens import Caller
from understudy.errors import ConfigError, NotFound, StoreError, UnderstudyError
from understudy.records import Person
from understudy.relay import operations
from understudy.relay.a2a_cards import agent_card, card_dict, template_card
from understudy.relay.a2a_tasks import (
    AWAITING,
    FreshTaskIds,
    StoreTaskStore,
    answer_parts,
    awaited_action,
    queued_question,
    waiting_task,
)
from understudy.relay.deployment import Deployment

__all__ = ["SORRY", "A2AService", "CallerUser", "UnderstudyExecutor"]

log = logging.getLogger(__name__)

SORRY = "I could not answer just now; please try again later."
PERSON_LIFETIME = 30.0
MAX_CARDS = 10_000


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


def _reply(context: RequestContext, answer: dict[str, Any] | str) -> Message:
    """Return the agent's reply message: the answer, or why there is none."""
    reply = Message(
        role=Role.ROLE_AGENT, message_id=uuid.uuid4().hex, context_id=str(context.context_id)
    )
    if isinstance(answer, str):
        reply.parts.append(Part(text=answer))
        reply.metadata.update({"status": "failed"})
    else:
        reply.parts.extend(answer_parts(answer))
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

    async def answer_safely(
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

    def quick(self, caller: Caller, owner: Person, message: Message, metadata: Any) -> bool:
        """Return whether a request is answered at once with a message (no task)."""
        flagged = "org" in metadata.fields and metadata.fields["org"].bool_value
        return not (
            self._org(caller, owner, message, {"org": flagged})
            or self.deployment.model is not None
            or message.task_id
        )

    @staticmethod
    def _org(caller: Caller, owner: Person, message: Message, metadata: dict[str, Any]) -> bool:
        wanted = bool(metadata.get("org") or _message_flag(message, "org"))
        # Only the owner, in person, has their understudy ask the organization.
        return wanted and caller.person == owner.id and not caller.agent

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Answer with a message, or — for long work — as a task others can follow."""
        caller: Caller = context.call_context.state["caller"]
        owner: Person = context.call_context.state["owner"]
        if context.message is None:
            raise InvalidParamsError(message="send the question as a text part")
        if awaited_action(context.current_task) is not None:
            await self._still_waiting(context, event_queue)
            return
        text = context.get_user_input().strip()
        org = self._org(caller, owner, context.message, context.metadata)
        configuration = context.configuration
        long_work = (
            org
            or self.deployment.model is not None
            or context.current_task is not None
            or bool(configuration and configuration.return_immediately)
        )
        asked = (caller, owner, text, org)
        if not long_work:
            answer = await self.answer_safely(*asked)
            await event_queue.enqueue_event(_reply(context, answer))
            return
        await self._as_task(context, event_queue, lambda: self.answer_safely(*asked))

    async def _still_waiting(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Keep a task waiting for its owner's decision: more words do not ask again."""
        task = context.current_task
        if task is None:
            return
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        waiting = updater.new_agent_message(list(task.status.message.parts))
        waiting.metadata.CopyFrom(task.status.message.metadata)
        await updater.requires_input(waiting)

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
        parts = answer_parts(answer)
        metadata = {"from": answer["from"], "status": answer["status"]}
        queued = queued_question(answer)
        if queued is not None:
            # The owner answers later: the task waits, and GetTask settles it (a2a_tasks).
            waiting = updater.new_agent_message(parts, metadata={**metadata, AWAITING: queued})
            await updater.requires_input(waiting)
            return
        await updater.add_artifact(parts, name="answer")
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
    """The SDK's request handler, with a short way for quick questions.

    A message without text is refused before any task exists. A quick question
    (no task named, no language model, no push configuration, not "return
    immediately", not the organization) is answered here with a message: the
    SDK's task machinery (an active task, its event queues and consumer) would
    only carry that one message, and cost more than the answer on a small
    organization. Everything else goes the SDK's way.
    """

    def __init__(self, executor: UnderstudyExecutor, **kwargs: Any) -> None:
        super().__init__(agent_executor=executor, **kwargs)
        self.executor = executor
        self.tasks: StoreTaskStore = kwargs["task_store"]

    async def on_message_send(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> Message | Task:
        """Check the message has text, then answer it now or send it as the SDK does."""
        message = params.message
        if not get_message_text(message).strip():
            raise InvalidParamsError(message="send the question as a text part")
        caller: Caller = context.state["caller"]
        owner: Person = context.state["owner"]
        configuration = params.configuration
        quick = (
            self.executor.quick(caller, owner, message, params.metadata)
            and not configuration.return_immediately
            and not configuration.HasField("task_push_notification_config")
        )
        if not quick:
            result: Message | Task = await super().on_message_send(params, context)
            return result
        validate_proto_required_fields(params)
        validate_history_length(configuration)
        if self._validate_input_modes:
            validate_input_modes(message, self._agent_card)
        request = await self._request_context_builder.build(
            params=params,
            task_id=None,
            context_id=message.context_id or None,
            task=None,
            context=context,
        )
        text = request.get_user_input().strip()
        answer = await self.executor.answer_safely(caller, owner, text, False)
        queued = queued_question(answer)
        if queued is None:
            return _reply(request, answer)
        # Queued for the owner: a task the asker can follow until the owner decides.
        reply = _reply(request, answer)
        task = waiting_task(str(request.task_id), str(request.context_id), message, reply, queued)
        await self.tasks.save(task, context)
        return task


class A2AService:
    """The A2A side of the server: cards, the directory and every understudy's endpoint."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        fresh = FreshTaskIds()
        self.handler = _Handler(
            UnderstudyExecutor(deployment),
            task_store=StoreTaskStore(deployment, fresh),
            agent_card=template_card(),
            request_context_builder=SimpleRequestContextBuilder(task_id_generator=fresh),
        )
        self.dispatcher = JsonRpcDispatcher(self.handler, context_builder=_CallContextBuilder())
        # Known owners, briefly: every call names one, and people change rarely.
        self._people_seen: dict[str, tuple[float, Person]] = {}
        # Cards as served, for as long as their owner is known: (owner, base URL) -> card.
        self._cards: dict[tuple[str, str], tuple[Person, dict[str, Any]]] = {}

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
        key = (person.id, str(request.base_url))
        cached = self._cards.get(key)
        if cached is None or cached[0] is not person:  # the owner was looked up again
            organization = self.deployment.settings.text("org")
            if len(self._cards) >= MAX_CARDS:
                self._cards.clear()
            card = card_dict(agent_card(person, key[1], organization))
            cached = self._cards[key] = (person, card)
        return JSONResponse(cached[1])

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
