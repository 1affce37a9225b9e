"""Ask other understudies over A2A with the official ``a2a-sdk`` client.

``A2ARelay(base_url, token)`` is a ``Relay``: ``ask_organization`` can fan
out through it to understudies served by any Understudy server. The token is
the asking understudy's (``understudy token PERSON --agent``); the server
takes the asker from it, never from the message. Calls run on one private
event loop with one pooled HTTP client, each within a deadline.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import httpx
from a2a.client import Client, ClientConfig, ClientFactory
from a2a.client.errors import A2AClientTimeoutError, AgentCardResolutionError
from a2a.helpers import get_data_parts, get_text_parts
from a2a.types import (
    GetTaskRequest,
    Message,
    Part,
    Role,
    SendMessageRequest,
    Task,
    TaskState,
)
from a2a.utils.errors import A2AError

from understudy.relay.a2a_cards import agent_url

__all__ = ["A2ARelay", "answer_of"]

_DONE = (
    TaskState.TASK_STATE_COMPLETED,
    TaskState.TASK_STATE_FAILED,
    TaskState.TASK_STATE_CANCELED,
    TaskState.TASK_STATE_REJECTED,
    # A question queued for the owner: the answer for now is "cannot share, passed on".
    TaskState.TASK_STATE_INPUT_REQUIRED,
)
_ANSWERED = (TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_INPUT_REQUIRED)


def _whole(value: Any) -> Any:
    """Return data with whole floats made ints again (protobuf Values store only doubles)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_whole(v) for v in value]
    if isinstance(value, dict):
        return {k: _whole(v) for k, v in value.items()}
    return value


def answer_of(reply: Task | Message) -> dict[str, Any]:
    """Return the understudy's response carried by a reply (a message, or a finished task).

    A task waiting for the owner carries the response given so far (a decline that
    says the question was passed on); once settled, the owner's answer.
    """
    if isinstance(reply, Message):
        parts = list(reply.parts)
        failed = reply.metadata.fields.get("status")
        if failed is not None and failed.string_value == "failed":
            said = " ".join(get_text_parts(parts)) or "no reason given"
            raise RuntimeError(f"the understudy could not answer: {said}")
    elif reply.status.state not in _ANSWERED:
        said = " ".join(get_text_parts(list(reply.status.message.parts))) or "no reason given"
        state = TaskState.Name(reply.status.state).removeprefix("TASK_STATE_").lower()
        raise RuntimeError(f"the understudy's task ended {state}: {said}")
    else:
        parts = [p for a in reply.artifacts for p in a.parts] or list(reply.status.message.parts)
    for data in get_data_parts(parts):
        if isinstance(data, dict) and "text" in data:
            return dict(_whole(data))
    text = "\n".join(get_text_parts(parts))
    return {"text": text, "status": "answered", "citations": [], "actions": [], "items": []}


class A2ARelay:
    """Ask understudies at ``base_url`` over A2A (JSON-RPC), as the token's understudy."""

    def __init__(
        self, base_url: str, token: str, timeout: float = 10.0, connect_timeout: float = 3.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._headers = {"Authorization": f"Bearer {token}"}
        self._http_timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._http: httpx.AsyncClient | None = None
        self._clients: dict[str, Client] = {}

    def ask(self, owner: str, question: str, asker: str) -> dict[str, Any]:
        """Return ``owner``'s understudy's response; raise TimeoutError or RuntimeError."""
        future: Future[dict[str, Any]] = asyncio.run_coroutine_threadsafe(
            self._ask(owner, question, asker), self._loop
        )
        try:
            return future.result(timeout=self.timeout + 1.0)
        except FutureTimeout:
            future.cancel()
            raise TimeoutError(f"the understudy of {owner} did not answer in time") from None

    async def _client(self, owner: str) -> Client:
        client = self._clients.get(owner)
        if client is None:
            if self._http is None:
                self._http = httpx.AsyncClient(headers=self._headers, timeout=self._http_timeout)
            factory = ClientFactory(ClientConfig(httpx_client=self._http, streaming=False))
            client = await factory.create_from_url(agent_url(self.base_url, owner))
            self._clients[owner] = client
        return client

    async def _ask(self, owner: str, question: str, asker: str) -> dict[str, Any]:
        message = Message(
            role=Role.ROLE_USER,
            message_id=uuid.uuid4().hex,
            parts=[Part(text=question)],
        )
        message.metadata.update({"asker": asker})
        try:
            async with asyncio.timeout(self.timeout):
                client = await self._client(owner)
                reply = await self._send(client, SendMessageRequest(message=message))
        except (A2AClientTimeoutError, TimeoutError):
            raise TimeoutError(f"the understudy of {owner} did not answer in time") from None
        except AgentCardResolutionError as exc:
            raise RuntimeError(
                f"no understudy of {owner} answers at {self.base_url} (HTTP {exc.status_code})"
            ) from None
        except A2AError as exc:
            self._clients.pop(owner, None)
            raise RuntimeError(
                f"the understudy of {owner} could not be asked: {exc.message}"
            ) from None
        answer = answer_of(reply)
        if answer.get("asker", asker) != asker:
            # The server takes the asker from the token: one person's answer is never
            # passed off as another's.
            raise RuntimeError(f"this relay's token speaks for {answer['asker']}, not {asker}")
        return answer

    async def _send(self, client: Client, request: SendMessageRequest) -> Task | Message:
        task: Task | None = None
        async for event in client.send_message(request):
            if event.HasField("message"):
                return event.message
            if event.HasField("task"):
                task = event.task
        if task is None:
            raise RuntimeError("the understudy sent neither a task nor a message")
        while task.status.state not in _DONE:
            await asyncio.sleep(0.05)
            task = await client.get_task(GetTaskRequest(id=task.id))
        return task

    def close(self) -> None:
        """Close the HTTP connections and stop the relay's event loop."""

        async def shut() -> None:
            for client in self._clients.values():
                await client.close()
            if self._http is not None:
                await self._http.aclose()

        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(shut(), self._loop).result(timeout=5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        self._loop.close()

    def __enter__(self) -> A2ARelay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
