"""The JSON API under ``/api/``: ask, search, brief and approvals, as the token's person.

Every endpoint acts as the caller the bearer token names. Endpoints are plain
functions, so FastAPI runs them in its thread pool, each borrowing a store
connection for the length of the request.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field

from understudy.agent.tokens import Caller
from understudy.relay import operations
from understudy.relay.deployment import Deployment

__all__ = ["router"]

# Declared for the OpenAPI document (and the docs' Authorize button); the server's
# BearerAuth middleware has already verified the token before any endpoint runs.
_bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="understudy token",
    description="A token from 'understudy token PERSON' (or '--agent' for an understudy).",
)
router = APIRouter(prefix="/api", tags=["API"], dependencies=[Depends(_bearer)])

ActionId = Annotated[int, Path(ge=1, description="The action's id, from GET /api/approvals.")]


class AskBody(BaseModel):
    """A question for your understudy, a colleague's, or the organization's."""

    question: str = Field(min_length=1, max_length=operations.MAX_QUESTION)
    to: str | None = Field(None, max_length=200, description="Ask this person's understudy.")
    org: bool = Field(False, description="Ask the understudies of whoever likely knows.")
    deadline: float = Field(10.0, gt=0, le=60, description="Seconds to wait for org answers.")


class RejectBody(BaseModel):
    """Why an action is rejected (optional)."""

    reason: str = Field("", max_length=2000)


class EditBody(BaseModel):
    """The new text of an action (message body or title); the edited action is carried out."""

    text: str = Field(min_length=1, max_length=100_000)


def _deployment(request: Request) -> Deployment:
    deployment: Deployment = request.app.state.deployment
    return deployment


def _caller(request: Request) -> Caller:
    caller: Caller = request.state.caller
    return caller


@router.post("/ask", summary="Ask an understudy")
def ask(body: AskBody, request: Request) -> dict[str, Any]:
    """Ask your understudy, a colleague's (``to``), or the organization (``org``); cited."""
    deployment, caller = _deployment(request), _caller(request)
    if body.org:
        return operations.ask_org(deployment, caller, body.question, body.deadline)
    return operations.ask(deployment, caller, body.question, body.to, via="api")


@router.get("/search", summary="Search what you may read")
def search(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="What to look for.")],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> dict[str, Any]:
    """Search mail, documents, chat, calendar and tasks you may read; ranked, with snippets."""
    return operations.search(_deployment(request), _caller(request), q, limit)


@router.get("/brief", summary="Your overview of the day")
def brief(
    request: Request,
    day: Annotated[
        date | None, Query(alias="date", description="The day (YYYY-MM-DD); default now.")
    ] = None,
) -> dict[str, Any]:
    """Return messages waiting on you, the day's meetings and project changes."""
    return operations.brief(_deployment(request), _caller(request), day)


@router.get("/approvals", summary="What waits for your approval")
def approvals(request: Request) -> dict[str, Any]:
    """Return the actions your understudy queued for you, newest first."""
    return {"actions": operations.approvals(_deployment(request), _caller(request))}


@router.get("/questions", summary="Questions you left for others, and their answers")
def questions(request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    """Return the questions an understudy passed on to its owner for you, newest first.

    Each waits until that owner decides; then it carries the answer (or that they declined).
    """
    return {"questions": operations.questions(_deployment(request), _caller(request), limit)}


@router.post("/approvals/{action_id}/approve", summary="Approve and carry out an action")
def approve(action_id: ActionId, request: Request) -> dict[str, Any]:
    """Approve one of your waiting actions; it is carried out at once."""
    return operations.decide(_deployment(request), _caller(request), action_id, "approve")


@router.post("/approvals/{action_id}/reject", summary="Reject an action")
def reject(action_id: ActionId, request: Request, body: RejectBody | None = None) -> dict[str, Any]:
    """Reject one of your waiting actions; your twin learns you would not have done it."""
    reason = body.reason if body else ""
    return operations.decide(_deployment(request), _caller(request), action_id, "reject", reason)


@router.post("/approvals/{action_id}/edit", summary="Edit, then approve an action")
def edit(action_id: ActionId, body: EditBody, request: Request) -> dict[str, Any]:
    """Replace an action's text, approve it and carry it out; your twin learns the edit."""
    return operations.decide(_deployment(request), _caller(request), action_id, "edit", body.text)
