"""The one contract every language-model backend implements, and what it returns.

A backend subclasses ``LanguageModel`` and implements ``execute``: given a
``Request`` it yields text ``Delta``\\ s as they arrive and then exactly one
``Completion``. Everything else — ``complete``, ``complete_stream``, the
capability checks — is built on that one method, like ``Model.execute`` in
simonw/llm. Messages and tools use the OpenAI chat format, the lingua franca
of local and hosted servers.

Tests must never reach a real model. They set ``ALLOW_MODEL_REQUESTS`` in
this module to ``False`` (as pydantic-ai's ``ALLOW_MODEL_REQUESTS``); backends
then refuse every URL except those of a running ``FakeModelServer``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Self
from urllib.parse import urlsplit

from understudy.errors import UnderstudyError

if TYPE_CHECKING:
    from types import TracebackType

    from understudy.settings import Settings

__all__ = [
    "ALLOW_MODEL_REQUESTS",
    "Completion",
    "Delta",
    "LanguageModel",
    "Message",
    "ModelError",
    "ModelRequestsForbidden",
    "Request",
    "Stream",
    "Tool",
    "ToolCall",
    "ToolChoice",
    "Usage",
    "allow_fake_url",
    "check_model_request",
    "function_tool",
    "public_url",
]

Message = Mapping[str, Any]
"""An OpenAI-style chat message: ``{"role": "user", "content": "…"}``."""

Tool = Mapping[str, Any]
"""A JSON-schema function tool: ``{"type": "function", "function": {…}}``."""

ToolChoice = str | Mapping[str, Any]
"""``"auto"``, ``"none"``, ``"required"``, a tool's name, or an OpenAI tool_choice object."""

ALLOW_MODEL_REQUESTS = True
"""Whether backends may reach a model server; tests set it to False."""

# Base URLs of running fake servers: always reachable, even when requests are forbidden.
_FAKE_URLS: set[str] = set()


class ModelError(UnderstudyError):
    """A language-model server could not be reached or gave an unusable reply."""

    def __init__(self, message: str, url: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class ModelRequestsForbidden(RuntimeError):
    """A test tried to reach a real language model; use a ``FakeModelServer``."""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port}"


def allow_fake_url(url: str, allowed: bool = True) -> None:
    """Mark ``url`` as a fake server's (or no longer one) so tests may reach it."""
    if allowed:
        _FAKE_URLS.add(_origin(url))
    else:
        _FAKE_URLS.discard(_origin(url))


def check_model_request(url: str) -> None:
    """Refuse a request to ``url`` when real model requests are forbidden."""
    if ALLOW_MODEL_REQUESTS or _origin(url) in _FAKE_URLS:
        return
    raise ModelRequestsForbidden(
        f"{public_url(url)}: real language-model requests are forbidden here "
        "(understudy.llm.models.ALLOW_MODEL_REQUESTS is False); point the model at a "
        "FakeModelServer's url instead"
    )


def public_url(url: str) -> str:
    """Return ``url`` without any user name or password in it."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return parts._replace(netloc=netloc).geturl()


def function_tool(name: str, description: str, parameters: Mapping[str, Any]) -> Tool:
    """Return an OpenAI function tool whose arguments follow the JSON schema ``parameters``."""
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": dict(parameters)},
    }


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A model's request to call one tool, with its arguments parsed from JSON."""

    id: str
    name: str
    arguments: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """Return the call in the OpenAI wire format (arguments as a JSON string)."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": json.dumps(self.arguments)},
        }

    def result(self, content: str) -> dict[str, Any]:
        """Return the ``tool`` message that answers this call with ``content``."""
        return {"role": "tool", "tool_call_id": self.id, "content": content}


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens a request used, as far as the server reported them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Delta:
    """A piece of the answer's text, as it streams in."""

    text: str


@dataclass(frozen=True, slots=True)
class Completion:
    """A model's finished reply: its text, the tools it wants called, and why it stopped."""

    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str = "stop"
    usage: Usage = field(default_factory=Usage)
    model: str = ""

    def as_message(self) -> dict[str, Any]:
        """Return the reply as an ``assistant`` message to send back with tool results."""
        message: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.tool_calls:
            message["tool_calls"] = [call.as_dict() for call in self.tool_calls]
        return message


@dataclass(frozen=True, slots=True)
class Request:
    """Everything a backend needs for one completion."""

    messages: list[Message]
    tools: list[Tool] = field(default_factory=list)
    tool_choice: ToolChoice | None = None
    temperature: float = 0.0
    max_tokens: int | None = None
    stream: bool = False


class Stream(Iterator[Delta]):
    """Yield text deltas as they arrive; ``completion`` is the finished reply."""

    def __init__(self, events: Iterator[Delta | Completion], source: str) -> None:
        self._events = events
        self._source = source
        self._completion: Completion | None = None
        self._saw_text = False

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> Delta:
        while self._completion is None:
            event = next(self._events, None)
            if event is None:
                self.close()
                raise ModelError(f"the {self._source} backend ended without a completion")
            if isinstance(event, Delta):
                self._saw_text = self._saw_text or bool(event.text)
                return event
            self._completion = event
            self.close()
            if event.text and not self._saw_text:
                # A backend that cannot stream still gives its text as one delta.
                return Delta(event.text)
        raise StopIteration

    @property
    def completion(self) -> Completion:
        """Return the finished reply, reading the rest of the stream if needed."""
        for _ in self:
            pass
        if self._completion is None:  # pragma: no cover - __next__ raises first
            raise ModelError(f"the {self._source} backend ended without a completion")
        return self._completion

    def close(self) -> None:
        """Stop reading and release the connection."""
        close = getattr(self._events, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class LanguageModel(ABC):
    """A chat model behind one method, ``execute``; capabilities are class attributes."""

    name: ClassVar[str] = ""
    url_schemes: ClassVar[tuple[str, ...]] = ()
    supports_tools: ClassVar[bool] = False
    supports_streaming: ClassVar[bool] = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Create the model that the ``llm_*`` settings describe (override to read them)."""
        return cls()

    @abstractmethod
    def execute(self, request: Request) -> Iterator[Delta | Completion]:
        """Yield text deltas (when ``request.stream``), then exactly one ``Completion``."""

    def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] | None = None,
        tool_choice: ToolChoice | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        stream: bool = False,
    ) -> Completion:
        """Return the model's reply to ``messages``; ``stream`` reads it over a stream."""
        return self.complete_stream(
            messages, tools, tool_choice, temperature, max_tokens, stream=stream
        ).completion

    def complete_stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] | None = None,
        tool_choice: ToolChoice | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        stream: bool = True,
    ) -> Stream:
        """Return a stream of text deltas whose ``completion`` is the finished reply."""
        if not messages:
            raise ModelError("a completion needs at least one message")
        if tools and not self.supports_tools:
            raise ModelError(
                f"the {self.name or type(self).__name__} backend cannot call tools; "
                "configure a model server that supports them"
            )
        request = Request(
            messages=list(messages),
            tools=list(tools or []),
            tool_choice=tool_choice if tools else None,
            temperature=temperature,
            max_tokens=max_tokens,
            stream=stream and self.supports_streaming,
        )
        return Stream(self.execute(request), self.name or type(self).__name__)

    def close(self) -> None:  # noqa: B027 - optional hook; most backends hold nothing
        """Release connections (override when the backend holds any)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
