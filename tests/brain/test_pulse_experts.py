"""The project pulse between two dates, and who knows about a topic, as the asker may see them."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from understudy.brain import chunk_pending
from understudy.brain.embeddings import HashEmbedder, embed_pending
from understudy.brain.experts import ADDRESSED, DECIDED, find_experts
from understudy.brain.pulse import project_pulse, task_due
from understudy.brain.search import Searcher
from understudy.errors import NotFound
from understudy.records import Decision, Item, Person, Principal, Project, Source
from understudy.store import ItemFilter, Store

SINCE = datetime(2026, 3, 1, tzinfo=UTC)
UNTIL = datetime(2026, 3, 8, tzinfo=UTC)
ANN, DEE = Principal.person("ann"), Principal.person("dee")


def day(n: int, hour: int = 9) -> datetime:
    """Return 2026-03-``n`` (or the days around March, for n <= 0 or n > 31)."""
    return datetime(2026, 3, 1, hour, tzinfo=UTC) + timedelta(days=n - 1)


class Org:
    """A small organization in a store: people, projects, sources, and items by name."""

    def __init__(self, store: Store) -> None:
        self.store = store
        people = {"ann": "Ann Lee", "bo": "Bo Park", "cy": "Cy Diaz", "dee": "Dee Moss"}
        for person, name in {**people, "eve": "Eve Ng", "gus": "Gus Roy"}.items():
            store.upsert_person(Person(id=person, name=name, emails=(f"{person}@co.example",)))
        store.upsert_person(
            Person(id="vendor", name="Val Vendor", emails=("val@supplier.example",), external=True)
        )
        store.upsert_project(Project(id="atlas", name="Atlas", members=("ann", "bo")))
        store.upsert_project(Project(id="cobalt", name="Cobalt", members=("cy",)))
        self.sources: dict[str, int] = {}
        self.ids: dict[str, int] = {}

    def source(self, location: str) -> int:
        if location not in self.sources:
            found = self.store.add_source(Source(kind="files", location=location))
            assert found.id is not None
            self.sources[location] = found.id
        return self.sources[location]

    def add(self, name: str, kind: str, when: datetime, **fields: Any) -> Item:
        readers = fields.pop("readers", {"project:atlas"})
        return Item(
            source_id=self.source(fields.pop("source", f"/{kind}")),
            external_id=fields.pop("external_id", name),
            kind=kind,  # type: ignore[arg-type]
            timestamp=when,
            readers=frozenset(readers),
            **{"title": name, **fields},
        )

    def put(self, items: dict[str, Item]) -> dict[str, int]:
        ids = self.store.put_items(list(items.values())).ids
        self.ids.update(zip(items, ids, strict=True))
        return self.ids

    def decide(self, person: str, name: str, action: str, at: datetime) -> None:
        self.store.add_decisions(
            [Decision(person=person, item_id=self.ids[name], action=action, at=at)]
        )


# --- the project pulse -------------------------------------------------------


@pytest.fixture
def atlas(store: Store) -> Org:
    org = Org(store)
    add = org.add
    items = {
        # Documents: only those of the project, changed in the window, count.
        "Atlas design v2": add("Atlas design v2", "document", day(3), project="atlas"),
        "Atlas old spec": add("Atlas old spec", "document", day(-10), project="atlas"),
        "Atlas next spec": add("Atlas next spec", "document", day(9), project="atlas"),
        "Cobalt plan": add("Cobalt plan", "document", day(3), project="cobalt"),
        "Board memo": add(
            "Board memo", "document", day(4), project="atlas", readers={"person:dee"}
        ),
        # Tasks.
        "ATL-1 Load test": add(
            "ATL-1 Load test",
            "task",
            day(-20),
            project="atlas",
            metadata={"status": "open", "due_date": "2026-03-05"},
        ),
        "ATL-2 Sign contract": add(
            "ATL-2 Sign contract",
            "task",
            day(6),
            project="atlas",
            metadata={"status": "Done", "due_date": "2026-03-05"},
        ),
        "ATL-3 Launch": add(
            "ATL-3 Launch",
            "task",
            day(2),
            project="atlas",
            metadata={"status": "open", "due_date": "2026-03-20"},
        ),
        "ATL-4 Migrate": add(
            "ATL-4 Migrate",
            "task",
            day(4),
            project="atlas",
            metadata={
                "status": "In Progress",
                "history": ["Due date changed from 2026-03-01 to 2026-03-15"],
            },
        ),
        "ATL-5 Old bug": add(
            "ATL-5 Old bug",
            "task",
            day(-40),
            project="atlas",
            metadata={"status": "Closed", "due": "2026-02-01"},
        ),
        "ATL-6 Secret": add(
            "ATL-6 Secret",
            "task",
            day(-5),
            project="atlas",
            readers={"person:dee"},
            metadata={"status": "open", "due_date": "2026-02-15"},
        ),
        "COB-1 Budget": add(
            "COB-1 Budget",
            "task",
            day(-5),
            project="cobalt",
            readers={"group:everyone"},
            metadata={"status": "open", "due_date": "2026-02-10"},
        ),
    }
    mail = [
        # One thread of three messages; the first is in two mailboxes.
        ("Atlas launch slip", "t-slip", day(2), "<slip-1@co>", {"person:ann"}, "/mail/ann"),
        ("Atlas launch slip", "t-slip", day(2), "<slip-1@co>", {"person:ann"}, "/mail/bo"),
        ("Re: Atlas launch slip", "t-slip", day(3), "<slip-2@co>", {"person:ann"}, "/mail/ann"),
        ("RE: Fwd: Atlas launch slip", "t-slip", day(4), "<slip-3@co>", {"person:ann"}, "/m"),
        ("Atlas budget", "t-budget", day(5), "<budget@co>", {"person:ann"}, "/mail/ann"),
        ("Atlases of the world", "t-maps", day(5), "<maps@co>", {"person:ann"}, "/mail/ann"),
        ("Atlas kickoff", "t-kickoff", day(-3), "<kick@co>", {"person:ann"}, "/mail/ann"),
        ("Atlas buyout", "t-buyout", day(3), "<buy-1@co>", {"person:dee"}, "/mail/dee"),
        ("Re: Atlas buyout", "t-buyout", day(4), "<buy-2@co>", {"person:dee"}, "/mail/dee"),
    ]
    for n, (title, thread, when, message_id, readers, source) in enumerate(mail):
        items[f"mail-{n}"] = add(
            title,
            "email",
            when,
            source=source,
            external_id=message_id,
            readers=readers,
            thread_id=thread,
            metadata={"message_id": message_id},
        )
    items["invite"] = add(
        "Atlas review",
        "email",
        day(5),
        readers={"person:ann"},
        metadata={"calendar_method": "REQUEST", "message_id": "<invite@co>"},
    )
    for n in range(2):
        items[f"chat-{n}"] = add(
            "#atlas",
            "message",
            day(3 + n),
            external_id=f"chat-{n}",
            body=f"message {n}",
            folder="atlas",  # the Slack connector files a message under its channel
            metadata={"channel": "atlas"},
        )
    org.put(items)
    org.decide("bo", "ATL-2 Sign contract", "approve", day(6))
    org.decide("ann", "Atlas old spec", "reply", day(-2))  # before the window
    org.decide("cy", "Cobalt plan", "file", day(3))  # another project
    org.decide("dee", "Board memo", "approve", day(4))  # on an item Ann may not read
    org.decide("ann", "Atlas next spec", "reply", day(9))  # after the window
    return org


def _titles(items: list[Item]) -> list[str]:
    return [item.title for item in items]


def test_pulse_shows_what_changed_in_the_window(store: Store, atlas: Org) -> None:
    pulse = project_pulse(store, ANN, "atlas", SINCE, UNTIL)
    assert (pulse.project, pulse.name) == ("atlas", "Atlas")
    assert _titles(pulse.documents) == ["Atlas design v2"]
    # Past due and not done, or due date moved; ordered by due date, undated last.
    assert _titles(pulse.slipping) == ["ATL-1 Load test", "ATL-4 Migrate"]
    assert sorted(_titles(pulse.changed_tasks)) == [
        "ATL-2 Sign contract",
        "ATL-3 Launch",
        "ATL-4 Migrate",
    ]
    assert [(d.person, d.action, d.item_id) for d in pulse.decisions] == [
        ("bo", "approve", atlas.ids["ATL-2 Sign contract"])
    ]
    assert pulse.threads == [("Atlas launch slip", 3), ("#atlas chat", 2), ("Atlas budget", 1)]
    assert not pulse.quiet


def test_pulse_as_data_names_the_slipping_tasks_and_their_due_dates(
    store: Store, atlas: Org
) -> None:
    data = project_pulse(store, ANN, "Atlas", SINCE, UNTIL).as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["since"] == SINCE.isoformat()
    assert data["until"] == UNTIL.isoformat()
    assert data["documents"] == [{"item": atlas.ids["Atlas design v2"], "title": "Atlas design v2"}]
    assert data["slipping_tasks"] == [
        {
            "item": atlas.ids["ATL-1 Load test"],
            "key": "ATL-1 Load test",
            "title": "ATL-1 Load test",
            "due": "2026-03-05 00:00:00",
        },
        {
            "item": atlas.ids["ATL-4 Migrate"],
            "key": "ATL-4 Migrate",
            "title": "ATL-4 Migrate",
            "due": "",
        },
    ]
    assert data["task_updates"] == 3
    assert data["decisions"] == [
        {"person": "bo", "action": "approve", "item": atlas.ids["ATL-2 Sign contract"]}
    ]
    assert data["threads"] == [
        {"subject": "Atlas launch slip", "messages": 3},
        {"subject": "#atlas chat", "messages": 2},
        {"subject": "Atlas budget", "messages": 1},
    ]


def test_pulse_shows_only_what_the_asker_may_read(store: Store, atlas: Org) -> None:
    dee = project_pulse(store, DEE, "atlas", SINCE, UNTIL)
    assert _titles(dee.documents) == ["Board memo"]
    assert _titles(dee.slipping) == ["ATL-6 Secret"]
    assert dee.changed_tasks == []
    assert [(d.person, d.item_id) for d in dee.decisions] == [("dee", atlas.ids["Board memo"])]
    assert dee.threads == [("Atlas buyout", 2)]
    data = project_pulse(store, ANN, "atlas", SINCE, UNTIL).as_dict()
    for secret in ("Board memo", "ATL-6", "buyout"):
        assert secret not in json.dumps(data)
    shown = {
        entry["item"]
        for key in ("documents", "slipping_tasks", "decisions")
        for entry in data[key]  # type: ignore[attr-defined]
    }
    assert not shown & {atlas.ids["Board memo"], atlas.ids["ATL-6 Secret"]}
    # Someone outside the project sees nothing of it.
    cy = project_pulse(store, Principal.person("cy"), "atlas", SINCE, UNTIL)
    assert cy.quiet
    # Two people together see only what both may read.
    both = project_pulse(store, Principal.all_of("ann", "dee"), "atlas", SINCE, UNTIL)
    assert both.quiet


def test_pulse_windows_move_with_their_dates(store: Store, atlas: Org) -> None:
    later = project_pulse(store, ANN, "atlas", UNTIL, UNTIL + timedelta(days=7))
    assert _titles(later.documents) == ["Atlas next spec"]
    assert [d.person for d in later.decisions] == ["ann"]
    # Still not done: a task keeps slipping in later windows.
    assert _titles(later.slipping) == ["ATL-1 Load test", "ATL-4 Migrate"]
    assert later.changed_tasks == []
    assert later.threads == []
    earlier = project_pulse(store, ANN, "atlas", SINCE - timedelta(days=7), SINCE)
    assert _titles(earlier.documents) == []
    assert [d.action for d in earlier.decisions] == ["reply"]
    # Before March 1 no task was past due yet, and the moved one did not exist.
    assert earlier.slipping == []
    assert earlier.threads == [("Atlas kickoff", 1)]
    cobalt = project_pulse(store, ANN, "cobalt", SINCE, UNTIL)
    assert _titles(cobalt.documents) == ["Cobalt plan"]
    assert _titles(cobalt.slipping) == ["COB-1 Budget"]
    assert [(d.person, d.action) for d in cobalt.decisions] == [("cy", "file")]


def test_a_decision_stays_in_the_pulse_after_its_item_changes(store: Store, atlas: Org) -> None:
    store.put_items(
        [
            atlas.add(
                "ATL-2 Sign contract",
                "task",
                day(7),
                project="atlas",
                metadata={"status": "Done", "due_date": "2026-03-05", "comments": 1},
            )
        ]
    )
    pulse = project_pulse(store, ANN, "atlas", SINCE, UNTIL)
    assert [(d.person, d.action) for d in pulse.decisions] == [("bo", "approve")]
    assert _titles(pulse.changed_tasks).count("ATL-2 Sign contract") == 1


def test_pulse_of_an_unknown_project_says_what_to_run(store: Store, atlas: Org) -> None:
    with pytest.raises(NotFound, match="understudy projects"):
        project_pulse(store, ANN, "zeppelin", SINCE, UNTIL)


def test_task_due_reads_both_keys_and_ignores_garbage() -> None:
    def task(metadata: dict[str, Any]) -> Item:
        return Item(
            source_id=1,
            external_id="t",
            kind="task",
            timestamp=SINCE,
            readers=frozenset(),
            metadata=metadata,
        )

    assert task_due(task({"due_date": "2026-03-05"})) == datetime(2026, 3, 5)
    assert task_due(task({"due": "2026-03-05T17:00:00+00:00"})) == datetime(
        2026, 3, 5, 17, tzinfo=UTC
    )
    assert task_due(task({"due_date": "next Tuesday"})) is None
    assert task_due(task({})) is None


# --- experts -----------------------------------------------------------------

TOPIC = "vendor contract renewal"


@pytest.fixture
def experts_org(store: Store) -> Org:
    org = Org(store)
    body = "The vendor contract renewal is due; the vendor asks for a three year renewal."
    mail = {"readers": {"person:ann", "person:bo"}, "source": "/mail"}
    org.put(
        {
            "renewal-1": org.add(
                "Vendor contract renewal",
                "email",
                day(2),
                author="ann",
                recipients=("bo",),
                body=body,
                **mail,
            ),
            "renewal-2": org.add(
                "Re: Vendor contract renewal",
                "email",
                day(3),
                author="ann",
                recipients=("bo",),
                body="Renewal terms for the vendor contract are attached.",
                **mail,
            ),
            "from-vendor": org.add(
                "Contract renewal offer",
                "email",
                day(4),
                author="vendor",
                recipients=("ann",),
                body="Our offer for the contract renewal, as the vendor.",
                **mail,
            ),
            "task": org.add(
                "Review vendor contract renewal",
                "task",
                day(4),
                author="gus",
                recipients=("bo",),
                body="Legal review of the vendor contract renewal.",
                readers={"group:everyone"},
            ),
            "secret": org.add(
                "Vendor contract renewal (board)",
                "document",
                day(4),
                author="dee",
                recipients=("eve",),
                body="Board view on the vendor contract renewal and its price.",
                readers={"person:dee", "person:eve"},
            ),
            "lunch": org.add(
                "Lunch menu",
                "email",
                day(5),
                author="eve",
                recipients=("ann",),
                body="Pizza on Friday.",
                readers={"group:everyone"},
            ),
        }
    )
    org.decide("cy", "renewal-1", "file", day(3))
    org.decide("cy", "renewal-2", "approve", day(4))
    org.decide("eve", "secret", "approve", day(5))
    org.decide("ghost", "renewal-1", "reply", day(5))  # nobody the directory knows
    chunk_pending(store)
    embed_pending(store, HashEmbedder())
    return org


def _people(experts: list[Any]) -> list[str]:
    return [e.person for e in experts]


def test_experts_rank_writers_then_deciders_then_the_addressed(
    store: Store, experts_org: Org
) -> None:
    ids = experts_org.ids
    experts = find_experts(Searcher(store), ANN, TOPIC)
    people = _people(experts)
    assert set(people) == {"ann", "bo", "cy", "gus"}
    assert [p for p in people if p in ("ann", "cy", "bo")] == ["ann", "cy", "bo"]
    by = {e.person: e for e in experts}
    assert sorted(by["ann"].wrote) == sorted([ids["renewal-1"], ids["renewal-2"]])
    assert by["ann"].handled == []
    assert sorted(by["cy"].handled) == sorted([ids["renewal-1"], ids["renewal-2"]])
    assert by["cy"].wrote == []
    assert by["gus"].wrote == [ids["task"]]
    assert (by["bo"].wrote, by["bo"].handled) == ([], [])
    # Cy decided and Bo was addressed on the same two emails (and Bo on the task).
    renewal = by["cy"].score / DECIDED
    assert by["bo"].score > ADDRESSED * renewal
    assert [e.score for e in experts] == sorted((e.score for e in experts), reverse=True)
    assert by["ann"].name == "Ann Lee"
    assert by["ann"].as_dict() == {
        "person": "ann",
        "name": "Ann Lee",
        "score": round(by["ann"].score, 4),
        "wrote": by["ann"].wrote,
        "handled": [],
    }


def test_experts_count_only_what_the_asker_may_read(store: Store, experts_org: Org) -> None:
    for searcher in (Searcher(store), Searcher(store, HashEmbedder())):
        ann = _people(find_experts(searcher, ANN, TOPIC, include_external=True))
        assert "dee" not in ann
        assert "eve" not in ann or searcher.embedder is not None  # Eve wrote about lunch
        cy = find_experts(searcher, Principal.person("cy"), TOPIC)
        # Cy reads only the task (and the lunch mail), not the emails Cy filed.
        assert "ann" not in _people(cy) or searcher.embedder is not None
        assert all(set(e.wrote) <= {experts_org.ids["task"], experts_org.ids["lunch"]} for e in cy)
        assert all(e.handled == [] for e in cy)
        dee = {e.person: e for e in find_experts(searcher, DEE, TOPIC)}
        assert dee["dee"].wrote == [experts_org.ids["secret"]]
        assert dee["eve"].handled == [experts_org.ids["secret"]]


def test_external_people_are_experts_only_when_asked_for(store: Store, experts_org: Org) -> None:
    searcher = Searcher(store)
    assert "vendor" not in _people(find_experts(searcher, ANN, TOPIC))
    with_external = {e.person: e for e in find_experts(searcher, ANN, TOPIC, include_external=True)}
    assert with_external["vendor"].wrote == [experts_org.ids["from-vendor"]]
    assert with_external["vendor"].name == "Val Vendor"


def test_experts_limits_filters_and_no_match(store: Store, experts_org: Org) -> None:
    searcher = Searcher(store)
    full = _people(find_experts(searcher, ANN, TOPIC))
    assert _people(find_experts(searcher, ANN, TOPIC, limit=2)) == full[:2]
    tasks = find_experts(searcher, ANN, TOPIC, where=ItemFilter(kinds=("task",)))
    assert _people(tasks) == ["gus", "bo"]
    assert find_experts(searcher, ANN, "zeppelin airship") == []
    stranger = find_experts(searcher, Principal.person("nobody"), TOPIC)
    assert set(_people(stranger)) <= {"gus", "bo"}  # only the task is for everyone
    assert "ghost" not in full


def test_one_copy_of_a_message_counts_once(store: Store, experts_org: Org) -> None:
    searcher = Searcher(store)
    before = {e.person: e.score for e in find_experts(searcher, ANN, TOPIC)}
    original = store.get_item(ANN, experts_org.ids["renewal-1"])
    assert original is not None
    copies = [
        replace(
            original,
            id=None,
            source_id=experts_org.source(f"/mail/{owner}"),
            metadata={"message_id": "<renewal-1@co>"},
        )
        for owner in ("ann", "bo")
    ]
    store.put_items(copies)
    chunk_pending(store)
    after = find_experts(searcher, ANN, TOPIC)
    by = {e.person: e for e in after}
    # The two mailbox copies are one message: Ann wrote three, not four.
    assert len(by["ann"].wrote) == 3
    assert by["ann"].score > before["ann"]


def test_experts_keep_decisions_made_on_an_earlier_version(store: Store, experts_org: Org) -> None:
    """Gus's task is approved by Cy, then edited: Cy still handled it."""
    experts_org.decide("cy", "task", "approve", day(5))
    [task] = store.get_items(Principal.maintenance(), [experts_org.ids["task"]])
    edited = replace(task, id=None, body=task.body + " Legal signed off on the renewal.")
    new_id = store.put_items([edited]).ids[0]
    assert new_id != experts_org.ids["task"]
    assert store.item_versions(ANN, new_id) == [experts_org.ids["task"], new_id]
    chunk_pending(store)
    embed_pending(store, HashEmbedder())
    # Cy reads the task through group:everyone, so Cy's own decision counts.
    cy = {e.person: e for e in find_experts(Searcher(store), Principal.person("cy"), TOPIC)}
    assert new_id in cy["cy"].handled
    # A principal who may read no version gets no versions.
    assert store.item_versions(Principal.person("nobody-here"), experts_org.ids["secret"]) == []
