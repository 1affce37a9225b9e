"""Every error of the HTTP server has one JSON shape, and it reveals nothing it should not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.relay.clients import bearer
from tests.relay.servers import CEO, HR_STAFF, settings_for, token
from understudy.api import create_app
from understudy.errors import StoreError

SECRET = "/var/lib/understudy/understudy.db SELECT salary FROM secrets"


def _error(reply: Any, status: int, code: str) -> str:
    """Check the reply is the one error shape; return its message."""
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "status", "message"}
    assert (body["error"]["code"], body["error"]["status"]) == (code, status)
    message = body["error"]["message"]
    assert isinstance(message, str)
    assert message
    for leak in ("Traceback", "SELECT", "/var/lib", "us1.", "site-packages"):
        assert leak not in reply.text
    return str(message)


def test_401_without_a_token(client: TestClient) -> None:
    message = _error(client.get("/api/approvals"), 401, "unauthorized")
    assert "understudy token PERSON" in message


def test_401_with_an_expired_token(client: TestClient, demo: Path) -> None:
    expired = token(demo, CEO, lifetime=-1)
    reply = client.get("/api/approvals", headers=bearer(expired))
    assert "expired" in _error(reply, 401, "unauthorized")


def test_400_for_an_empty_edit(client: TestClient, demo: Path) -> None:
    reply = client.post(
        "/api/approvals/1/edit", json={"text": "  "}, headers=bearer(token(demo, CEO))
    )
    assert _error(reply, 400, "invalid_request") == "an edit needs the new text"


def test_403_when_an_understudy_token_decides(client: TestClient, demo: Path) -> None:
    agent = bearer(token(demo, HR_STAFF, agent=True))
    message = _error(client.post("/api/approvals/1/approve", headers=agent), 403, "forbidden")
    assert "cannot decide approvals" in message


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/nothing-here", None),
        ("POST", "/api/approvals/999999/approve", None),
        ("POST", "/api/ask", {"question": "Hello?", "to": "nobody"}),
        ("GET", "/a2a/nobody/.well-known/agent-card.json", None),
        ("GET", "/nothing-here", None),
    ],
)
def test_404(client: TestClient, demo: Path, method: str, path: str, body: Any) -> None:
    reply = client.request(method, path, json=body, headers=bearer(token(demo, CEO)))
    _error(reply, 404, "not_found")


def test_405(client: TestClient, demo: Path) -> None:
    _error(client.get("/api/ask", headers=bearer(token(demo, CEO))), 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/ask", {}, "question"),
        ("POST", "/api/ask", {"question": ""}, "question"),
        ("GET", "/api/brief?date=yesterday", None, "date"),
        ("GET", "/api/search", None, "q"),
        ("POST", "/api/approvals/first/approve", None, "action_id"),
    ],
)
def test_422(client: TestClient, demo: Path, method: str, path: str, body: Any, field: str) -> None:
    reply = client.request(method, path, json=body, headers=bearer(token(demo, CEO)))
    assert _error(reply, 422, "invalid_request").startswith(field)


def test_422_for_a_body_that_is_not_json(client: TestClient, demo: Path) -> None:
    headers = {**bearer(token(demo, CEO)), "Content-Type": "application/json"}
    _error(client.post("/api/ask", content=b"{nope", headers=headers), 422, "invalid_request")


def test_413(client: TestClient, demo: Path) -> None:
    big = {"question": "x" * (1024 * 1024)}
    reply = client.post("/api/ask", json=big, headers=bearer(token(demo, CEO)))
    _error(reply, 413, "payload_too_large")


@pytest.fixture(scope="module")
def failing(demo: Path) -> FastAPI:
    """Return an app with two extra routes that fail the way bugs and outages do."""
    app = create_app(settings_for(demo))

    def crash() -> None:
        raise RuntimeError(SECRET)

    def outage() -> None:
        raise StoreError(f"{SECRET}: cannot open the SQLite store")

    app.add_api_route("/api/crash", crash)
    app.add_api_route("/api/outage", outage)
    return app


def test_500_and_503_say_nothing_of_the_cause(failing: FastAPI, demo: Path) -> None:
    with TestClient(failing, raise_server_exceptions=False) as client:
        headers = bearer(token(demo, CEO))
        crash = _error(client.get("/api/crash", headers=headers), 500, "internal_error")
        outage = _error(client.get("/api/outage", headers=headers), 503, "unavailable")
    assert "try again later" in crash
    assert "try again later" in outage
