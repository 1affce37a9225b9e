"""Bad input to the agents and to MCP: protocol-correct errors, and nothing leaks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.relay.clients import bearer, rpc
from tests.relay.servers import CEO, CTO, settings_for, token
from understudy.agent.understudy import Understudy
from understudy.api import create_app
from understudy.relay.a2a_server import SORRY
from understudy.relay.deployment import Deployment
from understudy.store import Store

BIG = 1024 * 1024 + 1
SEND = {
    "jsonrpc": "2.0",
    "id": 7,
    "method": "SendMessage",
    "params": {"message": {"messageId": "m-1", "role": "ROLE_USER", "parts": [{"text": "Hi"}]}},
}
LEAKS = ("Traceback", "SELECT ", "sqlite", "psycopg", "/tmp/", "/work/", "site-packages", "us1.")


def _clean(reply: httpx.Response, home: Path) -> dict[str, Any]:
    """Return the reply's JSON after checking it reveals nothing it should not."""
    text = reply.text
    for leak in (*LEAKS, str(home)):
        assert leak not in text, f"{leak!r} leaked in {text}"
    body: dict[str, Any] = reply.json()
    return body


def _rpc_error(reply: httpx.Response, home: Path) -> tuple[int, str]:
    body = _clean(reply, home)
    assert body["jsonrpc"] == "2.0"
    assert "result" not in body
    return int(body["error"]["code"]), str(body["error"]["message"])


@pytest.fixture(params=[f"/a2a/{CTO}/", "/mcp"])
def endpoint(request: pytest.FixtureRequest) -> str:
    """Return each JSON-RPC endpoint in turn."""
    return str(request.param)


def test_malformed_json_is_a_parse_error(server: str, demo: Path, endpoint: str) -> None:
    reply = rpc(server, endpoint, b'{"jsonrpc": "2.0", "method": ', token(demo, CEO))
    assert _rpc_error(reply, demo)[0] == -32700


@pytest.mark.parametrize(
    "body",
    [
        [],
        [SEND],
        "just a string",
        {"jsonrpc": "2.0", "id": 1},
        {"jsonrpc": "1.0", "id": 1, "method": "SendMessage"},
        {"jsonrpc": "2.0", "id": True, "method": "SendMessage"},
    ],
    ids=["empty-batch", "batch", "string", "no-method", "old-version", "bool-id"],
)
def test_a_body_that_is_not_a_request_is_an_invalid_request(
    server: str, demo: Path, endpoint: str, body: Any
) -> None:
    content = f'"{body}"' if isinstance(body, str) else body
    reply = rpc(server, endpoint, content, token(demo, CEO))
    assert _rpc_error(reply, demo)[0] == -32600


def test_an_unknown_method_is_method_not_found(server: str, demo: Path, endpoint: str) -> None:
    reply = rpc(server, endpoint, {**SEND, "method": "DropTables"}, token(demo, CEO))
    assert _rpc_error(reply, demo)[0] == -32601


def test_a2a_bad_params_are_invalid_params(server: str, demo: Path) -> None:
    ceo = token(demo, CEO)
    malformed = rpc(server, f"/a2a/{CTO}/", {**SEND, "params": {"message": "hi"}}, ceo)
    assert _rpc_error(malformed, demo)[0] == -32602
    empty = {**SEND, "params": {"message": {**SEND["params"]["message"], "parts": []}}}  # type: ignore[index]
    code, message = _rpc_error(rpc(server, f"/a2a/{CTO}/", empty, ceo), demo)
    assert (code, message) == (-32602, "send the question as a text part")


def test_an_unknown_task_is_task_not_found(server: str, demo: Path) -> None:
    get = {"jsonrpc": "2.0", "id": 3, "method": "GetTask", "params": {"id": "no-such-task"}}
    reply = rpc(server, f"/a2a/{CTO}/", get, token(demo, CEO))
    assert _rpc_error(reply, demo) == (-32001, "Task not found")


def test_an_unknown_person_is_404_but_only_for_a_known_caller(server: str, demo: Path) -> None:
    ceo = token(demo, CEO)
    card = httpx.get(f"{server}/a2a/nobody/.well-known/agent-card.json", headers=bearer(ceo))
    assert card.status_code == 404
    assert _clean(card, demo)["error"]["code"] == "not_found"
    assert rpc(server, "/a2a/nobody/", SEND, ceo).status_code == 404
    # Without a token, someone and no one look the same: both 401.
    strangers = [
        httpx.get(f"{server}/a2a/{who}/.well-known/agent-card.json") for who in (CTO, "nobody")
    ]
    strangers += [rpc(server, f"/a2a/{who}/", SEND, None) for who in (CTO, "nobody")]
    assert {r.status_code for r in strangers} == {401}
    assert len({r.text for r in strangers}) == 1


def _tokens(home: Path) -> Iterator[tuple[str, dict[str, str]]]:
    good = token(home, CEO)
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    yield "missing", {}
    yield "empty", {"Authorization": "Bearer"}
    yield "not bearer", {"Authorization": f"Basic {good}"}
    yield "garbage", {"Authorization": "Bearer not-a-token"}
    yield "forged", bearer(forged)
    yield "expired", bearer(token(home, CEO, lifetime=-60))
    yield "unknown person", bearer(token(home, "someone-who-left"))


@pytest.mark.parametrize("path", [f"/a2a/{CTO}/", "/mcp", "/api/ask", "/a2a/"])
def test_missing_bad_or_expired_tokens_are_401(server: str, demo: Path, path: str) -> None:
    for name, headers in _tokens(demo):
        if path == "/a2a/":
            reply = httpx.get(f"{server}{path}", headers=headers)
        else:
            reply = httpx.post(f"{server}{path}", json=SEND, headers=headers)
        assert reply.status_code == 401, name
        assert reply.headers["www-authenticate"].startswith("Bearer")
        error = _clean(reply, demo)["error"]
        assert error["code"] == "unauthorized", name
        if name == "expired":
            assert "expired" in error["message"]


@pytest.mark.parametrize("path", [f"/a2a/{CTO}/", "/mcp", "/api/ask"])
def test_oversized_bodies_are_refused_before_parsing(server: str, demo: Path, path: str) -> None:
    headers = {**bearer(token(demo, CEO)), "Content-Type": "application/json"}
    declared = httpx.post(f"{server}{path}", content=b"{" + b" " * BIG + b"}", headers=headers)
    assert declared.status_code == 413
    assert _clean(declared, demo)["error"]["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * 65536

    streamed = httpx.post(f"{server}{path}", content=chunks(), headers=headers)
    assert "content-length" not in streamed.request.headers
    assert streamed.status_code == 413


def test_mcp_tools_refuse_unknown_people_items_and_actions(server: str, demo: Path) -> None:
    ceo = token(demo, CEO)
    calls = [
        ("ask", {"question": "Hello?", "to": "nobody"}, "no person 'nobody' in this organization"),
        ("predict", {"item": 99999999}, "item 99999999 does not exist or you may not read it"),
        ("approvals", {"action": "approve", "id": 99999999}, "no action 99999999 waits for you"),
        ("brief", {"date": "yesterday"}, "date 'yesterday': write it as YYYY-MM-DD"),
    ]
    for n, (tool, arguments, message) in enumerate(calls):
        call = {
            "jsonrpc": "2.0",
            "id": n,
            "method": "tools/call",
            "params": {"name": tool, "arguments": arguments},
        }
        reply = rpc(server, "/mcp", call, ceo)
        assert _rpc_error(reply, demo) == (-32602, message)


class _BrokenDeployment(Deployment):
    """A deployment whose understudies fail the way a bug would, with secrets in the message."""

    def understudy(self, store: Store, owner: str) -> Understudy:
        raise RuntimeError(f"{SECRET} while opening {store.location}")


SECRET = "SELECT salary FROM people -- /var/lib/understudy.db"


def test_a_failing_understudy_says_it_failed_and_nothing_more(demo: Path) -> None:
    app = create_app(deployment=_BrokenDeployment(settings_for(demo)))
    headers = {**bearer(token(demo, CEO)), "A2A-Version": "1.0"}
    at_once = {**SEND, "params": {**SEND["params"], "configuration": {"returnImmediately": True}}}  # type: ignore[dict-item]
    tool = {
        "jsonrpc": "2.0",
        "id": 9,
        "method": "tools/call",
        "params": {"name": "ask", "arguments": {"question": "Hello?", "to": CTO}},
    }
    mcp_headers = {**headers, "Accept": "application/json, text/event-stream"}
    with TestClient(app) as client:
        task = client.post(f"/a2a/{CTO}/", json=SEND, headers=headers)
        tool_reply = client.post("/mcp", json=tool, headers=mcp_headers)
        started = client.post(f"/a2a/{CTO}/", json=at_once, headers=headers).json()
        get = {"jsonrpc": "2.0", "id": 4, "method": "GetTask"}
        get["params"] = {"id": started["result"]["task"]["id"]}
        deadline = time.monotonic() + 10
        while True:
            polled = client.post(f"/a2a/{CTO}/", json=get, headers=headers)
            state = polled.json()["result"]["status"]["state"]
            if state == "TASK_STATE_FAILED" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    assert state == "TASK_STATE_FAILED"
    assert polled.json()["result"]["status"]["message"]["parts"] == [{"text": SORRY}]
    for reply in (task, tool_reply, polled):
        assert "salary" not in reply.text
        assert "/var/lib" not in reply.text
        assert str(demo) not in reply.text
    failed = task.json()["result"]["message"]
    assert failed["metadata"] == {"status": "failed"}
    assert failed["parts"] == [{"text": SORRY}]
    result = tool_reply.json()["result"]
    assert result["isError"] is True
    assert result["content"][0]["text"] == "Error executing tool ask"
