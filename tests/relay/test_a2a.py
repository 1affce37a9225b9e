"""Each understudy as an A2A agent, through the official a2a-sdk client against a real server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from a2a.client import A2ACardResolver
from a2a.helpers import get_data_parts, get_text_parts
from a2a.types import AgentCard, ListTasksRequest, Message, Role, TaskState
from a2a.utils.errors import A2AError

from tests.relay.clients import (
    a2a_client,
    as_json,
    bearer,
    finished,
    get_task,
    run,
    send,
    send_task,
)
from tests.relay.servers import (
    ATLAS_QUESTION,
    CEO,
    CTO,
    HR_QUESTION,
    HR_STAFF,
    hr_phrase,
    opened,
    serve,
    settings_for,
    token,
)
from understudy.agent import ask_organization
from understudy.agent.tokens import Caller
from understudy.relay import A2ARelay
from understudy.relay.a2a_client import answer_of
from understudy.relay.deployment import Deployment
from understudy.relay.operations import approvals


def test_the_directory_lists_every_understudy(server: str, demo: Path) -> None:
    reply = httpx.get(f"{server}/a2a/", headers=bearer(token(demo, CEO)))
    assert reply.status_code == 200
    names = {card["name"] for card in reply.json()["agents"]}
    assert len(names) == 20
    assert {"Understudy of Maya Okafor", "Understudy of Emily Carter"} <= names


def test_a_card_says_whose_understudy_it_is_and_how_to_call_it(server: str, demo: Path) -> None:
    async def resolve() -> AgentCard:
        async with httpx.AsyncClient(headers=bearer(token(demo, CEO))) as http:
            return await A2ACardResolver(http, f"{server}/a2a/{CTO}/").get_agent_card()

    card = run(resolve())
    assert card.name == "Understudy of Daniel Reyes"
    assert "on Daniel Reyes's behalf within permissions" in card.description
    assert [s.id for s in card.skills] == ["ask", "availability", "status"]
    scheme = card.security_schemes["bearer"].http_auth_security_scheme
    assert scheme.scheme == "bearer"
    interface = card.supported_interfaces[0]
    assert (interface.url, interface.protocol_binding) == (f"{server}/a2a/{CTO}/", "JSONRPC")


def test_a_colleague_gets_a_cited_answer_from_the_understudy(server: str, demo: Path) -> None:
    reply = run(send(server, CTO, token(demo, CEO), ATLAS_QUESTION))
    assert isinstance(reply, Message), "a quick question is answered with a message"
    assert reply.role == Role.ROLE_AGENT
    text = "\n".join(get_text_parts(list(reply.parts)))
    assert text.startswith("The understudy of Daniel Reyes:")
    data = get_data_parts(list(reply.parts))[0]
    assert data["from"] == "the understudy of Daniel Reyes"
    assert (data["owner"], data["asker"], data["status"]) == (CTO, CEO, "answered")
    assert data["citations"], "an answer cites its sources"
    assert all(c["title"] and c["item"] for c in data["citations"])
    assert reply.metadata["from"] == "the understudy of Daniel Reyes"


def test_work_sent_to_return_at_once_is_a_task_with_the_same_answer(
    server: str, demo: Path
) -> None:
    ceo = token(demo, CEO)
    task = run(send_task(server, CTO, ceo, ATLAS_QUESTION))
    assert task.status.state in (TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING)
    done = run(finished(server, CTO, ceo, task))
    assert done.status.state == TaskState.TASK_STATE_COMPLETED
    assert done.history[0].parts[0].text == ATLAS_QUESTION
    assert done.status.message.metadata["from"] == "the understudy of Daniel Reyes"
    answer = answer_of(done)
    assert answer["text"].startswith("The understudy of Daniel Reyes:")
    assert (
        answer["citations"] == answer_of(run(send(server, CTO, ceo, ATLAS_QUESTION)))["citations"]
    )


def test_an_hr_understudy_cannot_share_the_hr_document(server: str, demo: Path) -> None:
    task = run(send(server, HR_STAFF, token(demo, CEO), HR_QUESTION))
    answer = answer_of(task)
    assert answer["status"] == "declined"
    assert answer["text"].startswith("The understudy of Emily Carter: I cannot share that")
    assert answer["citations"] == []
    whole = as_json(task).lower()
    assert hr_phrase(demo).lower() not in whole
    for word in ("salary", "improvement plan", "compensation-review"):
        assert word not in whole
    queued = approvals(Deployment(settings_for(demo)), Caller(HR_STAFF))
    assert any(a["payload"]["question"] == HR_QUESTION for a in queued), "queued for the owner"


def test_the_hr_owner_reads_her_own_document_through_her_understudy(
    server: str, demo: Path
) -> None:
    task = run(send(server, HR_STAFF, token(demo, HR_STAFF), HR_QUESTION))
    answer = answer_of(task)
    assert answer["status"] == "answered"
    assert any("compensation" in c["title"].lower() for c in answer["citations"])


def test_an_understudy_calls_another_with_its_agent_token(server: str, demo: Path) -> None:
    question = "What is the status of Atlas? (agent call)"
    task = run(send(server, CTO, token(demo, CEO, agent=True), question))
    assert answer_of(task)["asker"] == CEO
    with opened(demo) as store:
        events = [e for e in store.list_audit(CTO, 50) if e.request == question]
    request = next(e for e in events if e.event == "request")
    assert request.actor == CEO
    assert request.detail == {"origin": "agent", "via": f"a2a:understudy:{CEO}"}


def test_the_audit_log_records_request_reads_and_disclosures(server: str, demo: Path) -> None:
    question = "Why is the Atlas launch slipping, and who decided?"
    answer = answer_of(run(send(server, CTO, token(demo, CEO), question)))
    with opened(demo) as store:
        events = {e.event: e for e in store.list_audit(CTO, 50) if e.request == question}
    assert {"request", "read", "disclose"} <= set(events)
    assert events["request"].detail == {"origin": "colleague", "via": "a2a"}
    assert set(answer["items"]) <= set(events["read"].items_read)
    assert events["disclose"].disclosed_to == CEO
    assert list(events["disclose"].items_read) == answer["items"]


def test_a_long_task_moves_from_submitted_to_completed(server: str, demo: Path) -> None:
    ceo = token(demo, CEO)
    task = run(send_task(server, CEO, ceo, ATLAS_QUESTION, org=True))
    assert task.status.state in (TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING)
    answer = answer_of(run(finished(server, CEO, ceo, task)))
    assert answer["text"].startswith("The understudy of Maya Okafor asked")
    organization = answer["organization"]
    assert len(organization["answers"]) >= 2
    assert {a["owner"] for a in organization["answers"]} <= set(organization["asked"])


def test_a_task_is_only_visible_to_whoever_asked(server: str, demo: Path) -> None:
    task = run(send_task(server, CTO, token(demo, CEO), "What is the status of Beacon?"))
    with pytest.raises(A2AError, match="not found"):
        run(get_task(server, CTO, token(demo, HR_STAFF), task.id))

    async def listed() -> list[str]:
        async with a2a_client(server, CTO, token(demo, CEO)) as client:
            page = await client.list_tasks(ListTasksRequest(page_size=100))
            return [t.id for t in page.tasks]

    assert task.id in run(listed())


def test_any_server_process_answers_get_task(server: str, demo: Path) -> None:
    ceo = token(demo, CEO)
    task = run(finished(server, CTO, ceo, run(send_task(server, CTO, ceo, "What changed?"))))
    with serve(demo) as other:
        again = run(get_task(other, CTO, ceo, task.id))
    assert again.status.state == TaskState.TASK_STATE_COMPLETED
    assert answer_of(again) == answer_of(task)


def test_ask_organization_fans_out_over_a2a(server: str, demo: Path) -> None:
    people = [CTO, "chloe-dubois", "nobody"]
    with A2ARelay(server, token(demo, CEO, agent=True), timeout=20) as relay, opened(demo) as store:
        merged = ask_organization(store, relay, None, CEO, ATLAS_QUESTION, 30, people)
        private = ask_organization(store, relay, None, CEO, HR_QUESTION, 30, [HR_STAFF])
    assert [a["owner"] for a in merged.answers] == [CTO, "chloe-dubois"]
    assert all(a["text"].startswith("The understudy of ") for a in merged.answers)
    assert all(a["citations"] for a in merged.answers)
    assert merged.unanswered == ["nobody (RuntimeError)"]
    assert private.declined == [HR_STAFF]
    assert private.answers == []


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Yield the URL of a server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def test_the_relay_gives_up_at_its_deadline(silent_server: str, demo: Path) -> None:
    with A2ARelay(silent_server, "us1.x.y", timeout=0.5) as relay:
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="did not answer in time"):
            relay.ask(CTO, ATLAS_QUESTION, CEO)
        assert time.monotonic() - started < 2.0
        with opened(demo) as store:
            merged = ask_organization(store, relay, None, CEO, ATLAS_QUESTION, 5, [CTO])
    assert merged.unanswered
    assert merged.unanswered[0].startswith(CTO)


def test_the_relay_never_passes_one_askers_answer_off_as_anothers(server: str, demo: Path) -> None:
    relay = A2ARelay(server, token(demo, CEO, agent=True))
    with relay, pytest.raises(RuntimeError, match="speaks for maya-okafor, not daniel-reyes"):
        relay.ask("chloe-dubois", ATLAS_QUESTION, CTO)
