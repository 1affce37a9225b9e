"""A2A tasks kept in the store: scoped to their caller, listed a page at a time, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from a2a.server.context import ServerCallContext
from a2a.types import ListTasksRequest, Task, TaskState, TaskStatus
from a2a.utils.errors import InvalidParamsError

from tests.relay.clients import run
from understudy.agent.tokens import Caller
from understudy.relay.a2a_server import CallerUser
from understudy.relay.a2a_tasks import RELAY_TASKS, StoreTaskStore, ensure_task_table
from understudy.relay.deployment import Deployment
from understudy.settings import Settings


@pytest.fixture(params=["sqlite", "postgres"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    """Yield a deployment on each store, with the task table in place."""
    environ = {"UNDERSTUDY_HOME": str(tmp_path / "home"), "UNDERSTUDY_EMBEDDING_MODEL": "hash"}
    if request.param == "postgres":
        environ["UNDERSTUDY_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    opened = Deployment(Settings.load(environ), pool_size=2)
    with opened.store() as store:
        ensure_task_table(store.db)
    yield opened
    opened.close()


def _context(person: str, owner: str) -> ServerCallContext:
    return ServerCallContext(user=CallerUser(Caller(person), owner))


def _task(n: int, state: TaskState = TaskState.TASK_STATE_COMPLETED, context: str = "c1") -> Task:
    return Task(id=f"t{n}", context_id=context, status=TaskStatus(state=state))


def test_the_task_table_is_a_named_migration_applied_once(deployment: Deployment) -> None:
    with deployment.store() as store:
        assert ensure_task_table(store.db) is False
        names = store.migrations()
    assert RELAY_TASKS.name in names
    assert names == sorted(names)


def test_a_task_is_read_back_only_in_its_scope(deployment: Deployment) -> None:
    tasks = StoreTaskStore(deployment)
    ann = _context("ann", "bo")
    run(tasks.save(_task(1, TaskState.TASK_STATE_WORKING), ann))
    run(tasks.save(_task(1), ann))
    found = run(tasks.get("t1", ann))
    assert found is not None
    assert found.status.state == TaskState.TASK_STATE_COMPLETED
    assert run(tasks.get("t1", _context("cy", "bo"))) is None
    assert run(tasks.get("t1", _context("ann", "cy"))) is None
    run(tasks.delete("t1", _context("cy", "bo")))
    assert run(tasks.get("t1", ann)) is not None
    run(tasks.delete("t1", ann))
    assert run(tasks.get("t1", ann)) is None


def test_tasks_are_listed_newest_first_a_page_at_a_time(deployment: Deployment) -> None:
    tasks = StoreTaskStore(deployment)
    ann = _context("ann", "bo")
    for n in range(5):
        run(tasks.save(_task(n, context="c2" if n == 4 else "c1"), ann))
    run(tasks.save(_task(9, TaskState.TASK_STATE_FAILED), ann))
    run(tasks.save(_task(7), _context("cy", "bo")))
    first = run(tasks.list(ListTasksRequest(page_size=4), ann))
    assert first.total_size == 6
    assert [t.id for t in first.tasks] == ["t9", "t4", "t3", "t2"]
    second = run(tasks.list(ListTasksRequest(page_size=4, page_token=first.next_page_token), ann))
    assert [t.id for t in second.tasks] == ["t1", "t0"]
    assert second.next_page_token == ""
    failed = run(tasks.list(ListTasksRequest(status=TaskState.TASK_STATE_FAILED), ann))
    assert [t.id for t in failed.tasks] == ["t9"]
    assert [t.id for t in run(tasks.list(ListTasksRequest(context_id="c2"), ann)).tasks] == ["t4"]
    with pytest.raises(InvalidParamsError):
        run(tasks.list(ListTasksRequest(page_token="DROP TABLE"), ann))


def test_a_waiting_question_is_settled_only_in_its_askers_scope(deployment: Deployment) -> None:
    from a2a.types import Message, Part, Role

    from understudy.records import Action
    from understudy.relay.a2a_tasks import waiting_task

    with deployment.store() as store:
        action = store.add_action(
            Action("bo", "answer_question", {"question": "q?", "asker": "ann"}, "ann")
        )
    action_id = action.id or 0
    asked = Message(role=Role.ROLE_USER, message_id="m1", parts=[Part(text="q?")])
    said = Message(role=Role.ROLE_AGENT, message_id="m2", parts=[Part(text="passed on")])
    tasks = StoreTaskStore(deployment)
    ann, cy = _context("ann", "bo"), _context("cy", "bo")
    run(tasks.save(waiting_task("t1", "c1", asked, said, action_id), ann))
    # Someone else's task naming the same action is never settled from it.
    run(tasks.save(waiting_task("t2", "c1", asked, said, action_id), cy))
    waiting = TaskState.TASK_STATE_INPUT_REQUIRED
    assert run(tasks.get("t1", ann)).status.state == waiting  # type: ignore[union-attr]
    answer = {"from": "the understudy of Bo", "status": "answered", "text": "The answer."}
    with deployment.store() as store:
        store.update_action(action_id, "done", "bo", payload={**action.payload, "answer": answer})
    settled = run(tasks.get("t1", ann))
    assert settled is not None
    assert settled.status.state == TaskState.TASK_STATE_COMPLETED
    assert settled.status.message.parts[0].text == "The answer."
    assert [a.name for a in settled.artifacts] == ["answer"]
    assert [m.parts[0].text for m in settled.history] == ["q?", "passed on"]
    assert run(tasks.get("t2", cy)).status.state == waiting  # type: ignore[union-attr]
    listed = run(tasks.list(ListTasksRequest(status=waiting), cy))
    assert [t.id for t in listed.tasks] == ["t2"]
