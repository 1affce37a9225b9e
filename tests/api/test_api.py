"""The JSON API under /api/, acting as the token's person: ask, search, brief, approvals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.relay.clients import bearer
from tests.relay.servers import (
    ATLAS_QUESTION,
    CEO,
    CTO,
    DEMO_TODAY,
    HR_LEAD,
    HR_QUESTION,
    HR_STAFF,
    hr_phrase,
    opened,
    token,
)


def _ok(reply: Any) -> Any:
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_you_ask_your_own_understudy(client: TestClient, demo: Path) -> None:
    reply = _ok(
        client.post("/api/ask", json={"question": ATLAS_QUESTION}, headers=bearer(token(demo, CEO)))
    )
    assert reply["from"] == "the understudy of Maya Okafor"
    assert reply["text"].startswith("The understudy of Maya Okafor: ")
    assert (reply["owner"], reply["asker"], reply["status"]) == (CEO, CEO, "answered")
    assert reply["citations"]


def test_you_ask_a_colleagues_understudy_and_it_is_audited(client: TestClient, demo: Path) -> None:
    question = "What is the status of Atlas? (api)"
    body = {"question": question, "to": "Daniel Reyes"}
    reply = _ok(client.post("/api/ask", json=body, headers=bearer(token(demo, CEO))))
    assert reply["from"] == "the understudy of Daniel Reyes"
    assert reply["asker"] == CEO
    with opened(demo) as store:
        events = {e.event: e for e in store.list_audit(CTO, 50) if e.request == question}
    assert events["request"].detail == {"origin": "colleague", "via": "api"}
    assert events["disclose"].disclosed_to == CEO


def test_the_organization_answers_together(client: TestClient, demo: Path) -> None:
    body = {"question": ATLAS_QUESTION, "org": True, "deadline": 30}
    merged = _ok(client.post("/api/ask", json=body, headers=bearer(token(demo, CEO))))
    assert merged["asked"]
    assert len(merged["answers"]) >= 2
    assert all(a["text"].startswith("The understudy of ") for a in merged["answers"])


def test_search_runs_with_the_callers_permissions(client: TestClient, demo: Path) -> None:
    phrase = hr_phrase(demo)
    ceo = _ok(client.get("/api/search", params={"q": phrase}, headers=bearer(token(demo, CEO))))
    hr = _ok(client.get("/api/search", params={"q": phrase}, headers=bearer(token(demo, HR_LEAD))))
    assert not any("compensation" in r["title"].lower() for r in ceo["results"])
    top = hr["results"][0]
    assert "compensation" in top["title"].lower()
    assert {"rank", "item", "kind", "title", "snippet", "when", "why"} <= set(top)


def test_the_brief_is_the_morning_view(client: TestClient, demo: Path) -> None:
    brief = _ok(
        client.get("/api/brief", params={"date": DEMO_TODAY}, headers=bearer(token(demo, CEO)))
    )
    subjects = [w["subject"] for w in brief["waiting"][:4]]
    assert any("URGENT: revised FY forecast" in s for s in subjects)
    assert any("Decision needed" in s for s in subjects)
    assert brief["meetings"]
    atlas = next(p for p in brief["projects"] if p["project"] == "atlas")
    assert len(atlas["slipping_tasks"]) >= 3


def _queue_question(client: TestClient, demo: Path, question: str) -> int:
    body = {"question": question, "to": HR_STAFF}
    reply = _ok(client.post("/api/ask", json=body, headers=bearer(token(demo, CEO))))
    assert reply["status"] == "declined"
    assert "cannot share" in reply["text"]
    assert hr_phrase(demo).lower() not in str(reply).lower()
    return int(reply["actions"][0]["id"])


def test_a_declined_question_waits_for_its_owner_to_decide(client: TestClient, demo: Path) -> None:
    first = _queue_question(client, demo, HR_QUESTION)
    second = _queue_question(client, demo, f"{HR_QUESTION} (again)")
    third = _queue_question(client, demo, f"{HR_QUESTION} (once more)")
    owner = bearer(token(demo, HR_STAFF))
    waiting = _ok(client.get("/api/approvals", headers=owner))["actions"]
    assert {first, second, third} <= {a["id"] for a in waiting}
    assert all(a["owner"] == HR_STAFF for a in waiting)
    # The asker cannot decide, nor even see, someone else's queue.
    ceo = bearer(token(demo, CEO))
    assert client.post(f"/api/approvals/{first}/approve", headers=ceo).status_code == 404
    assert first not in {a["id"] for a in _ok(client.get("/api/approvals", headers=ceo))["actions"]}
    approved = _ok(client.post(f"/api/approvals/{first}/approve", headers=owner))
    assert (approved["state"], approved["approved_by"]) == ("done", HR_STAFF)
    rejected = _ok(
        client.post(f"/api/approvals/{second}/reject", json={"reason": "private"}, headers=owner)
    )
    assert (rejected["state"], rejected["result"]) == ("rejected", "private")
    edited = _ok(
        client.post(f"/api/approvals/{third}/edit", json={"text": "Ask Grace."}, headers=owner)
    )
    assert edited["state"] == "done"
    assert edited["payload"]["body"] == "Ask Grace."
    # The asker is answered in the owner's own words, spoken by the understudy.
    assert "Ask Grace." in edited["payload"]["answer"]["text"]
    again = client.post(f"/api/approvals/{first}/approve", headers=owner)
    assert again.status_code == 400
    assert "already done" in again.json()["error"]["message"]
    # The asker finds each answer among their questions; the owner's reason stays private.
    asked = _ok(client.get("/api/questions", headers=ceo))["questions"]
    by_id = {q["id"]: q for q in asked}
    assert by_id[first]["answer"]["text"].startswith("The understudy of Emily Carter")
    assert by_id[second]["state"] == "declined"
    assert "private" not in str(by_id[second])
    assert "Ask Grace." in by_id[third]["answer"]["text"]
    assert all(q["to"] == HR_STAFF for q in by_id.values())
    assert [q["id"] for q in asked] == sorted((q["id"] for q in asked), reverse=True)
    # Nobody else sees them: not the owner they went to, nor a colleague.
    for other in (HR_STAFF, HR_LEAD):
        seen = _ok(client.get("/api/questions", headers=bearer(token(demo, other))))
        assert not {first, second, third} & {q["id"] for q in seen["questions"]}
    assert client.get("/api/questions?limit=0", headers=ceo).status_code == 422


def test_openapi_describes_the_api(client: TestClient) -> None:
    document = _ok(client.get("/openapi.json"))
    assert {"/api/ask", "/api/search", "/api/brief", "/api/approvals"} <= set(document["paths"])
    assert "/api/approvals/{action_id}/edit" in document["paths"]
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_the_api_over_a_real_socket(server: str, demo: Path) -> None:
    reply = httpx.post(
        f"{server}/api/ask",
        json={"question": "When is Daniel free on Friday?", "to": CTO},
        headers=bearer(token(demo, CEO)),
        timeout=30,
    )
    answer = _ok(reply)
    assert answer["intent"] == "availability"
    assert answer["from"] == "the understudy of Daniel Reyes"
    assert httpx.get(f"{server}/health").json()["status"] == "ok"
