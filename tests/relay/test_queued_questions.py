"""A question queued for its owner reaches the asker once the owner decides (A2A, real server).

The CEO asks the HR staff member's understudy about the compensation review;
it cannot share, and queues the question. The task waits (input-required)
until the owner decides with ``understudy approvals``; the asker's next
GetTask carries the answer, or the owner's refusal.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from a2a.helpers import get_data_parts
from a2a.types import ListTasksRequest, Message, SendMessageRequest, Task, TaskState
from a2a.utils.errors import A2AError

from tests.relay.clients import a2a_client, as_json, get_task, message, run, send, send_task
from tests.relay.servers import CEO, CTO, HR_QUESTION, HR_STAFF, hr_phrase, opened, token
from understudy.relay.a2a_client import answer_of
from understudy.relay.a2a_tasks import AWAITING

WAITING = TaskState.TASK_STATE_INPUT_REQUIRED


Approvals = Callable[..., str]


@pytest.fixture
def approvals(demo: Path) -> Approvals:
    """Return a runner of ``understudy approvals ARGS…`` in the demo's home; it returns stdout."""
    from understudy.cli import main

    def command(*args: str) -> str:
        out = io.StringIO()
        with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out):
            for name in list(os.environ):
                if name.startswith("UNDERSTUDY_") and name != "UNDERSTUDY_TEST_POSTGRES":
                    patch.delenv(name)
            patch.setenv("UNDERSTUDY_HOME", str(demo))
            patch.setenv("UNDERSTUDY_EMBEDDING_MODEL", "hash")
            assert main(["approvals", *args]) == 0
        return out.getvalue()

    return command


def queue(server: str, demo: Path, tag: str) -> tuple[Task, int]:
    """Ask the HR understudy as the CEO; return the waiting task and its queued action."""
    reply = run(send(server, HR_STAFF, token(demo, CEO), f"{HR_QUESTION} ({tag})"))
    assert isinstance(reply, Task), "a question queued for the owner is a task to follow"
    assert reply.status.state == WAITING
    return reply, int(reply.status.message.metadata[AWAITING])


def test_a_queued_question_waits_for_the_owner(server: str, demo: Path) -> None:
    task, action_id = queue(server, demo, "waits")
    answer = answer_of(task)
    assert answer["status"] == "declined"
    assert answer["text"] == (
        "The understudy of Emily Carter: I cannot share that with you. "
        "I have passed your question to Emily Carter."
    )
    assert task.history[0].parts[0].text == f"{HR_QUESTION} (waits)"
    with opened(demo) as store:
        action = store.get_action(action_id)
    assert (action.kind, action.owner, action.requested_by) == ("answer_question", HR_STAFF, CEO)
    again = run(get_task(server, HR_STAFF, token(demo, CEO), task.id))
    assert again.status.state == WAITING
    assert hr_phrase(demo).lower() not in as_json(again).lower()


def test_approving_completes_the_askers_task_with_the_answer(
    server: str, demo: Path, approvals: Approvals
) -> None:
    task, action_id = queue(server, demo, "approved")
    said = approvals("approve", str(action_id))
    assert said.startswith(f"Action {action_id}: done — answered {CEO}")
    done = run(get_task(server, HR_STAFF, token(demo, CEO), task.id))
    assert done.status.state == TaskState.TASK_STATE_COMPLETED
    answer = answer_of(done)
    assert answer["text"].startswith(
        "The understudy of Emily Carter: With Emily Carter's approval: "
    )
    assert (answer["from"], answer["asker"], answer["status"]) == (
        "the understudy of Emily Carter",
        CEO,
        "answered",
    )
    assert any("compensation" in c["title"].lower() for c in answer["citations"])
    assert [m.parts[0].text for m in done.history][:1] == [f"{HR_QUESTION} (approved)"]
    assert get_data_parts(list(done.history[-1].parts))[0]["status"] == "declined"
    with opened(demo) as store:
        events = [e for e in store.list_audit(HR_STAFF, 50) if e.detail.get("id") == action_id]
    disclosed = next(e for e in events if e.event == "disclose")
    assert (disclosed.actor, disclosed.disclosed_to) == (HR_STAFF, CEO)
    assert list(disclosed.items_read) == answer["items"]


def test_an_edit_sends_the_owners_words_and_lists_as_completed(
    server: str, demo: Path, approvals: Approvals
) -> None:
    task, action_id = queue(server, demo, "edited")
    approvals("edit", str(action_id), "--text", "Please ask Grace; it is hers to share.")
    ceo = token(demo, CEO)

    async def completed() -> list[Task]:
        async with a2a_client(server, HR_STAFF, ceo) as client:
            page = await client.list_tasks(
                ListTasksRequest(status=TaskState.TASK_STATE_COMPLETED, page_size=100)
            )
            return list(page.tasks)

    mine = [t for t in run(completed()) if t.id == task.id]
    assert len(mine) == 1, "ListTasks settles the task too"
    assert answer_of(mine[0])["text"] == (
        "The understudy of Emily Carter: Emily Carter's answer: "
        "Please ask Grace; it is hers to share."
    )


def test_a_rejection_tells_the_asker_the_owner_declined(
    server: str, demo: Path, approvals: Approvals
) -> None:
    task, action_id = queue(server, demo, "rejected")
    approvals("reject", str(action_id), "--reason", "the CEO has the HR lead for that")
    done = run(get_task(server, HR_STAFF, token(demo, CEO), task.id))
    assert done.status.state == TaskState.TASK_STATE_REJECTED
    (data,) = get_data_parts(list(done.status.message.parts))
    assert (
        data["text"]
        == "The understudy of Emily Carter: Emily Carter declined to answer your question."
    )
    assert data["status"] == "declined"
    whole = as_json(done).lower()
    assert "hr lead" not in whole  # the owner's reason is hers
    assert hr_phrase(demo).lower() not in whole
    assert list(done.artifacts) == []


def test_nobody_else_can_read_the_settled_answer(
    server: str, demo: Path, approvals: Approvals
) -> None:
    task, action_id = queue(server, demo, "private")
    approvals("approve", str(action_id))
    with pytest.raises(A2AError, match="not found"):
        run(get_task(server, HR_STAFF, token(demo, CTO), task.id))


def test_a_long_task_also_waits_then_completes(
    server: str, demo: Path, approvals: Approvals
) -> None:
    ceo = token(demo, CEO)
    task = run(send_task(server, HR_STAFF, ceo, f"{HR_QUESTION} (long)"))
    for _ in range(300):
        if task.status.state == WAITING:
            break
        task = run(get_task(server, HR_STAFF, ceo, task.id))
    assert task.status.state == WAITING
    approvals("approve", str(int(task.status.message.metadata[AWAITING])))
    done = run(get_task(server, HR_STAFF, ceo, task.id))
    assert done.status.state == TaskState.TASK_STATE_COMPLETED
    assert answer_of(done)["status"] == "answered"


def test_an_answered_question_is_still_a_message(server: str, demo: Path) -> None:
    reply = run(send(server, HR_STAFF, token(demo, HR_STAFF), HR_QUESTION))
    assert isinstance(reply, Message)


def test_more_words_on_a_waiting_task_keep_it_waiting_for_the_same_decision(
    server: str, demo: Path, approvals: Approvals
) -> None:
    task, action_id = queue(server, demo, "nudged")
    ceo = token(demo, CEO)
    nudge = message("Any news?")
    nudge.task_id, nudge.context_id = task.id, task.context_id

    async def send_more() -> Task:
        async with a2a_client(server, HR_STAFF, ceo) as client:
            async for event in client.send_message(SendMessageRequest(message=nudge)):
                if event.HasField("task"):
                    return event.task
        raise AssertionError("no task")

    still = run(send_more())
    assert still.status.state == WAITING
    assert int(still.status.message.metadata[AWAITING]) == action_id
    with opened(demo) as store:
        mine = [a for a in store.list_actions(owner=HR_STAFF) if a.requested_by == CEO]
    assert [a.payload["question"] for a in mine].count("Any news?") == 0
    approvals("approve", str(action_id))
    done = run(get_task(server, HR_STAFF, ceo, task.id))
    assert done.status.state == TaskState.TASK_STATE_COMPLETED
