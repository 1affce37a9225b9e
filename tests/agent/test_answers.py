"""Answers as the understudy: cited, read as the owner or as owner-and-asker, within sharing."""

from __future__ import annotations

import pytest

from tests.agent.acme import NOW, ask, titled
from understudy.agent import Intent, Origin, Request, Understudy
from understudy.agent.planning import _owner_knows_more
from understudy.brain.indexing import chunk_pending
from understudy.llm import FakeModelServer, Reply, ScriptedCall, get_model
from understudy.records import Item, Principal, Source
from understudy.settings import Settings
from understudy.store import Store


def cited_titles(store: Store, citations: list[dict[str, object]]) -> set[str]:
    """Return the titles of the cited items, checked against the store."""
    titles = set()
    for citation in citations:
        item = store.get_item(Principal.maintenance(), int(str(citation["item"])))
        assert item is not None
        assert item.title == citation["title"]
        titles.add(item.title)
    return titles


def test_the_owner_reads_as_the_owner_and_hears_the_understudy(shared_org: Store) -> None:
    response = ask(shared_org, "maya", "What are the proposed salary bands for 2026?")
    assert response.text.startswith("The understudy of Maya Okafor: ")
    assert response.speaker == "the understudy of Maya Okafor"
    assert "4 percent" in response.text
    assert "Salary review 2026" in cited_titles(shared_org, response.citations)
    assert set(response.items) >= {titled(shared_org, "Salary review 2026").id}


def test_a_colleague_gets_a_cited_answer_from_what_both_may_read(shared_org: Store) -> None:
    response = ask(shared_org, "ravi", "When is the Atlas launch?")
    assert response.status == "answered"
    assert response.text.startswith("The understudy of Maya Okafor: ")
    assert "March 3" in response.text
    titles = cited_titles(shared_org, response.citations)
    assert "Atlas launch date" in titles
    for citation in response.citations:
        item = shared_org.get_item(Principal.all_of("maya", "ravi"), int(citation["item"]))
        assert item is not None, f"{citation['title']} is not readable by both"


def test_what_only_the_owner_may_read_is_never_told_to_a_colleague(shared_org: Store) -> None:
    response = ask(shared_org, "ravi", "What are the proposed salary bands for 2026?")
    assert "4 percent" not in response.text
    assert "Salary review 2026" not in cited_titles(shared_org, response.citations)
    assert titled(shared_org, "Salary review 2026").id not in response.items
    assert response.status == "declined"
    assert "cannot share" in response.text


def test_what_only_the_colleague_may_read_is_not_used_either(shared_org: Store) -> None:
    # Ravi's private notes are his; Maya's understudy neither reads nor repeats them.
    notes = titled(shared_org, "Atlas benchmark notes", reader="ravi")
    for asker in ("ravi", "maya"):
        response = ask(
            shared_org, asker, "What is the Atlas cache hit rate on the benchmark cluster?"
        )
        assert "97 percent" not in response.text
        assert notes.id not in response.items
        assert "Atlas benchmark notes" not in cited_titles(shared_org, response.citations)


def test_kinds_the_sharing_rule_leaves_out_are_not_shared(shared_org: Store) -> None:
    # Engineering gets documents, mail and tasks; the chat and the calendar stay with Maya.
    own = ask(shared_org, "maya", "When is the Atlas demo?")
    assert any(c["kind"] == "message" for c in own.citations)
    assert "Juniper" in own.text
    chat = next(c for c in own.citations if c["kind"] == "message")
    # Both may read the chat; only the rule keeps it from Ravi.
    assert shared_org.get_item(Principal.all_of("maya", "ravi"), int(chat["item"])) is not None
    colleague = ask(shared_org, "ravi", "When is the Atlas demo?")
    assert all(c["kind"] in ("document", "email", "task") for c in colleague.citations)
    assert "Juniper" not in colleague.text


def test_projects_the_sharing_rule_names_bound_the_answer(org: Store) -> None:
    org.put_policy("maya", {"sharing": [{"who": ["group:engineering"], "projects": ["atlas"]}]})
    response = ask(org, "ravi", "When is the Atlas launch?")
    titles = cited_titles(org, response.citations)
    assert titles == {"Atlas plan"}
    assert "March 3" not in response.text  # only in mail outside the project


def test_a_status_for_a_colleague_keeps_to_the_shared_kinds(org: Store) -> None:
    own = ask(org, "maya", "What is the status of Atlas?")
    assert own.intent is Intent.STATUS
    assert "ATL-1" in own.text
    org.put_policy("maya", {"sharing": [{"who": ["group:engineering"], "kinds": ["document"]}]})
    colleague = ask(org, "ravi", "What is the status of Atlas?")
    assert "ATL-1" not in colleague.text
    assert "Atlas launch date" not in colleague.text
    assert all(c["kind"] == "document" for c in colleague.citations)


def test_someone_the_owner_shares_nothing_with_is_declined_and_queued(org: Store) -> None:
    response = ask(org, "omar", "When is the Atlas launch?")
    assert response.status == "declined"
    assert response.text == (
        "The understudy of Maya Okafor: I cannot share that with you. "
        "I have passed your question to Maya Okafor."
    )
    assert response.citations == []
    assert response.items == []
    (queued,) = org.list_actions(owner="maya", state="proposed")
    assert queued.kind == "answer_question"
    assert queued.requested_by == "omar"
    assert queued.payload["question"] == "When is the Atlas launch?"
    assert [a["id"] for a in response.actions] == [queued.id]


def test_without_queueing_a_declined_question_is_only_declined(org: Store) -> None:
    org.put_policy("maya", {**org.get_policy("maya"), "queue_declined": False})  # type: ignore[dict-item]
    response = ask(org, "omar", "When is the Atlas launch?")
    assert response.status == "declined"
    assert response.text == "The understudy of Maya Okafor: I cannot share that with you."
    assert org.list_actions(owner="maya") == []


@pytest.mark.parametrize(
    "text",
    ["Draft a reply to the salary review", "Send Lena the board deck", "Create a task for Ravi"],
)
def test_a_colleague_cannot_ask_for_drafts_or_actions(shared_org: Store, text: str) -> None:
    response = ask(shared_org, "ravi", text)
    assert response.status == "declined"
    assert [a["kind"] for a in response.actions] == ["answer_question"]
    (queued,) = [shared_org.get_action(a["id"]) for a in response.actions]
    assert (queued.requested_by, queued.state) == ("ravi", "proposed")


def test_company_data_is_read_for_a_colleague_only_when_rows_are_shared(
    org: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Everyone may read the offices table; Maya's rule for engineering leaves out rows.
    def rows_seen() -> str:
        call = ScriptedCall("query_data", {"table": "offices"})
        with FakeModelServer([Reply(tool_calls=(call,)), Reply("Lisbon.")]) as fake:
            monkeypatch.setenv("UNDERSTUDY_LLM_URL", fake.url)
            ask(org, "ravi", "How many desks are in Lisbon?", model=get_model(Settings.load()))
            return str(fake.requests[1].messages[-1]["content"])

    assert "cannot share: company data is not shared with you" in rows_seen()
    org.put_policy("maya", {"sharing": [{"who": ["group:engineering"], "kinds": ["row"]}]})
    assert "1 rows from offices" in rows_seen()


def test_an_understudy_named_by_email_keeps_its_owners_policy(shared_org: Store) -> None:
    # Omar may read the public chat, but Maya shares nothing with sales.
    understudy = Understudy(shared_org, "maya@acme.example", Settings.load(), now=NOW)
    assert understudy.owner == "maya"
    request = Request("maya", "omar", "When is the Atlas demo?", origin=Origin.COLLEAGUE)
    response = understudy.handle(request)
    assert response.status == "declined"
    assert "Juniper" not in response.text


def test_the_owners_copy_of_a_message_the_answer_found_is_not_hidden(org: Store) -> None:
    """Declining checks messages, not items: every mailbox holds its own copy of one mail."""
    source = org.add_source(Source(kind="files", location="/copies"))
    assert source.id is not None
    both, maya = frozenset({"person:maya", "person:ravi"}), frozenset({"person:maya"})
    mails = [
        ("copy-both", both, "<widget@acme.example>", "The zanzibar shipment clears customs."),
        ("copy-maya", maya, "<widget@acme.example>", "The zanzibar shipment clears customs."),
        ("pallets", maya, "<pallets@acme.example>", "Pallet costs rose again this quarter."),
    ]
    items = [
        Item(
            source_id=source.id,
            external_id=name,
            kind="email",
            timestamp=NOW,
            readers=readers,
            title="",
            body=body,
            metadata={"message_id": message},
        )
        for name, readers, message, body in mails
    ]
    shared, own_copy, pallets = org.put_items(items).ids
    chunk_pending(org)
    understudy = Understudy(org, "maya", Settings.load(), now=NOW)
    # Maya's own copy of the mail the answer found is the same message: nothing is hidden.
    assert not _owner_knows_more(understudy, "zanzibar shipment customs", {shared})
    # Her copy is hidden when the answer found no copy; so is a mail only she may read.
    assert _owner_knows_more(understudy, "zanzibar shipment customs", set())
    assert _owner_knows_more(understudy, "pallet costs", {shared, own_copy})
    assert not _owner_knows_more(understudy, "pallet costs", {pallets})
    assert not _owner_knows_more(understudy, "quokka", set())  # the owner knows nothing either
