"""MCP tools through the official mcp client: over stdio and over streamable HTTP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from mcp import Client

from tests.relay.clients import mcp_http, mcp_stdio, run
from tests.relay.servers import (
    CEO,
    DEMO_TODAY,
    HR_LEAD,
    HR_QUESTION,
    HR_STAFF,
    hr_phrase,
    opened,
    server_env,
    token,
)

TOOLS = {"search", "ask", "brief", "predict", "approvals", "questions"}


async def _call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def test_stdio_tools_act_as_the_person_given(demo: Path) -> None:
    async def session() -> dict[str, Any]:
        async with mcp_stdio(demo, "--as", CEO) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            return {
                "tools": tools,
                "search": await _call(client, "search", query="Atlas launch date", limit=5),
                "ask": await _call(client, "ask", question=HR_QUESTION, to=HR_STAFF),
                "brief": await _call(client, "brief", date=DEMO_TODAY),
            }

    seen = run(session())
    assert seen["tools"] == TOOLS
    assert 0 < len(seen["search"]["results"]) <= 5
    assert any("Atlas" in r["title"] for r in seen["search"]["results"])
    assert seen["ask"]["status"] == "declined"
    assert seen["ask"]["text"].startswith("The understudy of Emily Carter: I cannot share")
    subjects = [w["subject"] for w in seen["brief"]["waiting"]]
    assert any("URGENT: revised FY forecast" in s for s in subjects)
    assert seen["brief"]["person"] == CEO


def test_stdio_acts_as_the_person_of_understudy_token(demo: Path) -> None:
    question = f"{HR_QUESTION} (stdio)"

    def asked(found: dict[str, Any]) -> dict[str, Any]:
        return next(q for q in found["questions"] if q["question"] == question)

    async def session() -> tuple[dict[str, Any], ...]:
        asker_env = {"UNDERSTUDY_TOKEN": token(demo, CEO)}
        async with mcp_stdio(demo, env=asker_env) as asker:
            await _call(asker, "ask", question=question, to=HR_STAFF)
            before = asked(await _call(asker, "questions"))
        owner_token = token(demo, HR_STAFF)
        async with mcp_stdio(demo, env={"UNDERSTUDY_TOKEN": owner_token}) as owner:
            waiting = await _call(owner, "approvals")
            mine = next(a for a in waiting["actions"] if a["payload"]["question"] == question)
            done = await _call(owner, "approvals", action="approve", id=mine["id"])
            # The owner did not ask it: it is not among their own questions.
            theirs = await _call(owner, "questions")
        async with mcp_stdio(demo, env=asker_env) as asker:
            after = asked(await _call(asker, "questions"))
        return mine, done, before, after, theirs

    queued, done, before, after, theirs = run(session())
    assert (queued["owner"], queued["requested_by"]) == (HR_STAFF, CEO)
    assert done["action"]["state"] == "done"
    assert done["action"]["approved_by"] == HR_STAFF
    assert (before["to"], before["state"], before["answer"]) == (HR_STAFF, "waiting", None)
    assert "reason" not in before
    assert after["state"] in {"answered", "nothing"}
    assert after["answer"]["from"] == "the understudy of Emily Carter"
    assert after["answer"]["asker"] == CEO
    assert all(q["question"] != question for q in theirs["questions"])


def test_stdio_without_an_identity_says_what_to_do(demo: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "understudy", "mcp"],
        env=server_env(demo),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert finished.returncode != 0
    assert "--as PERSON, or set UNDERSTUDY_TOKEN" in finished.stderr


def test_http_tools_act_as_the_token_person(server: str, demo: Path) -> None:
    phrase = hr_phrase(demo)

    async def searches() -> tuple[dict[str, Any], dict[str, Any]]:
        async with mcp_http(server, token(demo, CEO)) as ceo:
            assert {t.name for t in (await ceo.list_tools()).tools} == TOOLS
            theirs = await _call(ceo, "search", query=phrase)
        async with mcp_http(server, token(demo, HR_LEAD)) as hr:
            ours = await _call(hr, "search", query=phrase)
        return theirs, ours

    ceo_found, hr_found = run(searches())
    assert not any("compensation" in r["title"].lower() for r in ceo_found["results"])
    assert any("compensation" in r["title"].lower() for r in hr_found["results"])
    with opened(demo) as store:
        audit = [e for e in store.list_audit(HR_LEAD, 20) if e.event == "search"]
    assert audit
    assert audit[0].request == phrase
    assert audit[0].items_read, "the items the search returned are in the audit log"


def test_http_predict_and_brief(server: str, demo: Path) -> None:
    async def session() -> tuple[dict[str, Any], dict[str, Any]]:
        async with mcp_http(server, token(demo, CEO)) as client:
            brief = await _call(client, "brief", date=DEMO_TODAY)
            item = brief["waiting"][0]["item"]
            return brief, await _call(client, "predict", item=item)

    brief, prediction = run(session())
    assert prediction["item"] == brief["waiting"][0]["item"]
    assert set(prediction["distribution"]) == {"reply", "forward", "delegate", "ignore"}
    assert abs(sum(prediction["distribution"].values()) - 1) < 1e-3
    assert prediction["explanation"]


def test_an_understudy_token_cannot_decide_approvals(server: str, demo: Path) -> None:
    async def session() -> Any:
        async with mcp_http(server, token(demo, HR_STAFF, agent=True)) as client:
            return await client.call_tool("approvals", {"action": "reject", "id": 1})

    result = run(session())
    assert result.is_error
    assert "an understudy's token cannot decide approvals" in result.content[0].text
