"""The one JSON error shape of the HTTP server, for every error it answers with.

``{"error": {"code": "not_found", "status": 404, "message": "..."}}`` — the
message says what to do next and never carries a stack trace, SQL, a file
path, a token or anything the caller may not read. JSON-RPC endpoints (A2A,
MCP) answer protocol errors in JSON-RPC's own shape; everything around them
(authentication, sizes, unknown paths) uses this one.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from understudy.errors import (
    ConfigError,
    NotFound,
    PermissionDenied,
    StoreError,
    UnderstudyError,
)

__all__ = ["answer_error", "error_body", "error_response", "install_error_handlers"]

log = logging.getLogger(__name__)

CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    500: "internal_error",
    503: "unavailable",
}
MESSAGES = {
    401: "a bearer token is required; get one with 'understudy token PERSON'",
    404: "nothing here; the API is described at /openapi.json",
    405: "this method is not allowed here; the API is described at /openapi.json",
    413: "the request body is too large",
    500: "something went wrong on the server; it is logged, try again later",
    503: "the server is busy or cannot reach its store; try again later",
}


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """Return the error shape for an HTTP status and a message fit for the caller."""
    code = CODES.get(status, "error")
    text = message or MESSAGES.get(status) or HTTPStatus(status).phrase
    return {"error": {"code": code, "status": status, "message": text}}


def error_response(
    status: int, message: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """Return a JSON response in the error shape."""
    if status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="understudy"', **(headers or {})}
    return JSONResponse(error_body(status, message), status_code=status, headers=headers)


def _http_error(exc: HTTPException) -> Response:
    detail: str | None = exc.detail if isinstance(exc.detail, str) else None
    if detail == HTTPStatus(exc.status_code).phrase:
        detail = None
    return error_response(exc.status_code, detail, dict(exc.headers or {}))


def _field(location: Any) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def _validation_error(exc: RequestValidationError) -> Response:
    problems = [f"{_field(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()]
    return error_response(422, "; ".join(problems[:5]) or "the request is not valid")


def _understudy_error(request: Request, exc: UnderstudyError) -> Response:
    if isinstance(exc, NotFound):
        return error_response(404, exc.message)
    if isinstance(exc, PermissionDenied):
        return error_response(403, exc.message)
    if isinstance(exc, StoreError | ConfigError):
        # Their messages name files and URLs: for the operator's log, not the caller.
        log.error("%s %s failed: %s", request.method, request.url.path, exc.message)
        return error_response(503)
    return error_response(400, exc.message)


async def answer_error(request: Request, exc: Exception) -> Response:
    """Return the error response for any exception a request raised."""
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    if isinstance(exc, RequestValidationError):
        return _validation_error(exc)
    if isinstance(exc, UnderstudyError):
        return _understudy_error(request, exc)
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(500)


def install_error_handlers(app: FastAPI) -> None:
    """Make every error the app answers with take the one JSON shape."""
    for kind in (HTTPException, RequestValidationError, UnderstudyError, Exception):
        app.add_exception_handler(kind, answer_error)
