"""The agent's commands end to end: ask, token, approvals, audit, policy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.agent import acme
from understudy.agent import verify_token
from understudy.cli import main
from understudy.settings import Settings
from understudy.store import Store, open_store


@pytest.fixture(scope="module")
def loaded_home(tmp_path_factory: pytest.TempPathFactory, acme_files: acme.Files) -> Path:
    """Return an UNDERSTUDY_HOME whose SQLite store holds Acme, built once per module."""
    home = tmp_path_factory.mktemp("cli-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UNDERSTUDY_HOME", str(home))
        store = open_store(Settings.load())
        acme.load(store, acme_files)
        store.put_policy("hana", {"sharing": [{"who": ["group:hr"]}]})
        store.close()
    return home


@pytest.fixture
def configured(loaded_home: Path, home: Path) -> Path:
    """Give this test its own copy of the loaded home; return it."""
    shutil.copytree(loaded_home, home)
    return home


class Run:
    """Run the CLI and keep what it printed."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *args: str, code: int = 0) -> tuple[str, str]:
        self.capsys.readouterr()
        assert main(list(args)) == code, self.capsys.readouterr()
        captured = self.capsys.readouterr()
        return captured.out, captured.err

    def json(self, *args: str) -> object:
        out, _ = self(*args)
        return json.loads(out)


@pytest.fixture
def cli(configured: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    """Return a runner of the CLI over Acme."""
    return Run(capsys)


def store() -> Store:
    """Open the store the CLI uses."""
    return open_store(Settings.load())


def flat(text: str) -> str:
    """Return printed text with Rich's line wrapping undone."""
    return " ".join(text.split())


def test_ask_another_persons_understudy(cli: Run) -> None:
    out, _ = cli("ask", "When is the Atlas launch?", "--as", "Ravi Shah", "--to", "maya")
    assert flat(out).startswith("The understudy of Maya Okafor: ")
    assert "March 3" in out
    assert "Atlas launch date (email #" in out


def test_ask_someone_who_shares_nothing_is_declined(cli: Run) -> None:
    data = cli.json("ask", "When is the Atlas launch?", "--as", "omar", "--to", "maya", "--json")
    assert data["status"] == "declined"  # type: ignore[index]
    assert data["from"] == "the understudy of Maya Okafor"  # type: ignore[index]
    assert data["citations"] == []  # type: ignore[index]
    out, _ = cli("approvals", "--for", "maya")
    assert "answer_question" in out
    assert "omar" in out


def test_ask_the_organization_as_json(cli: Run) -> None:
    data = cli.json("ask", "When does the Atlas launch happen?", "--as", "maya", "--org", "--json")
    assert isinstance(data, dict)
    assert {"ravi", "lena"} <= set(data["asked"])
    owners = [a["owner"] for a in data["answers"]]
    assert "ravi" in owners
    for answer in data["answers"]:
        assert answer["text"].startswith("The understudy of ")
        assert answer["citations"]
    assert data["unanswered"] == []


def test_token_prints_a_token_the_store_accepts(cli: Run) -> None:
    out, _ = cli("token", "ravi@acme.example", "--days", "2")
    caller = verify_token(store(), out.strip())
    assert caller.person == "ravi"
    assert not caller.agent
    _, err = cli("token", "nobody", code=4)
    assert flat(err) == "Error: no person 'nobody'; run 'understudy people' to see who is known"


def queued(cli: Run, text: str) -> int:
    """Have Maya queue something through the CLI; return the action id."""
    data = cli.json("ask", text, "--as", "maya", "--json")
    assert data["status"] == "queued"  # type: ignore[index]
    return int(data["actions"][0]["id"])  # type: ignore[index]


def test_approvals_list_approve_edit_reject(cli: Run, configured: Path) -> None:
    send = queued(cli, "Send Ravi a note saying the launch is confirmed")
    task = queued(cli, "Create a task to review the Atlas budget for Lena")
    meeting = queued(cli, "Schedule a meeting with Lena about pricing")
    rows = cli.json("approvals", "--for", "maya", "--json")
    assert [r["id"] for r in rows] == [meeting, task, send]  # type: ignore[union-attr]
    out, _ = cli("approvals")
    assert "3 actions waiting" in out
    assert "the launch is confirmed" in flat(out)

    out, _ = cli("approvals", "edit", str(send), "--text", "Launch confirmed: March 3.")
    assert flat(out).startswith(f"Action {send}: done — written to ")
    (eml,) = (configured / "outbox").glob("*.eml")
    assert "Launch confirmed: March 3." in eml.read_text()

    out, _ = cli("approvals", "approve", str(task))
    assert flat(out).startswith(f"Action {task}: done — added to ")
    out, _ = cli("approvals", "reject", str(meeting), "--reason", "not now")
    assert flat(out) == f"Action {meeting}: rejected"
    assert cli.json("approvals", "--json") == []


def test_approvals_refuse_the_wrong_person_and_a_second_decision(cli: Run) -> None:
    send = queued(cli, "Send Ravi a note saying the launch is confirmed")
    _, err = cli("approvals", "approve", str(send), "--as", "ravi", code=5)
    assert flat(err) == f"Error: action {send} belongs to maya; only they may decide it"
    cli("approvals", "approve", str(send))
    _, err = cli("approvals", "reject", str(send), code=2)
    assert flat(err) == f"Error: action {send} is already done"
    _, err = cli("approvals", "approve", "9999", code=4)
    assert flat(err) == "Error: no action 9999; run 'understudy approvals' to see the queue"


def test_audit_for_a_person_as_json(cli: Run) -> None:
    cli("ask", "When is the Atlas launch?", "--as", "ravi", "--to", "maya")
    events = cli.json("audit", "--for", "ravi", "--json")
    assert isinstance(events, list)
    assert [e["event"] for e in events[:3]] == ["disclose", "read", "request"]
    disclose = events[0]
    assert (disclose["actor"], disclose["for"], disclose["disclosed_to"]) == (
        "ravi",
        "maya",
        "ravi",
    )
    assert disclose["items"]
    out, _ = cli("audit", "--for", "ravi")
    assert "Audit log of ravi" in out
    assert "disclose" in out


def test_an_askers_questions_wait_then_carry_the_owners_answer(cli: Run) -> None:
    out, _ = cli("questions", "--as", "omar")
    assert flat(out) == "No questions of yours wait for anyone, or were answered."
    data = cli.json("ask", "When is the Atlas launch?", "--as", "omar", "--to", "maya", "--json")
    queued = data["actions"][0]["id"]  # type: ignore[index]
    out, _ = cli("questions", "--as", "Omar Diaz")
    assert flat(out).startswith(f"#{queued} to maya (waiting, asked ")
    assert "When is the Atlas launch?" in out
    cli("approvals", "approve", str(queued))
    found = cli.json("questions", "--as", "omar", "--json")
    assert isinstance(found, list)
    assert len(found) == 1
    answer = found[0]["answer"]
    assert found[0]["state"] == answer["status"] == "answered"
    assert answer["text"].startswith("The understudy of Maya Okafor: With Maya Okafor's approval")
    assert "March 3" in answer["text"]
    assert answer["citations"]
    out, _ = cli("questions", "--as", "omar")
    assert "Atlas launch date (email #" in out
    # Maya asked nothing; Omar's question is not hers to see here.
    assert cli.json("questions", "--as", "maya", "--json") == []


def test_policy_show_and_set(cli: Run, tmp_path: Path) -> None:
    shown = cli.json("policy", "show", "--for", "omar")
    assert shown == {
        "autonomy": {},
        "sharing": [{"who": ["group:everyone"], "kinds": list(acme_kinds()), "projects": []}],
        "queue_declined": True,
        "precision": 0.95,
    }
    path = tmp_path / "policy.json"
    path.write_text(
        json.dumps({"autonomy": {"send": "suggest"}, "sharing": [{"who": ["group:exec"]}]})
    )
    out, _ = cli("policy", "set", "--for", "Omar Diaz", str(path))
    assert flat(out) == "Policy of omar saved."
    shown = cli.json("policy", "show", "--for", "omar")
    assert shown["autonomy"] == {"send": "suggest"}  # type: ignore[index]
    assert [r["who"] for r in shown["sharing"]] == [["group:exec"]]  # type: ignore[index]


def acme_kinds() -> tuple[str, ...]:
    """Return every item kind, the default of a sharing rule."""
    from understudy.records import ITEM_KINDS

    return ITEM_KINDS


def test_a_file_that_is_not_json_is_one_clear_line(cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text('{"autonomy": {"send": "act"},,}')
    _, err = cli("policy", "set", "--for", "maya", str(path), code=2)
    assert len(err.strip().splitlines()) == 1
    assert flat(err).startswith(f"Error: {path}: not a readable JSON policy (")
    _, err = cli("policy", "set", "--for", "maya", str(tmp_path / "missing.json"), code=2)
    assert flat(err).startswith(f"Error: {tmp_path / 'missing.json'}: not a readable JSON policy")


@pytest.mark.parametrize(
    "content",
    [
        {"autonomy": {"send": "yolo"}},
        {"sharing": [{"who": ["group:exec"], "kinds": ["fax"]}]},
        [{"who": "group:exec"}],
    ],
)
def test_a_policy_with_a_wrong_field_names_the_file_and_the_field(
    cli: Run, tmp_path: Path, content: object
) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(content))
    _, err = cli("policy", "set", "--for", "maya", str(path), code=2)
    assert len(err.strip().splitlines()) == 1
    assert str(path) in err


def test_a_policy_with_a_wrong_field_is_one_line_and_changes_nothing(
    cli: Run, tmp_path: Path
) -> None:
    before = cli.json("policy", "show", "--for", "maya")
    for content in (
        {"autonomy": {"send": "yolo"}},
        {"sharing": [{"who": ["group:exec"], "kinds": ["fax"]}]},
        {"sharing": ["group:exec"]},
        [{"who": "group:exec"}],
        {"precision": "high"},
    ):
        path = tmp_path / "policy.json"
        path.write_text(json.dumps(content))
        _, err = cli("policy", "set", "--for", "maya", str(path), code=2)
        assert len(err.strip().splitlines()) == 1, err
        assert flat(err).startswith(f"Error: {path}: policy of maya: ")
    assert cli.json("policy", "show", "--for", "maya") == before
