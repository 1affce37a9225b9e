"""The store suite: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from understudy.errors import NotFound
from understudy.records import (
    Action,
    AuditEvent,
    Decision,
    Group,
    Item,
    Person,
    Prediction,
    Principal,
    Project,
    Source,
)
from understudy.store import ChunkDraft, ItemFilter, Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _org(store: Store) -> int:
    store.upsert_group(Group(id="hr", name="HR"))
    store.upsert_group(Group(id="exec", name="Executives", parents=("leadership",)))
    store.upsert_group(Group(id="leadership", name="Leadership"))
    store.upsert_person(
        Person(id="ann", name="Ann Lee", emails=("ann@co.example",), groups=("hr",))
    )
    store.upsert_person(
        Person(id="bo", name="Bo Park", emails=("bo@co.example",), groups=("exec",))
    )
    store.upsert_person(Person(id="cy", name="Cy Diaz", emails=("cy@co.example",)))
    store.upsert_project(Project(id="atlas", name="Atlas", members=("cy",), groups=("leadership",)))
    source = store.add_source(Source(kind="files", location="/data/docs", owner="ann"))
    assert source.id is not None
    return source.id


def _item(source_id: int, n: int, readers: set[str], **fields: object) -> Item:
    base = Item(
        source_id=source_id,
        external_id=f"doc-{n}",
        kind="document",
        timestamp=T0 + timedelta(hours=n),
        readers=frozenset(readers),
        title=f"Quarterly budget {n}",
        body=f"The budget for region {n} grew by {n} percent.",
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def test_migrations_are_recorded_in_order(store: Store) -> None:
    names = store.migrations()
    assert names[:3] == ["0001_directory", "0002_items", "0003_records"]
    assert "0005_models" in names
    assert names == sorted(names)


def test_reading_the_same_items_twice_adds_nothing(store: Store) -> None:
    source = _org(store)
    items = [_item(source, n, {"person:ann"}) for n in range(5)]
    first = store.put_items(items)
    second = store.put_items(items)
    assert (first.added, second.added, second.unchanged) == (5, 0, 5)
    assert first.ids == second.ids
    assert store.count_items(Principal.maintenance()) == {"document": 5}


def test_nul_characters_are_dropped_alike_on_both_backends(store: Store) -> None:
    source = _org(store)
    hostile = _item(
        source,
        1,
        {"person:ann"},
        external_id="doc\x00-1",
        title="Bud\x00get",
        body="grew\x00 by 3 percent",
        metadata={"note\x00": ["a\x00b", {"c": "d\x00"}]},
    )
    first = store.put_items([hostile])
    again = store.put_items([hostile])
    assert (first.added, again.added, again.unchanged) == (1, 0, 1)
    (stored,) = store.get_items(Principal.person("ann"), first.ids)
    assert (stored.external_id, stored.title, stored.body) == (
        "doc-1",
        "Budget",
        "grew by 3 percent",
    )
    assert stored.metadata == {"note": ["ab", {"c": "d"}]}


def test_changed_content_becomes_a_new_version_that_supersedes(store: Store) -> None:
    source = _org(store)
    old = _item(source, 1, {"person:ann"})
    store.put_items([old])
    result = store.put_items([replace(old, body="Revised: the budget shrank.")])
    assert (result.added, result.superseded) == (1, 1)
    current = store.list_items(Principal.person("ann"))
    assert [i.body for i in current] == ["Revised: the budget shrank."]
    history = store.list_items(Principal.person("ann"), current_only=False)
    assert len(history) == 2


def test_reads_only_return_what_the_principal_may_read(store: Store) -> None:
    source = _org(store)
    store.put_items(
        [
            _item(source, 1, {"person:ann"}),
            _item(source, 2, {"group:hr"}),
            _item(source, 3, {"group:leadership"}),
            _item(source, 4, {"project:atlas"}),
            _item(source, 5, {"group:everyone"}),
        ]
    )

    def seen(*people: str) -> list[str]:
        items = store.list_items(Principal.all_of(*people), newest_first=False)
        return [i.external_id for i in items]

    assert seen("ann") == ["doc-1", "doc-2", "doc-5"]
    # bo is in exec, which sits inside leadership, which may read atlas
    assert seen("bo") == ["doc-3", "doc-4", "doc-5"]
    assert seen("cy") == ["doc-4", "doc-5"]
    assert seen("ann", "bo") == ["doc-5"]
    assert store.get_item(Principal.person("cy"), 1) is None


def test_item_heads_match_the_items_and_their_readers(store: Store) -> None:
    source = _org(store)
    result = store.put_items(
        [
            _item(source, 1, {"person:ann"}, author="ann", thread_id="t-1"),
            _item(
                source,
                2,
                {"group:everyone"},
                metadata={"author_name": "Ann Lee", "message_id": "<m2@co.example>"},
            ),
            _item(source, 3, {"group:leadership"}, project="atlas"),
        ]
    )
    first, second, third = result.ids
    everything = [third, 999_999, first, second, first]
    heads = store.item_heads(Principal.person("ann"), everything)
    assert [h.id for h in heads] == [first, second]  # readable ones, in the order asked
    items = {i.id: i for i in store.get_items(Principal.person("ann"), everything)}
    for head in heads:
        item = items[head.id]
        assert (head.external_id, head.kind, head.title, head.author, head.thread_id) == (
            item.external_id,
            item.kind,
            item.title,
            item.author,
            item.thread_id,
        )
        assert head.timestamp == item.timestamp
        assert head.project == item.project
    assert (heads[0].author_name, heads[0].message_id) == (None, None)
    assert (heads[1].author_name, heads[1].message_id) == ("Ann Lee", "<m2@co.example>")
    assert [h.id for h in store.item_heads(Principal.person("bo"), everything)] == [
        third,
        second,
    ]
    assert store.item_heads(Principal.person("cy"), [first]) == []


def test_external_people_are_not_everyone(store: Store) -> None:
    source = _org(store)
    store.put_items([_item(source, 1, {"group:everyone"})])
    ids = store.ensure_people({"stranger@elsewhere.example": "Stranger"})
    stranger = ids["stranger@elsewhere.example"]
    assert store.list_items(Principal.person(stranger)) == []
    assert len(store.list_items(Principal.person("cy"))) == 1


def test_a_declared_person_keeps_items_addressed_to_their_old_mail_id(store: Store) -> None:
    source = _org(store)
    found = store.ensure_people({"dee@co.example": "Dee"})
    store.put_items([_item(source, 1, {f"person:{found['dee@co.example']}"})])
    store.upsert_person(Person(id="dee", name="Dee Fox", emails=("dee@co.example",)))
    assert [i.external_id for i in store.list_items(Principal.person("dee"))] == ["doc-1"]
    person = store.get_person("dee@co.example")
    assert person is not None
    assert person.id == "dee"
    assert store.find_person("DEE@co.example").name == "Dee Fox"


def test_title_contains_is_case_blind_and_takes_wildcards_literally(store: Store) -> None:
    source = _org(store)
    titles = ["Atlas launch", "RE: atlas dates", "Atlas_v2 100% done", "Atlasv2 100 percent"]
    store.put_items(
        [_item(source, n, {"group:everyone"}, title=t) for n, t in enumerate(titles, start=1)]
    )
    me = Principal.person("cy")

    def titled(text: str) -> list[str]:
        found = store.list_items(me, ItemFilter(title_contains=text), newest_first=False)
        return [i.title for i in found]

    assert titled("ATLAS") == titles
    assert titled("atlas_v2") == ["Atlas_v2 100% done"]
    assert titled("100%") == ["Atlas_v2 100% done"]
    assert titled("%") == ["Atlas_v2 100% done"]
    assert titled("nothing like it") == []


def test_item_filters(store: Store) -> None:
    source = _org(store)
    store.put_items(
        [
            _item(source, 1, {"group:everyone"}, project="atlas"),
            _item(source, 2, {"group:everyone"}, kind="email", author="bo", recipients=("cy",)),
            _item(source, 3, {"group:everyone"}, kind="email", author="cy", thread_id="t1"),
        ]
    )
    me = Principal.person("cy")
    assert [i.external_id for i in store.list_items(me, ItemFilter(project="atlas"))] == ["doc-1"]
    emails = store.list_items(me, ItemFilter(kinds=("email",)), newest_first=False)
    assert [i.external_id for i in emails] == ["doc-2", "doc-3"]
    mine = store.list_items(me, ItemFilter(person="cy"), newest_first=False)
    assert [i.external_id for i in mine] == ["doc-2", "doc-3"]
    later = store.list_items(me, ItemFilter(since=T0 + timedelta(minutes=150)))
    assert [i.external_id for i in later] == ["doc-3"]
    assert [i.external_id for i in store.list_items(me, ItemFilter(thread_id="t1"))] == ["doc-3"]


def test_keyword_search_respects_readers(store: Store) -> None:
    source = _org(store)
    result = store.put_items([_item(source, 1, {"group:hr"}), _item(source, 2, {"group:everyone"})])
    store.put_chunks(
        [
            ChunkDraft(item_id, 0, "Quarterly budget", "salary budget review")
            for item_id in result.ids
        ]
    )
    hr = store.search_text(Principal.person("ann"), "salary budget")
    staff = store.search_text(Principal.person("cy"), "salary budget")
    assert {h.item_id for h in hr} == set(result.ids)
    assert [h.item_id for h in staff] == [result.ids[1]]
    assert "salary" in staff[0].snippet
    assert store.search_text(Principal.person("cy"), "!!! ???") == []


def test_search_text_takes_hostile_query_text_as_words(store: Store) -> None:
    source = _org(store)
    result = store.put_items([_item(source, 1, {"group:everyone"})])
    store.put_chunks([ChunkDraft(result.ids[0], 0, "t", "drop table items")])
    hits = store.search_text(Principal.person("cy"), "'; DROP TABLE items; -- \" OR NEAR(")
    assert [h.item_id for h in hits] == result.ids
    assert store.count_items(Principal.maintenance()) == {"document": 1}


def test_vector_search_filters_before_ranking(store: Store) -> None:
    source = _org(store)
    result = store.put_items(
        [_item(source, n, {"group:hr" if n < 8 else "person:cy"}) for n in range(10)]
    )
    store.put_chunks([ChunkDraft(i, 0, "t", f"text {i}") for i in result.ids])
    rng = np.random.default_rng(3)
    missing = store.chunks_missing_embeddings("test")
    assert len(missing) == 10
    vectors = {digest: rng.normal(size=384).astype(np.float32) for digest, _ in missing}
    store.put_embeddings("test", list(vectors.items()))
    assert store.chunks_missing_embeddings("test") == []
    query = next(iter(vectors.values()))
    hits = store.search_vectors(Principal.person("cy"), "test", query, limit=5)
    assert {h.item_id for h in hits} == set(result.ids[8:])
    everything = store.search_vectors(Principal.person("ann"), "test", query, limit=3)
    assert len(everything) == 3
    assert everything[0].score == pytest.approx(1.0, abs=1e-5)


def test_decisions_are_not_duplicated(store: Store) -> None:
    source = _org(store)
    item_id = store.put_items([_item(source, 1, {"person:ann"})]).ids[0]
    decision = Decision(person="ann", item_id=item_id, action="reply", at=T0, latency_seconds=600)
    assert store.add_decisions([decision, decision]) == 1
    assert store.add_decisions([decision]) == 0
    correction = Decision(
        person="ann", item_id=item_id, action="ignore", at=T0, origin="correction"
    )
    assert store.add_decisions([correction]) == 1
    assert store.count_decisions() == {"ignore": 1, "reply": 1}
    [stored] = store.list_decisions(person="ann", actions=("reply",))
    assert stored.latency_seconds == 600


def test_sources_keep_cursor_and_errors(store: Store) -> None:
    _org(store)
    first = store.add_source(Source(kind="maildir", location="/m", owner="bo"))
    again = store.add_source(Source(kind="maildir", location="/m", owner="bo"))
    assert first.id == again.id
    assert first.id is not None
    store.save_cursor(first.id, {"files": {"a": 1}})
    store.record_source_error(first.id, "/m/cur/1", "truncated MIME")
    store.finish_sync(first.id, "/m/cur/1: truncated MIME")
    loaded = store.get_source(first.name)
    assert loaded.cursor == {"files": {"a": 1}}
    assert loaded.last_error == "/m/cur/1: truncated MIME"
    assert [e.location for e in store.source_errors(first.id)] == ["/m/cur/1"]
    with pytest.raises(NotFound, match="understudy sources"):
        store.get_source("nope")


def test_actions_predictions_and_audit(store: Store) -> None:
    action = store.add_action(
        Action(owner="ann", kind="send", payload={"to": "bo"}, requested_by="bo")
    )
    assert action.id is not None
    done = store.update_action(action.id, "approved", approved_by="ann")
    assert (done.state, done.approved_by) == ("approved", "ann")
    assert [a.id for a in store.list_actions(owner="ann", state="approved")] == [action.id]
    asked = [
        store.add_action(Action(owner=o, kind=k, payload={}, requested_by="cy")).id
        for o, k in (("ann", "answer_question"), ("bo", "answer_question"), ("ann", "send"))
    ]
    questions = store.list_actions(requested_by="cy", kind="answer_question")
    assert [a.id for a in questions] == [asked[1], asked[0]]
    assert [a.id for a in store.list_actions(requested_by="cy", limit=1)] == [asked[2]]
    assert store.list_actions(requested_by="bo", kind="answer_question") == []
    prediction = store.add_prediction(
        Prediction(
            person="ann", item_id=1, distribution={"reply": 0.8, "ignore": 0.2}, confidence=0.8
        )
    )
    latest = store.latest_prediction("ann", 1)
    assert latest is not None
    assert latest.distribution == {"reply": 0.8, "ignore": 0.2}
    assert prediction.id == latest.id
    event = store.append_audit(
        AuditEvent(
            actor="bo", event="ask", on_behalf_of="ann", items_read=(1, 2), disclosed_to="bo"
        )
    )
    assert [e.items_read for e in store.list_audit("bo")] == [(1, 2)]
    assert event.id is not None


def test_audit_log_is_append_only(store: Store) -> None:
    store.append_audit(AuditEvent(actor="bo", event="ask"))
    with pytest.raises(Exception, match="append-only"):
        store.db.execute("UPDATE audit_events SET actor = 'mallory'")
    with pytest.raises(Exception, match="append-only"):
        store.db.execute("DELETE FROM audit_events")
    assert [e.actor for e in store.list_audit()] == ["bo"]


def test_audit_events_appended_together_keep_their_order(store: Store) -> None:
    store.append_audit(AuditEvent(actor="ann", event="ask"))
    store.append_audits(
        [
            AuditEvent(actor="bo", event="request", request="When?", detail={"via": "a2a"}),
            AuditEvent(actor="bo", event="read", items_read=(3, 1)),
            AuditEvent(actor="bo", event="disclose", items_read=(3,), disclosed_to="bo"),
        ]
    )
    store.append_audits([])
    logged = list(reversed(store.list_audit()))
    assert [(e.actor, e.event) for e in logged] == [
        ("ann", "ask"),
        ("bo", "request"),
        ("bo", "read"),
        ("bo", "disclose"),
    ]
    assert logged[1].detail == {"via": "a2a"}
    assert logged[2].items_read == (3, 1)
    assert logged[3].disclosed_to == "bo"


def test_directory_lists(store: Store) -> None:
    _org(store)
    people = store.list_people()
    assert [p.id for p in people] == ["ann", "bo", "cy"]
    assert people[0].emails == ("ann@co.example",)
    assert people[1].groups == ("exec",)
    groups = {g.id: g for g in store.list_groups()}
    assert groups["exec"].parents == ("leadership",)
    [atlas] = store.list_projects()
    assert (atlas.members, atlas.groups) == (("cy",), ("leadership",))
    assert store.get_project("atlas").name == "Atlas"
    with pytest.raises(NotFound, match="understudy people"):
        store.find_person("nobody")


def test_pgvector_search_filters_inside_the_query(pgvector_store: Store) -> None:
    store = pgvector_store
    assert "0004_pgvector" in store.migrations()
    source = _org(store)
    result = store.put_items(
        [_item(source, n, {"group:hr" if n % 10 else "person:cy"}) for n in range(200)]
    )
    store.put_chunks([ChunkDraft(i, 0, "t", f"text {i}") for i in result.ids])
    rng = np.random.default_rng(5)
    missing = store.chunks_missing_embeddings("m")
    store.put_embeddings("m", [(d, rng.normal(size=384).astype(np.float32)) for d, _ in missing])
    hits = store.search_vectors(
        Principal.person("cy"), "m", rng.normal(size=384).astype(np.float32), 20
    )
    allowed = {result.ids[n] for n in range(0, 200, 10)}
    assert {h.item_id for h in hits} == allowed
