"""Questions queued for the owner, answered back to the asker once the owner decides.

When the understudy cannot share an answer, it may queue the question for
its owner. Approving it lets the understudy answer with what the *owner* may
read (the owner chose to share it); editing it sends the owner's own words;
rejecting it tells the asker the owner declined. The answer — still spoken
by the understudy, never as the owner — is kept on the action (``payload
["answer"]``, the same shape as any response) so every channel can hand it
back: the A2A task the question came in on is completed from it, and any
asker (by the API, MCP or the command line) finds it with ``asked_by``. Every
answer is a disclosure in the audit log.
"""

from __future__ import annotations

from typing import Any

from understudy.agent.requests import Intent, Origin, Request
from understudy.records import Action, AuditEvent, Principal
from understudy.settings import Settings
from understudy.store import Store

__all__ = ["QUESTION", "answer_queued", "asked_by", "decline_queued"]

QUESTION = "answer_question"


def _request(action: Action) -> Request:
    asker = str(action.payload.get("asker") or action.requested_by)
    question = str(action.payload.get("question") or "")
    return Request(action.owner, asker, question, Origin.COLLEAGUE, via=f"approval:{action.id}")


def _disclose(store: Store, action: Action, by: str, answer: dict[str, Any], event: str) -> None:
    store.append_audit(
        AuditEvent(
            actor=by,
            event=event,
            on_behalf_of=action.owner,
            request=str(action.payload.get("question") or "")[:2000],
            items_read=tuple(answer.get("items") or ()),
            disclosed_to=str(answer["asker"]),
            detail={"id": action.id, "status": answer["status"]},
        )
    )


def answer_queued(store: Store, settings: Settings, action: Action, by: str) -> Action:
    """Answer an approved question to its asker and record the answer on the action."""
    from understudy.agent.registry import tools
    from understudy.agent.understudy import Understudy

    understudy = Understudy(store, action.owner, settings)
    request = _request(action)
    owner = understudy.owner_name
    edited = str(action.payload.get("body") or "").strip()
    if edited:
        response = understudy.response(request, Intent.QUESTION, f"{owner}'s answer: {edited}")
    else:
        context = understudy.context_for(request, Principal.person(action.owner), None)
        found = tools()["ask"].run(context, question=request.text)
        answer = found.data.get("answer")
        citations = [
            {"n": c.number, "item": c.item_id, "title": c.title, "kind": c.kind}
            for c in (answer.citations if answer is not None else [])
        ]
        body = found.text if citations else "I found nothing about that."
        response = understudy.response(
            request,
            Intent.QUESTION,
            f"With {owner}'s approval: {body}",
            status="answered" if citations else "nothing",
            citations=citations,
            items=found.items if citations else [],
        )
        understudy.audit(request, "read", items=context.read)
    reply = response.as_dict()
    done = store.update_action(
        action.id or 0,
        "done",
        result=f"answered {request.asker}",
        payload={**action.payload, "answer": reply},
    )
    _disclose(store, done, by, reply, "disclose")
    return done


def decline_queued(store: Store, action: Action, by: str) -> Action:
    """Tell the asker the owner declined their question (the owner's reason stays private)."""
    from understudy.agent.response import Response

    owner = store.get_person(action.owner)
    name = owner.name if owner is not None else action.owner
    request = _request(action)
    reply = Response(
        action.owner,
        name,
        request.asker,
        Intent.QUESTION,
        f"{name} declined to answer your question.",
        status="declined",
    ).as_dict()
    updated = store.update_action(
        action.id or 0,
        action.state,
        result=action.result,
        payload={**action.payload, "answer": reply},
    )
    _disclose(store, updated, by, reply, "answer_declined")
    return updated


def asked_by(store: Store, asker: str, limit: int = 50) -> list[dict[str, Any]]:
    """Return the questions ``asker`` left with someone's owner, newest first.

    Each says whom it went to, whether it still waits, and the answer once the
    owner decided. It never shows what only the owner sees: why the understudy
    could not answer, an edit's draft before it is sent, the owner's reason for
    declining.
    """
    found = []
    for action in store.list_actions(requested_by=asker, kind=QUESTION, limit=limit):
        answer = action.payload.get("answer")
        if not isinstance(answer, dict) or answer.get("asker") != asker:
            answer = None
        found.append(
            {
                "id": action.id,
                "to": action.owner,
                "question": str(action.payload.get("question") or ""),
                "state": "waiting" if answer is None else str(answer.get("status")),
                "asked": action.created_at.isoformat(),
                "updated": action.updated_at.isoformat(),
                "answer": answer,
            }
        )
    return found
