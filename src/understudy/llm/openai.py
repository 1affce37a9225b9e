"""Any OpenAI-compatible chat server: Ollama, vLLM, llama.cpp, hosted APIs.

One ``POST {base}/chat/completions`` per completion, with tools and
``tool_choice``, optionally streamed as server-sent events whose text and
tool-call fragments are reassembled here. Connection failures, 429 (after
the server's ``Retry-After``) and 5xx replies are retried with exponential
backoff and jitter; other 4xx replies are not. Every failure becomes one
``ModelError`` that names the URL (never the key) and says what to do.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Self

import httpx

from understudy import __version__
from understudy.errors import ConfigError
from understudy.llm.models import (
    Completion,
    Delta,
    LanguageModel,
    ModelError,
    Request,
    Tool,
    ToolCall,
    ToolChoice,
    Usage,
    check_model_request,
    public_url,
)

if TYPE_CHECKING:
    from understudy.settings import Settings

__all__ = ["OpenAIModel"]

_CHOICES = {"auto", "none", "required"}
_CONNECTION_HINT = "check that the server is running and that UNDERSTUDY_LLM_URL is right"


@dataclass(frozen=True, slots=True)
class _Retry:
    """A failed attempt that may be tried again: the error if not, and the wait asked for."""

    error: ModelError
    wait: float | None = None


class OpenAIModel(LanguageModel):
    """Talk to an OpenAI-compatible server at ``base_url`` (e.g. http://localhost:11434/v1)."""

    name = "openai"
    url_schemes = ("http", "https")
    supports_tools = True
    supports_streaming = True

    def __init__(
        self,
        base_url: str,
        model: str = "",
        api_key: str = "",
        timeout: float = 60.0,
        max_retries: int = 3,
        retry_delay: float = 0.5,
        max_retry_delay: float = 30.0,
    ) -> None:
        if timeout <= 0:
            raise ConfigError(
                f"llm_timeout must be more than 0 seconds, got {timeout:g}; "
                "set UNDERSTUDY_LLM_TIMEOUT to e.g. 60"
            )
        self.base_url = base_url.rstrip("/")
        self.endpoint = f"{self.base_url}/chat/completions"
        self.model = model
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self._where = public_url(self.endpoint)
        self._api_key = api_key
        try:
            httpx.URL(self.endpoint)
        except httpx.InvalidURL as exc:
            raise ConfigError(
                f"llm_url: {public_url(base_url)!r} is not a valid URL ({exc}); set "
                "UNDERSTUDY_LLM_URL to the server's base URL, e.g. http://localhost:11434/v1"
            ) from None
        headers = {"User-Agent": f"understudy/{__version__}"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(timeout=httpx.Timeout(timeout), headers=headers)

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Create the model from ``llm_url``, ``llm_model``, ``llm_api_key`` and ``llm_timeout``."""
        return cls(
            settings.text("llm_url").strip(),
            model=settings.text("llm_model"),
            api_key=settings.text("llm_api_key"),
            timeout=float(settings["llm_timeout"]),
        )

    def __repr__(self) -> str:
        return f"OpenAIModel({self._where!r}, model={self.model!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def execute(self, request: Request) -> Iterator[Delta | Completion]:
        """Send one chat-completion request; yield streamed deltas, then the completion."""
        check_model_request(self.base_url)
        response = self._send(self._body(request))
        try:
            kind = response.headers.get("content-type", "")
            if request.stream and "json" not in kind:
                assembly = _Assembly(self._where)
                for chunk in _events(response, self._where):
                    text = assembly.feed(chunk)
                    if text:
                        yield Delta(text)
                yield assembly.finish()
            else:
                yield _completion(_json(response.read(), self._where), self._where)
        except httpx.TimeoutException:
            raise self._timeout_error() from None
        except httpx.HTTPError as exc:
            raise ModelError(
                f"{self._where}: the connection broke in the middle of the reply ({exc}); "
                f"try again, and {_CONNECTION_HINT}",
                self._where,
            ) from None
        finally:
            response.close()

    def _body(self, request: Request) -> dict[str, Any]:
        body: dict[str, Any] = {
            "messages": [dict(message) for message in request.messages],
            "temperature": request.temperature,
            "stream": request.stream,
        }
        if self.model:
            body["model"] = self.model
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.tools:
            body["tools"] = [_wire_tool(tool) for tool in request.tools]
            if request.tool_choice is not None:
                body["tool_choice"] = _wire_choice(request.tool_choice)
        if request.stream:
            body["stream_options"] = {"include_usage": True}
        return body

    def _send(self, body: dict[str, Any]) -> httpx.Response:
        """Return a successful streaming response, retrying what is worth retrying."""
        attempt = 0
        while True:
            outcome = self._attempt(body, attempt + 1)
            if isinstance(outcome, httpx.Response):
                return outcome
            if attempt >= self.max_retries:
                raise outcome.error
            if outcome.wait is not None and outcome.wait > self.max_retry_delay:
                raise ModelError(
                    f"{outcome.error.message}; the server asks to wait {outcome.wait:.0f} s "
                    "before trying again",
                    self._where,
                    outcome.error.status,
                )
            backoff = min(self.max_retry_delay, self.retry_delay * 2**attempt)
            # Jitter spreads out clients that failed together so they do not retry together.
            jittered = backoff * random.uniform(0.5, 1)
            time.sleep(outcome.wait if outcome.wait is not None else jittered)
            attempt += 1

    def _attempt(self, body: dict[str, Any], attempts: int) -> httpx.Response | _Retry:
        """Make one request; return the response, or why and how it may be retried."""
        try:
            request = self._client.build_request("POST", self.endpoint, json=body)
            response = self._client.send(request, stream=True)
        except httpx.UnsupportedProtocol:
            raise ConfigError(
                f"llm_url: {public_url(self.base_url)!r} is not an http or https URL; set "
                "UNDERSTUDY_LLM_URL to the server's base URL, e.g. http://localhost:11434/v1"
            ) from None
        except httpx.ConnectTimeout:
            return _Retry(self._connection_error("no connection was made in time", attempts))
        except httpx.TimeoutException:
            raise self._timeout_error() from None
        except httpx.TransportError as exc:
            return _Retry(self._connection_error(str(exc) or type(exc).__name__, attempts))
        if response.status_code < 400:
            return response
        try:
            response.read()
        except httpx.HTTPError:
            pass  # the status says enough
        finally:
            response.close()
        error = self._status_error(response, attempts)
        if response.status_code == 429 or response.status_code >= 500:
            return _Retry(error, _retry_after(response.headers))
        raise error

    def _timeout_error(self) -> ModelError:
        return ModelError(
            f"{self._where}: the language model did not answer within {self.timeout:g} s; "
            "raise UNDERSTUDY_LLM_TIMEOUT, or check that the server is running and not "
            "overloaded",
            self._where,
        )

    def _connection_error(self, reason: str, attempts: int) -> ModelError:
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return ModelError(
            f"{self._where}: cannot reach the language-model server ({reason}){tries}; "
            f"{_CONNECTION_HINT}",
            self._where,
        )

    def _status_error(self, response: httpx.Response, attempts: int) -> ModelError:
        status = response.status_code
        detail = f"HTTP {status}: {_detail(response, self._api_key)}"
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        if status in (401, 403):
            refused = "the server refused the API key" if self._api_key else "no API key was sent"
            advice = f"{refused} ({detail}); set UNDERSTUDY_LLM_API_KEY to a key it accepts"
        elif status == 404:
            advice = (
                f"not found ({detail}); check UNDERSTUDY_LLM_URL (an OpenAI-compatible base URL "
                f"usually ends in /v1) and UNDERSTUDY_LLM_MODEL ({self.model or 'not set'})"
            )
        elif status == 429:
            advice = f"rate limited ({detail}){tries}; wait a while and try again"
        elif status >= 500:
            advice = f"server error ({detail}){tries}; check the server's log or try again later"
        else:
            advice = (
                f"the server rejected the request ({detail}); check UNDERSTUDY_LLM_MODEL and "
                "that the model supports what was asked of it (tools, streaming)"
            )
        return ModelError(f"{self._where}: {advice}", self._where, status)


def _wire_tool(tool: Tool) -> dict[str, Any]:
    if "function" in tool:
        return dict(tool)
    return {"type": "function", "function": dict(tool)}


def _wire_choice(choice: ToolChoice) -> str | dict[str, Any]:
    if isinstance(choice, str):
        if choice in _CHOICES:
            return choice
        return {"type": "function", "function": {"name": choice}}
    return dict(choice)


def _retry_after(headers: httpx.Headers) -> float | None:
    """Return how long the server asks us to wait, in seconds, if it says."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _detail(response: httpx.Response, api_key: str) -> str:
    """Return the server's own words about an error, without the API key."""
    try:
        data: Any = json.loads(response.content)
    except (ValueError, httpx.ResponseNotRead):
        data = None
    text = ""
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data.get("message")))
        if isinstance(error, dict):
            error = error.get("message", error)
        text = str(error) if error is not None else ""
    elif not isinstance(data, list):
        try:
            text = response.text
        except httpx.ResponseNotRead:
            text = ""
    text = " ".join(text.split())[:300] or response.reason_phrase or "no details"
    return text.replace(api_key, "***") if api_key else text


def _json(content: bytes, where: str) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        raise _malformed(where, f"not JSON: {content[:100]!r}") from None


def _malformed(where: str, what: str) -> ModelError:
    return ModelError(
        f"{where}: the reply is not an OpenAI chat completion ({what}); check that "
        "UNDERSTUDY_LLM_URL points at an OpenAI-compatible base URL (usually ending in /v1)",
        where,
    )


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        # Some servers send content as a list of typed parts.
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _usage(raw: object) -> Usage:
    if not isinstance(raw, dict):
        return Usage()

    def count(key: str) -> int:
        value = raw.get(key)
        return value if isinstance(value, int) else 0

    prompt, completion = count("prompt_tokens"), count("completion_tokens")
    return Usage(prompt, completion, count("total_tokens") or prompt + completion)


def _arguments(name: str, raw: object, where: str) -> dict[str, Any]:
    """Return a tool call's arguments, parsed from the JSON string the model wrote."""
    if isinstance(raw, dict):
        return raw
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    problem = ""
    value: Any = None
    if not isinstance(raw, str):
        problem = f"a {type(raw).__name__}, not a JSON string"
    else:
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            problem = f"not valid JSON: {exc.msg} at character {exc.pos}"
    if not problem and value is not None and not isinstance(value, dict):
        problem = f"a JSON {type(value).__name__}, not an object"
    if problem:
        raise ModelError(
            f"{where}: the model called the tool {name!r} with arguments that are {problem} "
            f"({str(raw)[:200]!r}); try again, or use a model that is good at tool calls",
            where,
        )
    return value or {}


def _tool_call(raw: object, number: int, where: str) -> ToolCall:
    if not isinstance(raw, dict):
        raise _malformed(where, "a tool call is not an object")
    function = raw.get("function")
    function = function if isinstance(function, dict) else {}
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise _malformed(where, "a tool call has no function name")
    arguments = _arguments(name, function.get("arguments"), where)
    return ToolCall(str(raw.get("id") or f"call_{number}"), name, arguments)


def _completion(data: object, where: str) -> Completion:
    """Return the completion in a non-streamed chat-completion reply."""
    if not isinstance(data, dict):
        raise _malformed(where, "not a JSON object")
    if data.get("error"):
        raise ModelError(f"{where}: the server reported an error: {data['error']}", where)
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise _malformed(where, "it has no choices")
    message = choices[0].get("message")
    message = message if isinstance(message, dict) else {}
    raw_calls = message.get("tool_calls") or []
    calls = [_tool_call(raw, n, where) for n, raw in enumerate(raw_calls)]
    finish = choices[0].get("finish_reason") or ("tool_calls" if calls else "stop")
    return Completion(
        text=_text(message.get("content")),
        tool_calls=calls,
        finish_reason=str(finish),
        usage=_usage(data.get("usage")),
        model=str(data.get("model") or ""),
    )


def _events(response: httpx.Response, where: str) -> Iterator[dict[str, Any]]:
    """Yield the JSON payloads of a server-sent event stream, up to ``[DONE]``."""
    for line in response.iter_lines():
        if not line.startswith("data:"):
            continue  # blank separators, comments, event names
        payload = line[5:].strip()
        if payload == "[DONE]":
            return
        if not payload:
            continue
        try:
            chunk = json.loads(payload)
        except ValueError:
            raise _malformed(where, f"a stream event is not JSON: {payload[:100]!r}") from None
        if isinstance(chunk, dict):
            yield chunk


@dataclass(slots=True)
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Assembly:
    """A streamed reply put back together: text, tool calls from their fragments, usage."""

    where: str
    text: list[str] = field(default_factory=list)
    calls: dict[int, _PartialCall] = field(default_factory=dict)
    finish_reason: str = ""
    usage: Usage = field(default_factory=Usage)
    model: str = ""

    def feed(self, chunk: Mapping[str, Any]) -> str:
        """Take in one stream chunk; return its new text."""
        if chunk.get("error"):
            error = chunk["error"]
            detail = error.get("message", error) if isinstance(error, dict) else error
            raise ModelError(
                f"{self.where}: the server reported an error mid-stream ({detail}); "
                "try again or check the server's log",
                self.where,
            )
        self.model = str(chunk.get("model") or self.model)
        if isinstance(chunk.get("usage"), dict):
            self.usage = _usage(chunk["usage"])
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return ""
        choice = choices[0]
        self.finish_reason = str(choice.get("finish_reason") or self.finish_reason)
        delta = choice.get("delta")
        delta = delta if isinstance(delta, dict) else {}
        for raw in delta.get("tool_calls") or []:
            if isinstance(raw, dict):
                self._merge(raw)
        text = _text(delta.get("content"))
        self.text.append(text)
        return text

    def _merge(self, raw: Mapping[str, Any]) -> None:
        index = raw.get("index")
        if not isinstance(index, int):
            # Servers that omit the index send each call whole, or continue the last one.
            known = {call.id for call in self.calls.values()}
            fresh = bool(raw.get("id")) and raw.get("id") not in known
            index = len(self.calls) if fresh or not self.calls else max(self.calls)
        call = self.calls.setdefault(index, _PartialCall())
        if raw.get("id"):
            call.id = str(raw["id"])
        function = raw.get("function")
        function = function if isinstance(function, dict) else {}
        if function.get("name"):
            call.name = str(function["name"])
        fragment = function.get("arguments")
        if isinstance(fragment, dict):
            call.arguments.append(json.dumps(fragment))
        elif isinstance(fragment, str):
            call.arguments.append(fragment)

    def finish(self) -> Completion:
        """Return the completion the stream added up to."""
        calls: list[ToolCall] = []
        for number, (_, partial) in enumerate(sorted(self.calls.items())):
            if not partial.name:
                raise _malformed(self.where, "a streamed tool call has no function name")
            arguments = _arguments(partial.name, "".join(partial.arguments), self.where)
            calls.append(ToolCall(partial.id or f"call_{number}", partial.name, arguments))
        return Completion(
            text="".join(self.text),
            tool_calls=calls,
            finish_reason=self.finish_reason or ("tool_calls" if calls else "stop"),
            usage=self.usage,
            model=self.model,
        )
