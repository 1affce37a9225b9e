"""Clients for the tests: the official A2A and MCP SDK clients, and raw HTTP for bad input."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import httpx2
from a2a.client import Client, ClientConfig, ClientFactory
from a2a.types import (
    GetTaskRequest,
    Message,
    Part,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    Task,
    TaskState,
)
from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]
from mcp import Client as MCPClient
from mcp import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.relay.servers import server_env

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end (the tests are synchronous)."""
    return asyncio.run(coroutine)


def bearer(token: str) -> dict[str, str]:
    """Return the Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def a2a_client(base: str, owner: str, token: str) -> AsyncIterator[Client]:
    """Yield the official A2A client for ``owner``'s understudy, resolved from its card."""
    async with httpx.AsyncClient(headers=bearer(token), timeout=60) as http:
        factory = ClientFactory(ClientConfig(httpx_client=http, streaming=False))
        client = await factory.create_from_url(f"{base}/a2a/{owner}/")
        try:
            yield client
        finally:
            await client.close()


def message(text: str, **metadata: Any) -> Message:
    """Return a user message with one text part."""
    sent = Message(role=Role.ROLE_USER, message_id=uuid.uuid4().hex, parts=[Part(text=text)])
    if metadata:
        sent.metadata.update(metadata)
    return sent


async def send(
    base: str, owner: str, token: str, text: str, immediately: bool = False, **metadata: Any
) -> Task | Message:
    """Send one message with SendMessage; return the reply: a message, or a task."""
    request = SendMessageRequest(
        message=message(text, **metadata),
        configuration=SendMessageConfiguration(return_immediately=immediately),
    )
    async with a2a_client(base, owner, token) as client:
        async for event in client.send_message(request):
            return event.message if event.HasField("message") else event.task
    raise AssertionError("no response")


async def send_task(base: str, owner: str, token: str, text: str, **metadata: Any) -> Task:
    """Send with returnImmediately and return the task, which is still being worked on."""
    reply = await send(base, owner, token, text, immediately=True, **metadata)
    assert isinstance(reply, Task), "work sent with returnImmediately is a task"
    return reply


async def finished(base: str, owner: str, token: str, task: Task, seconds: float = 30) -> Task:
    """Poll GetTask until the task is completed or failed."""
    deadline = asyncio.get_running_loop().time() + seconds
    while task.status.state not in (TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_FAILED):
        assert asyncio.get_running_loop().time() < deadline, "the task never finished"
        await asyncio.sleep(0.1)
        task = await get_task(base, owner, token, task.id)
    return task


async def get_task(base: str, owner: str, token: str, task_id: str) -> Task:
    """Return a task by id, as the token's caller."""
    async with a2a_client(base, owner, token) as client:
        return await client.get_task(GetTaskRequest(id=task_id))


def as_json(reply: Task | Message) -> str:
    """Return a reply as the JSON a client received (to search it for leaks)."""
    return json.dumps(MessageToDict(reply))


def rpc(
    base: str, path: str, body: bytes | str | dict[str, Any] | list[Any], token: str | None
) -> httpx.Response:
    """POST a raw JSON-RPC body (or anything else) to a path."""
    headers = {"Content-Type": "application/json", "A2A-Version": "1.0"}
    headers["Accept"] = "application/json, text/event-stream"
    if token:
        headers.update(bearer(token))
    content = body if isinstance(body, bytes | str) else json.dumps(body)
    return httpx.post(f"{base}{path}", content=content, headers=headers, timeout=30)


@asynccontextmanager
async def mcp_http(base: str, token: str) -> AsyncIterator[MCPClient]:
    """Yield the official MCP client connected to ``/mcp`` with a bearer token."""
    async with (
        httpx2.AsyncClient(headers=bearer(token), timeout=60) as http,
        MCPClient(streamable_http_client(f"{base}/mcp", http_client=http)) as client,
    ):
        yield client


@asynccontextmanager
async def mcp_stdio(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> AsyncIterator[MCPClient]:
    """Yield the official MCP client talking to ``understudy mcp`` over stdio."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "understudy", "mcp", *args],
        env={**server_env(home), **(env or {})},
    )
    async with MCPClient(params) as client:
        yield client
