"""What wraps the whole server: bearer authentication and a cap on request bodies.

Authentication runs before anything reads a body or looks a person up, so an
unauthenticated caller learns nothing — not even whether a person exists. The
verified caller goes into the request's state for the endpoints, the A2A
agents and the MCP tools. Bodies are capped before any parser sees them.
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio.to_thread
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from understudy.api.error_shape import error_response
from understudy.errors import PermissionDenied, UnderstudyError
from understudy.relay.deployment import Deployment

__all__ = ["MAX_BODY", "BearerAuth", "BodyLimit"]

MAX_BODY = 1024 * 1024
PROTECTED = ("/api", "/a2a", "/mcp")
MAX_HEADER = 4096


def _protected(path: str, prefixes: Sequence[str]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


class BearerAuth:
    """Require a valid ``Authorization: Bearer`` token on the API, the agents and MCP."""

    def __init__(
        self, app: ASGIApp, deployment: Deployment, protected: Sequence[str] = PROTECTED
    ) -> None:
        self.app = app
        self.deployment = deployment
        self.protected = tuple(protected)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the token, then pass the request on with its caller; or answer 401."""
        if scope["type"] != "http" or not _protected(scope["path"], self.protected):
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or len(header) > MAX_HEADER:
            await error_response(401)(scope, receive, send)
            return
        try:
            caller = self.deployment.cached_caller(token.strip()) or await anyio.to_thread.run_sync(
                self.deployment.caller, token.strip()
            )
        except PermissionDenied as exc:
            await error_response(401, exc.message)(scope, receive, send)
            return
        except UnderstudyError:
            await error_response(503)(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = caller
        await self.app(scope, receive, send)


class BodyLimit:
    """Answer 413 to a body over ``max_bytes``, declared or streamed, before anything parses it."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the body up to the cap, then replay it to the app."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await error_response(413)(scope, receive, send)
            return
        body = bytearray()
        trailing: list[Message] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                trailing.append(message)
                break
            body.extend(message.get("body", b""))
            if len(body) > self.max_bytes:
                await error_response(413)(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        queued: list[Message] = [{"type": "http.request", "body": bytes(body), "more_body": False}]
        queued += trailing

        async def replay() -> Message:
            return queued.pop(0) if queued else await receive()

        await self.app(scope, replay, send)
