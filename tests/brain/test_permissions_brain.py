"""Property tests: search, answers, experts and the project pulse never return, cite
or quote an item the principal may not read, whatever the readers, groups and askers.

Every item carries a secret token of its own, in its title and body. An item a
principal may not read must not show up by id (results, citations, evidence,
pulse entries) nor by its token (answer text, snippets, thread subjects). Items
of earlier examples stay in the store, so each check also runs against
everything loaded before, and the oracle covers it all.
"""

from __future__ import annotations

import itertools
import json
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from understudy.brain import chunk_pending
from understudy.brain.answers import answer_question
from understudy.brain.embeddings import HashEmbedder, embed_pending
from understudy.brain.experts import find_experts
from understudy.brain.pulse import project_pulse
from understudy.brain.search import Searcher
from understudy.records import Decision, Group, Item, Person, Principal, Project, Source
from understudy.store import Store
from understudy.store.vectors import IndexOptions

PEOPLE = [f"p{n}" for n in range(5)]
GROUPS = [f"g{n}" for n in range(3)]
PROJECTS = [f"j{n}" for n in range(2)]
KINDS = ["document", "task", "email", "message"]
READERS = (
    [f"person:{p}" for p in PEOPLE]
    + [f"group:{g}" for g in GROUPS]
    + [f"project:{j}" for j in PROJECTS]
    + ["group:everyone"]
)
SINCE = datetime(2026, 3, 1, tzinfo=UTC)
UNTIL = datetime(2026, 4, 1, tzinfo=UTC)
QUESTION = "What is the secret code word of the budget review plan?"
_counter = itertools.count()


@dataclass(frozen=True)
class Spec:
    """One item of a world, before its names are scoped to the example."""

    readers: frozenset[str]
    kind: str
    project: str | None
    author: str
    recipients: frozenset[str]
    deciders: frozenset[str]


@dataclass
class World:
    external: set[str]
    members: dict[str, set[str]]  # group -> people
    parents: dict[str, set[str]]  # group -> parent groups
    project_members: dict[str, set[str]]
    project_groups: dict[str, set[str]]
    items: list[Spec]
    asker: list[str]


@dataclass(frozen=True)
class Loaded:
    """What the oracle knows of one stored item."""

    item_id: int
    readers: frozenset[str]
    token: str
    people: frozenset[str]  # author, recipients and deciders, scoped


@dataclass
class Ledger:
    """Every item loaded into one store, across examples."""

    items: list[Loaded] = field(default_factory=list)


_ledgers: weakref.WeakKeyDictionary[Store, Ledger] = weakref.WeakKeyDictionary()


def _subsets(pool: list[str]) -> st.SearchStrategy[set[str]]:
    return st.sets(st.sampled_from(pool), max_size=len(pool))


specs = st.builds(
    Spec,
    readers=st.frozensets(st.sampled_from(READERS), max_size=3),
    kind=st.sampled_from(KINDS),
    project=st.sampled_from([None, *PROJECTS]),
    author=st.sampled_from(PEOPLE),
    recipients=st.frozensets(st.sampled_from(PEOPLE), max_size=2),
    deciders=st.frozensets(st.sampled_from(PEOPLE), max_size=2),
)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    return World(
        external=draw(_subsets(PEOPLE)),
        members={g: draw(_subsets(PEOPLE)) for g in GROUPS},
        parents={g: draw(_subsets(GROUPS)) for g in GROUPS},
        project_members={j: draw(_subsets(PEOPLE)) for j in PROJECTS},
        project_groups={j: draw(_subsets(GROUPS)) for j in PROJECTS},
        items=draw(st.lists(specs, min_size=1, max_size=8)),
        asker=draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=2, unique=True)),
    )


def _groups_of(world: World, person: str) -> set[str]:
    found = {g for g, members in world.members.items() if person in members}
    while True:
        wider = found | {p for g in found for p in world.parents[g]}
        if wider == found:
            return found
        found = wider


def _principals(world: World, tag: str, person: str) -> set[str]:
    """Return the scoped reader principals ``person`` holds in ``world``."""
    groups = _groups_of(world, person)
    names = {f"person:{tag}-{person}"} | {f"group:{tag}-{g}" for g in groups}
    if person not in world.external:
        names.add("group:everyone")
    for project in PROJECTS:
        if person in world.project_members[project] or groups & world.project_groups[project]:
            names.add(f"project:{tag}-{project}")
    return names


def _scoped(tag: str, reader: str) -> str:
    kind, _, ident = reader.partition(":")
    return reader if ident == "everyone" else f"{kind}:{tag}-{ident}"


def _directory(store: Store, world: World, tag: str) -> None:
    for group in GROUPS:
        store.upsert_group(
            Group(
                id=f"{tag}-{group}",
                name=group,
                members=tuple(f"{tag}-{p}" for p in sorted(world.members[group])),
                parents=tuple(f"{tag}-{g}" for g in sorted(world.parents[group])),
            )
        )
    for person in PEOPLE:
        store.upsert_person(
            Person(id=f"{tag}-{person}", name=f"{person} {tag}", external=person in world.external)
        )
    for project in PROJECTS:
        store.upsert_project(
            Project(
                id=f"{tag}-{project}",
                name=f"Proj{tag}{project}",
                members=tuple(f"{tag}-{p}" for p in sorted(world.project_members[project])),
                groups=tuple(f"{tag}-{g}" for g in sorted(world.project_groups[project])),
            )
        )


def _item(source_id: int, tag: str, n: int, spec: Spec) -> Item:
    token = f"tok{tag}x{n}"
    project = f"Proj{tag}{spec.project}" if spec.project else "General"
    body = (
        f"The budget review plan for {project} is ready for approval this week. "
        f"The secret code word of this budget review plan is {token} and nobody else has it. "
        f"Budget review notes repeat that the plan hinges on {token} for the review."
    )
    metadata: dict[str, object] = {}
    if spec.kind == "task":
        metadata = {"status": "open", "due_date": "2026-03-10"}
    elif spec.kind == "message":
        metadata = {"channel": project}
    return Item(
        source_id=source_id,
        external_id=f"{tag}-{n}",
        kind=spec.kind,
        timestamp=SINCE + timedelta(days=1 + n),
        readers=frozenset(_scoped(tag, r) for r in spec.readers),
        title=f"{project} budget review {token}",
        body=body,
        author=f"{tag}-{spec.author}",
        recipients=tuple(sorted(f"{tag}-{p}" for p in spec.recipients)),
        thread_id=f"{tag}-thread-{n % 2}",
        project=f"{tag}-{spec.project}" if spec.project else None,
        metadata=metadata,
    )


def _load(store: Store, world: World, tag: str) -> list[Loaded]:
    _directory(store, world, tag)
    source = store.add_source(Source(kind="files", location=f"/{tag}"))
    assert source.id is not None
    items = [_item(source.id, tag, n, spec) for n, spec in enumerate(world.items)]
    ids = store.put_items(items).ids
    chunk_pending(store)
    embed_pending(store, HashEmbedder())
    store.add_decisions(
        [
            Decision(person=f"{tag}-{p}", item_id=item_id, action="reply", at=SINCE)
            for item_id, spec in zip(ids, world.items, strict=True)
            for p in sorted(spec.deciders)
        ]
    )
    return [
        Loaded(
            item_id=item_id,
            readers=item.readers,
            token=f"tok{tag}x{n}",
            people=frozenset(
                {item.author or "", *item.recipients, *(f"{tag}-{p}" for p in spec.deciders)}
            ),
        )
        for n, (item_id, item, spec) in enumerate(zip(ids, items, world.items, strict=True))
    ]


def _check_world(store: Store, world: World) -> None:
    tag = f"b{next(_counter)}"
    ledger = _ledgers.setdefault(store, Ledger())
    ledger.items.extend(_load(store, world, tag))
    held = [_principals(world, tag, person) for person in world.asker]
    readable = {i.item_id for i in ledger.items if all(i.readers & names for names in held)}
    secrets = [i.token for i in ledger.items if i.item_id not in readable]
    principal = Principal.all_of(*(f"{tag}-{p}" for p in world.asker))
    searcher = Searcher(store, HashEmbedder())

    def leaks(text: str) -> list[str]:
        return [token for token in secrets if token in text]

    query = "budget review plan secret"
    candidates = searcher.keyword(principal, query, 200) + searcher.vector(principal, query, 200)
    assert {hit.item_id for hit in candidates} <= readable
    assert not leaks(" ".join(hit.snippet for hit in candidates))
    for mode in ("keyword", "vector", "hybrid"):
        results = searcher.search(principal, query, limit=50, mode=mode)
        assert {r.item.id for r in results} <= readable, mode
        assert not leaks(" ".join(f"{r.snippet} {r.item.title} {r.item.body}" for r in results))
        assert bool(results) == bool(readable), mode

    answer = answer_question(searcher, principal, QUESTION)
    assert set(answer.items) <= readable
    assert not leaks(json.dumps(answer.as_dict()))

    experts = find_experts(searcher, principal, "budget review plan", include_external=True)
    linked = {p for i in ledger.items if i.item_id in readable for p in i.people}
    for expert in experts:
        assert set(expert.wrote) | set(expert.handled) <= readable
        assert expert.person in linked

    for project in PROJECTS:
        pulse = project_pulse(store, principal, f"{tag}-{project}", SINCE, UNTIL)
        shown = pulse.documents + pulse.slipping + pulse.changed_tasks
        assert {i.id for i in shown} <= readable
        assert {d.item_id for d in pulse.decisions} <= readable
        assert not leaks(json.dumps(pulse.as_dict()))
        expected_documents = {
            loaded.item_id
            for loaded, spec in zip(ledger.items[-len(world.items) :], world.items, strict=True)
            if spec.kind == "document" and spec.project == project and loaded.item_id in readable
        }
        assert {d.id for d in pulse.documents} == expected_documents


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(world=worlds())
def test_brain_never_shows_what_the_principal_may_not_read(store: Store, world: World) -> None:
    _check_world(store, world)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(world=worlds())
def test_brain_permissions_hold_on_the_hnsw_index(store: Store, world: World) -> None:
    store.vector_options = IndexOptions("hnsw", save_above=20)
    _check_world(store, world)


@pytest.mark.postgres
@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(world=worlds())
def test_brain_permissions_hold_on_pgvector(pgvector_store: Store, world: World) -> None:
    _check_world(pgvector_store, world)
