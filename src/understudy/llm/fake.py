"""A scripted language model served over real HTTP in the OpenAI wire format.

``FakeModelServer`` listens on 127.0.0.1 on a free port in a background
thread, so code under test talks to it exactly as it would to Ollama or
vLLM, through the ``openai`` backend::

    with FakeModelServer(["Hello [1]."]) as fake:
        model = OpenAIModel(fake.url)
        assert model.complete([{"role": "user", "content": "Hi"}]).text == "Hello [1]."
        assert fake.requests[0].messages[-1]["content"] == "Hi"

The script is a list of canned ``Reply``\\ s (or plain strings), answered in
order, then ``respond``, a function from the request to a reply. A reply can
be text, tool calls, an error status (to test retries) or slow (to test
timeouts); it is streamed in chunks when the request asks for a stream.
While the server runs, its URL is exempt from ``ALLOW_MODEL_REQUESTS``.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Self

from understudy.llm.models import allow_fake_url

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["FakeModelServer", "FakeRequest", "Reply", "ScriptedCall"]


@dataclass(frozen=True, slots=True)
class ScriptedCall:
    """A tool call the fake model makes; a string ``arguments`` is sent as is (even broken)."""

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str = ""

    def wire_arguments(self) -> str:
        """Return the arguments as the JSON string a server sends."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments))


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted answer: text and tool calls, or an error status, possibly slow."""

    text: str = ""
    tool_calls: Sequence[ScriptedCall] = ()
    status: int = 200
    error: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunk_size: int = 4
    chunk_delay: float = 0.0
    finish_reason: str = ""
    usage: tuple[int, int] = (10, 5)

    def finish(self) -> str:
        """Return why the reply stops: as scripted, else from whether it calls tools."""
        return self.finish_reason or ("tool_calls" if self.tool_calls else "stop")


@dataclass(frozen=True, slots=True)
class FakeRequest:
    """A request the fake server received: path, headers (lower-case names) and JSON body."""

    path: str
    headers: Mapping[str, str]
    body: Mapping[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Return the chat messages sent."""
        messages = self.body.get("messages")
        return list(messages) if isinstance(messages, list) else []

    @property
    def tools(self) -> list[dict[str, Any]]:
        """Return the tools offered."""
        tools = self.body.get("tools")
        return list(tools) if isinstance(tools, list) else []

    @property
    def prompt(self) -> str:
        """Return all the messages' text, in order, one message per paragraph."""
        return "\n\n".join(str(m.get("content") or "") for m in self.messages)


Responder = Callable[[FakeRequest], "Reply | str"]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeModelServer


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.0"  # one request per connection; streams end at close

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        """List the one model, as ``GET /v1/models`` does on real servers."""
        if not self.path.rstrip("/").endswith("/models"):
            self.send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        data = [{"id": self.server.fake.model, "object": "model", "owned_by": "understudy"}]
        self.send_json(200, {"object": "list", "data": data})

    def do_POST(self) -> None:
        """Answer a chat-completion request from the script."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self.send_json(400, {"error": {"message": "the request body is not JSON"}})
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = FakeRequest(self.path, headers, body)
        # A client that gave up (a timeout test) needs no answer.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.server.fake.answer(self, request)

    def send_json(
        self, status: int, data: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        """Send one JSON response."""
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def send_events(self, events: Iterator[Mapping[str, Any]], pause: float) -> None:
        """Send ``events`` as server-sent events, ``pause`` seconds apart, then [DONE]."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for number, event in enumerate(events):
            if number and pause and self.server.fake.closing.wait(pause):
                return
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


class FakeModelServer:
    """Serve a scripted chat model at ``url`` (http://127.0.0.1:PORT/v1) while in use."""

    def __init__(
        self,
        replies: Sequence[Reply | str] = (),
        respond: Responder | None = None,
        api_key: str = "",
        model: str = "fake-model",
    ) -> None:
        self.model = model
        self.api_key = api_key
        self.requests: list[FakeRequest] = []
        self.closing = threading.Event()
        self._replies = [Reply(r) if isinstance(r, str) else r for r in replies]
        self._respond = respond
        self._answered = 0
        self._lock = threading.Lock()
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Return the base URL to give a client, ending in /v1."""
        if self._server is None:
            raise RuntimeError("the fake model server is not running; use it in a with block")
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> Self:
        """Start serving on a free port in a background thread."""
        self.closing.clear()
        server = _HTTPServer(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        # A short poll interval makes stop() quick; the default half second adds up in tests.
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.02,), name="fake-model", daemon=True
        )
        self._thread.start()
        allow_fake_url(self.url)
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        allow_fake_url(self.url, allowed=False)
        self.closing.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def add(self, *replies: Reply | str) -> None:
        """Append replies to the script."""
        with self._lock:
            self._replies.extend(Reply(r) if isinstance(r, str) else r for r in replies)

    def answer(self, handler: _Handler, request: FakeRequest) -> None:
        """Record ``request`` and send the next scripted reply through ``handler``."""
        with self._lock:
            self.requests.append(request)
            number = len(self.requests)
        if request.path.split("?")[0] != "/v1/chat/completions":
            handler.send_json(404, {"error": {"message": f"no route {request.path}"}})
            return
        if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
            error = {"message": "Incorrect API key provided.", "code": "invalid_api_key"}
            handler.send_json(401, {"error": error})
            return
        reply = self._next_reply(request)
        if reply is None:
            message = (
                f"the fake model has no reply left for request {number}; add replies to "
                "the script or give it a respond function"
            )
            handler.send_json(400, {"error": {"message": message}})
            return
        if reply.delay and self.closing.wait(reply.delay):
            return
        if reply.status >= 400:
            error = {"message": reply.error or f"scripted HTTP {reply.status}"}
            handler.send_json(reply.status, {"error": error}, reply.headers)
        elif request.body.get("stream"):
            handler.send_events(self._chunks(reply, request), reply.chunk_delay)
        else:
            handler.send_json(200, self._completion(reply), reply.headers)

    def _next_reply(self, request: FakeRequest) -> Reply | None:
        with self._lock:
            if self._answered < len(self._replies):
                self._answered += 1
                return self._replies[self._answered - 1]
        if self._respond is None:
            return None
        reply = self._respond(request)
        return Reply(reply) if isinstance(reply, str) else reply

    def _completion(self, reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id or f"call_{n}",
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.wire_arguments()},
                }
                for n, call in enumerate(reply.tool_calls)
            ]
        choice = {"index": 0, "message": message, "finish_reason": reply.finish()}
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "model": self.model,
            "choices": [choice],
            "usage": _usage(reply),
        }

    def _chunks(self, reply: Reply, request: FakeRequest) -> Iterator[dict[str, Any]]:
        """Yield the stream chunks of ``reply``: text pieces, then tool-call fragments."""
        size = max(1, reply.chunk_size)

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            return {"object": "chat.completion.chunk", "model": self.model, "choices": [choice]}

        yield chunk({"role": "assistant", "content": ""})
        for start in range(0, len(reply.text), size):
            yield chunk({"content": reply.text[start : start + size]})
        for index, call in enumerate(reply.tool_calls):
            head = {"name": call.name, "arguments": ""}
            call_id = call.id or f"call_{index}"
            yield chunk({"tool_calls": [{"index": index, "id": call_id, "function": head}]})
            arguments = call.wire_arguments()
            for start in range(0, len(arguments), size):
                piece = {"arguments": arguments[start : start + size]}
                yield chunk({"tool_calls": [{"index": index, "function": piece}]})
        yield chunk({}, reply.finish())
        options = request.body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            yield {"object": "chat.completion.chunk", "choices": [], "usage": _usage(reply)}


def _usage(reply: Reply) -> dict[str, int]:
    prompt, completion = reply.usage
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
