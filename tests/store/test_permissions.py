"""Property tests: whatever the readers, groups and projects, a principal sees exactly
the items it may read — by listing, counting, fetching, keyword and vector search."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from understudy.records import Group, Item, Person, Principal, Project, Source
from understudy.store import ChunkDraft, ItemFilter, Store

PEOPLE = [f"p{n}" for n in range(5)]
GROUPS = [f"g{n}" for n in range(3)]
PROJECTS = [f"j{n}" for n in range(2)]
_counter = itertools.count()


@dataclass
class World:
    external: set[str]
    members: dict[str, set[str]]  # group -> people
    parents: dict[str, set[str]]  # group -> parent groups
    project_members: dict[str, set[str]]
    project_groups: dict[str, set[str]]
    readers: list[set[str]]
    asker: list[str]


def _subsets(pool: list[str]) -> st.SearchStrategy[set[str]]:
    return st.sets(st.sampled_from(pool), max_size=len(pool))


@st.composite
def worlds(draw: st.DrawFn) -> World:
    principals = (
        [f"person:{p}" for p in PEOPLE]
        + [f"group:{g}" for g in GROUPS]
        + [f"project:{j}" for j in PROJECTS]
        + ["group:everyone"]
    )
    return World(
        external=draw(_subsets(PEOPLE)),
        members={g: draw(_subsets(PEOPLE)) for g in GROUPS},
        parents={g: draw(_subsets(GROUPS)) for g in GROUPS},
        project_members={j: draw(_subsets(PEOPLE)) for j in PROJECTS},
        project_groups={j: draw(_subsets(GROUPS)) for j in PROJECTS},
        readers=draw(
            st.lists(st.sets(st.sampled_from(principals), max_size=3), min_size=1, max_size=8)
        ),
        asker=draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=2, unique=True)),
    )


def _groups_of(world: World, person: str) -> set[str]:
    found = {g for g, members in world.members.items() if person in members}
    while True:
        wider = found | {p for g in found for p in world.parents[g]}
        if wider == found:
            return found
        found = wider


def _principals(world: World, person: str) -> set[str]:
    groups = _groups_of(world, person)
    names = {f"person:{person}"} | {f"group:{g}" for g in groups}
    if person not in world.external:
        names.add("group:everyone")
    for project in PROJECTS:
        if person in world.project_members[project] or groups & world.project_groups[project]:
            names.add(f"project:{project}")
    return names


def _load(store: Store, world: World, tag: str) -> tuple[int, list[int]]:
    def name(x: str) -> str:
        return f"{tag}-{x}"

    def scoped(reader: str) -> str:
        kind, _, ident = reader.partition(":")
        return reader if ident == "everyone" else f"{kind}:{name(ident)}"

    for group in GROUPS:
        store.upsert_group(
            Group(
                id=name(group),
                name=group,
                members=tuple(name(p) for p in sorted(world.members[group])),
                parents=tuple(name(g) for g in sorted(world.parents[group])),
            )
        )
    for person in PEOPLE:
        store.upsert_person(Person(id=name(person), name=person, external=person in world.external))
    for project in PROJECTS:
        store.upsert_project(
            Project(
                id=name(project),
                name=project,
                members=tuple(name(p) for p in sorted(world.project_members[project])),
                groups=tuple(name(g) for g in sorted(world.project_groups[project])),
            )
        )
    source = store.add_source(Source(kind="files", location=f"/{tag}"))
    assert source.id is not None
    items = [
        Item(
            source_id=source.id,
            external_id=f"i{n}",
            kind="document",
            timestamp=datetime(2026, 1, 1, tzinfo=UTC),
            readers=frozenset(scoped(r) for r in readers),
            title=f"item {n}",
            body="quarterly secret plan",
        )
        for n, readers in enumerate(world.readers)
    ]
    ids = store.put_items(items).ids
    store.put_chunks([ChunkDraft(i, 0, "t", f"quarterly secret plan {i}") for i in ids])
    return source.id, ids


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(world=worlds())
def test_every_read_path_returns_exactly_the_readable_items(store: Store, world: World) -> None:
    tag = f"w{next(_counter)}"
    source_id, ids = _load(store, world, tag)
    allowed = [
        all(set(readers) & _principals(world, person) for person in world.asker)
        for readers in world.readers
    ]
    expected = {item_id for item_id, ok in zip(ids, allowed, strict=True) if ok}
    principal = Principal.all_of(*(f"{tag}-{p}" for p in world.asker))
    scope = ItemFilter(source_id=source_id)

    vector = np.ones(384, dtype=np.float32)
    missing = store.chunks_missing_embeddings("perm", limit=10_000)
    store.put_embeddings("perm", [(d, vector) for d, _ in missing])
    chunk_ids = [
        h.chunk_id for h in store.search_text(Principal.maintenance(), "secret", 1000, scope)
    ]

    def read_paths() -> dict[str, set[int | None]]:
        chunks = store.get_chunks(principal, chunk_ids)
        return {
            "listed": {i.id for i in store.list_items(principal, scope)},
            "fetched": {i.id for i in store.get_items(principal, ids)},
            "heads": {h.id for h in store.item_heads(principal, ids)},
            "searched": {
                h.item_id for h in store.search_text(principal, "secret plan", 100, scope)
            },
            "nearest": {
                h.item_id for h in store.search_vectors(principal, "perm", vector, 100, scope)
            },
            "chunks": {c.item_id for c in chunks if c.item_id in ids},
            "vectors": {
                c.item_id
                for c in chunks
                if c.id in store.chunk_vectors(principal, "perm", chunk_ids) and c.item_id in ids
            },
        }

    plain = read_paths()
    with store.reading_as(principal):
        resolved = read_paths()
        counted = sum(store.count_items(principal, scope).values())
        snippets = store.text_snippets(principal, "secret", chunk_ids)
    assert counted == len(expected)
    for path, found in {
        **plain,
        **{f"{k} (resolved once)": v for k, v in resolved.items()},
    }.items():
        assert found == expected, path
    readable_chunks = {c.id for c in store.get_chunks(principal, chunk_ids)}
    assert set(snippets) == readable_chunks


def test_a_resolved_block_serves_its_own_principal_only_and_ends_with_the_block(
    store: Store,
) -> None:
    tag = f"w{next(_counter)}"
    for person in ("ann", "bob"):
        store.upsert_person(Person(id=f"{tag}-{person}", name=person))
    store.upsert_group(Group(id=f"{tag}-board", name="board", members=(f"{tag}-bob",)))
    source = store.add_source(Source(kind="files", location=f"/{tag}"))
    assert source.id is not None
    readers = {"ann": f"person:{tag}-ann", "board": f"group:{tag}-board"}
    items = [
        Item(
            source_id=source.id,
            external_id=name,
            kind="document",
            timestamp=datetime(2026, 1, 1, tzinfo=UTC),
            readers=frozenset({reader}),
            title=name,
            body="plan",
        )
        for name, reader in readers.items()
    ]
    ann_item, board_item = store.put_items(items).ids
    where = ItemFilter(source_id=source.id)
    ann, bob = Principal.person(f"{tag}-ann"), Principal.person(f"{tag}-bob")

    def seen(principal: Principal) -> set[int | None]:
        return {i.id for i in store.list_items(principal, where)}

    with store.reading_as(ann) as scope:
        assert scope is not None
        assert seen(ann) == {ann_item}
        assert seen(bob) == {board_item}  # another principal keeps its own filter
        assert seen(Principal.all_of(ann.people[0], bob.people[0])) == set()
        with store.reading_as(ann) as inner:
            assert inner is scope
        elsewhere: list[object] = []
        thread = threading.Thread(target=lambda: elsewhere.append(store._scope(ann)))
        thread.start()
        thread.join()
        assert elsewhere == [None]  # another thread never sees this request's block
        # Ann joins the board during the request: this request keeps its snapshot.
        store.upsert_group(
            Group(id=f"{tag}-board", name="board", members=(f"{tag}-ann", f"{tag}-bob"))
        )
        assert seen(ann) == {ann_item}
    assert store._scope(ann) is None
    with store.reading_as(ann):
        assert seen(ann) == {ann_item, board_item}
    assert seen(ann) == {ann_item, board_item}


def test_a_request_reads_the_directory_once_and_sees_its_own_changes(store: Store) -> None:
    tag = f"d{next(_counter)}"
    store.upsert_person(Person(id=f"{tag}-ann", name="ann"))
    store.upsert_group(Group(id=f"{tag}-ops", name="ops", members=(f"{tag}-ann",)))
    store.upsert_project(Project(id=f"{tag}-atlas", name="Atlas", members=(f"{tag}-ann",)))
    ann = Principal.person(f"{tag}-ann")
    queries: list[str] = []
    execute = store.db.execute

    def counted(sql: str, params: object = None) -> object:
        queries.append(sql)
        return execute(sql, params)  # type: ignore[arg-type]

    store.db.execute = counted  # type: ignore[method-assign]
    try:
        with store.reading_as(ann):
            queries.clear()
            first = store.list_projects(), store.list_groups()
            read = len(queries)
            assert (store.list_projects(), store.list_groups()) == first
            assert len(queries) == read  # kept for the rest of the request
            # What this connection changes during the request shows at once.
            store.upsert_project(Project(id=f"{tag}-vega", name="Vega"))
            store.upsert_group(Group(id=f"{tag}-hr", name="hr"))
            assert f"{tag}-vega" in {p.id for p in store.list_projects()}
            assert f"{tag}-hr" in {g.id for g in store.list_groups()}
            # The caller's copy is its own: changing it changes nothing kept.
            store.list_projects().clear()
            assert f"{tag}-vega" in {p.id for p in store.list_projects()}
        queries.clear()
        assert {p.id for p in store.list_projects()} >= {f"{tag}-atlas", f"{tag}-vega"}
        assert queries  # outside a request every call reads the store
    finally:
        del store.db.execute
