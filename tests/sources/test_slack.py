"""The ``slack`` connector: folder and zip exports, threads, readers, bad and hostile input."""

from __future__ import annotations

import json
import struct
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from understudy.records import Item, Person, Principal, Source
from understudy.sources.pipeline import SyncReport, add_source, sync
from understudy.store import ItemFilter, Store

T0 = 1770000000  # 2026-02-02 02:40:00 UTC

USERS = [
    {"id": "U1", "team_id": "T01", "name": "ann", "real_name": "Ann Lee",
     "profile": {"email": "ann@co.example", "real_name": "Ann Lee"}},
    {"id": "U2", "team_id": "T01", "name": "bo", "profile": {"email": "bo@co.example",
     "real_name": "Bo Park"}},
    {"id": "U3", "team_id": "T01", "name": "cy", "real_name": "Cy Diaz",
     "profile": {"email": "cy@co.example"}},
    {"id": "U4", "team_id": "T01", "name": "robo", "real_name": "Robo", "profile": {}},
]  # fmt: skip
CHANNELS = [{"id": "C1", "name": "general", "members": ["U1", "U2", "U3", "U4"]}]
GROUPS = [{"id": "G1", "name": "secret", "members": ["U1", "U2"]}]
MPIMS = [{"id": "G2", "name": "mpdm-ann--bo--cy-1", "members": ["U1", "U2", "U3"]}]
DMS = [{"id": "D1", "members": ["U1", "U2"]}]


def ts(seconds: int, micro: int = 0) -> str:
    """Return a Slack timestamp ``seconds`` after T0."""
    return f"{T0 + seconds}.{micro:06d}"


def message(user: str, at: str, text: str, **extra: Any) -> dict[str, Any]:
    """Return one exported message."""
    return {"type": "message", "user": user, "ts": at, "text": text, **extra}


PLAN = "Hi <@U1>, see <https://example.com/plan|the plan> &amp; <#C1|general>"
DAYS: dict[str, list[dict[str, Any]]] = {
    "general/2026-02-02.json": [
        message("U2", ts(0, 100), PLAN, thread_ts=ts(0, 100), reply_count=2),
        message("U1", ts(60), "Looks good <!here>", thread_ts=ts(0, 100)),
        message("U3", ts(120), "Agreed with <@U2|bo>", thread_ts=ts(0, 100)),
        message(
            "U4",
            ts(300),
            "Build is green <mailto:ci@co.example|ci@co.example>",
            edited={"user": "U4", "ts": ts(320)},
            files=[{"name": "report.pdf", "mimetype": "application/pdf", "size": 1234}],
        ),
    ],
    "general/2026-02-03.json": [
        message("U3", ts(86400), "Lunch at noon?", edited={"user": "U3", "ts": ts(86460)}),
        {
            "type": "message",
            "subtype": "message_changed",
            "ts": ts(86460),
            "message": message("U3", ts(86400), "Lunch at noon?"),
            "previous_message": message("U3", ts(86400), "Lunch at 11?"),
        },
        message("U2", ts(86500), "", subtype="channel_join"),
    ],
    "secret/2026-02-02.json": [message("U2", ts(30), "Salary bands for 2026 attached")],
    "mpdm-ann--bo--cy-1/2026-02-02.json": [message("U3", ts(40), "Gift for Dee?")],
    "D1/2026-02-02.json": [
        message("U2", ts(50), "Can you review my draft?"),
        message("U1", ts(650), "On it"),
    ],
}


def write_export(root: Path, days: dict[str, list[dict[str, Any]]] | None = None) -> Path:
    """Write an unpacked export under ``root``."""
    files: dict[str, Any] = {
        "users.json": USERS,
        "channels.json": CHANNELS,
        "groups.json": GROUPS,
        "mpims.json": MPIMS,
        "dms.json": DMS,
        **(DAYS if days is None else days),
    }
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=1), encoding="utf-8")
    return root


def zip_folder(folder: Path, target: Path, prefix: str = "") -> zipfile.ZipFile:
    """Zip every file under ``folder`` into ``target`` (left open for more entries)."""
    archive = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED)
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            archive.write(path, prefix + path.relative_to(folder).as_posix())
    return archive


def org(store: Store) -> None:
    """Add the people of these tests."""
    store.upsert_person(Person(id="ann", name="Ann Lee", emails=("ann@co.example",)))
    store.upsert_person(Person(id="bo", name="Bo Park", emails=("bo@co.example",)))
    store.upsert_person(Person(id="cy", name="Cy Diaz", emails=("cy@co.example",)))
    store.upsert_person(Person(id="outsider", name="Out Sider", emails=("out@co.example",)))


def slack_source(store: Store, location: Path, **options: object) -> Source:
    """Register a slack source owned by Ann (with options, through the store)."""
    if not options:
        return add_source(store, "slack", str(location), owner="ann")
    return store.add_source(
        Source(kind="slack", location=str(location), owner="ann", options=dict(options))
    )


def messages(store: Store, source: Source, who: Principal | None = None) -> list[Item]:
    """Return the source's current messages, oldest first."""
    where = ItemFilter(source_id=source.id)
    return store.list_items(who or Principal.maintenance(), where, newest_first=False)


def resync(store: Store, source: Source) -> SyncReport:
    """Sync the source again from its saved cursor."""
    return sync(store, store.get_source(source.id or 0))


def problems(store: Store, source: Source) -> str:
    """Return every recorded problem of the source as one text."""
    return "\n".join(f"{e.location} {e.reason}" for e in store.source_errors(source.id or 0))


def test_a_folder_gives_one_item_per_message(store: Store, tmp_path: Path) -> None:
    org(store)
    source = slack_source(store, write_export(tmp_path / "export"))
    report = sync(store, source)
    items = {i.external_id: i for i in messages(store, source)}
    assert (report.added, report.problems) == (10, 0)
    parent = items[f"general/{ts(0, 100)}"]
    assert parent.kind == "message"
    assert parent.folder == "general"
    assert parent.thread_id == f"general/{ts(0, 100)}"
    assert parent.body == "Hi @Ann Lee, see the plan (https://example.com/plan) & #general"
    assert parent.title.startswith("#general: Hi @Ann Lee, see the plan")
    assert parent.author == "bo"
    assert parent.recipients == ("ann",)
    assert parent.timestamp == datetime.fromtimestamp(T0, UTC).replace(microsecond=100)
    assert parent.metadata["mentions"] == ["ann@co.example"]
    assert parent.metadata["reply_count"] == 2
    reply = items[f"general/{ts(60)}"]
    assert reply.thread_id == parent.thread_id
    assert reply.body == "Looks good @here"
    assert items[f"general/{ts(120)}"].body == "Agreed with @Bo Park"


def test_edits_files_and_users_without_email(store: Store, tmp_path: Path) -> None:
    org(store)
    source = slack_source(store, write_export(tmp_path / "export"))
    sync(store, source)
    items = {i.external_id: i for i in messages(store, source)}
    build = items[f"general/{ts(300)}"]
    assert build.body == "Build is green ci@co.example"
    assert build.author == "u4@t01.slack.invalid"
    assert build.metadata["edited"] == {"user": "u4@t01.slack.invalid", "ts": ts(320)}
    assert build.metadata["files"] == ["report.pdf"]
    assert [a.name for a in build.attachments] == ["report.pdf"]
    lunch = items[f"general/{ts(86400)}"]
    assert lunch.metadata["edited"] == {"user": "cy@co.example", "ts": ts(86460)}
    assert lunch.metadata["previous_text"] == "Lunch at 11?"
    assert items[f"general/{ts(86500)}"].metadata["subtype"] == "channel_join"


def test_private_conversations_are_read_by_members_only(store: Store, tmp_path: Path) -> None:
    org(store)
    source = slack_source(store, write_export(tmp_path / "export"))
    sync(store, source)

    def folders(person: str) -> set[str | None]:
        return {i.folder for i in messages(store, source, Principal.person(person))}

    assert folders("ann") == {"general", "secret", "mpdm-ann--bo--cy-1", "D1"}
    assert folders("bo") == {"general", "secret", "mpdm-ann--bo--cy-1", "D1"}
    assert folders("cy") == {"general", "mpdm-ann--bo--cy-1"}
    assert folders("outsider") == {"general"}  # public: group:everyone
    secret = [i for i in messages(store, source) if i.folder == "secret"]
    assert secret[0].readers == frozenset({"person:ann", "person:bo"})
    assert secret[0].metadata["private"] is True
    general = next(i for i in messages(store, source) if i.folder == "general")
    assert "group:everyone" in general.readers


def test_zip_and_folder_give_the_same_items(store: Store, tmp_path: Path) -> None:
    org(store)
    folder = write_export(tmp_path / "export")
    zip_folder(folder, tmp_path / "export.zip", prefix="Acme Slack export/").close()
    from_folder = slack_source(store, folder)
    from_zip = slack_source(store, tmp_path / "export.zip")
    sync(store, from_folder)
    report = sync(store, from_zip)
    assert (report.added, report.problems) == (10, 0)

    def shape(items: list[Item]) -> list[tuple[Any, ...]]:
        return sorted(
            (i.external_id, i.title, i.body, i.thread_id, i.author, i.recipients, i.readers,
             json.dumps(i.metadata, sort_keys=True))
            for i in items
        )  # fmt: skip

    assert shape(messages(store, from_zip)) == shape(messages(store, from_folder))


def test_owner_replies_are_decisions(store: Store, tmp_path: Path) -> None:
    org(store)
    source = slack_source(store, write_export(tmp_path / "export"))
    report = sync(store, source)
    items = {i.id: i for i in messages(store, source)}
    made = sorted(
        (d.action, items[d.item_id].external_id, d.latency_seconds, d.text)
        for d in store.list_decisions(person="ann")
    )
    assert made == [
        ("reply", f"D1/{ts(50)}", 600.0, "On it"),
        ("reply", f"general/{ts(0, 100)}", pytest.approx(59.9999), "Looks good @here"),
    ]
    assert report.decisions == 2
    assert resync(store, source).decisions == 0


def test_sync_again_adds_nothing_and_an_edit_is_a_new_version(store: Store, tmp_path: Path) -> None:
    org(store)
    folder = write_export(tmp_path / "export")
    source = slack_source(store, folder)
    sync(store, source)
    again = resync(store, source)
    assert (again.seen, again.added) == (0, 0)
    edited = dict(DAYS)
    edited["secret/2026-02-02.json"] = [
        message("U2", ts(30), "Salary bands for 2026, revised", edited={"user": "U2", "ts": ts(90)})
    ]
    time.sleep(0.01)  # a distinct modification time
    write_export(folder, edited)
    changed = resync(store, source)
    assert (changed.added, changed.superseded) == (1, 1)
    [secret] = [i for i in messages(store, source) if i.folder == "secret"]
    assert secret.body == "Salary bands for 2026, revised"


def test_a_zip_syncs_incrementally(store: Store, tmp_path: Path) -> None:
    org(store)
    folder = write_export(tmp_path / "export")
    zip_folder(folder, tmp_path / "export.zip").close()
    source = slack_source(store, tmp_path / "export.zip")
    sync(store, source)
    assert resync(store, source).added == 0
    with zipfile.ZipFile(tmp_path / "export.zip", "a") as archive:
        archive.writestr(
            "general/2026-02-04.json", json.dumps([message("U2", ts(2 * 86400), "Hi")])
        )
    report = resync(store, source)
    assert (report.seen, report.added) == (1, 1)


def test_membership_change_reads_every_day_again(store: Store, tmp_path: Path) -> None:
    org(store)
    folder = write_export(tmp_path / "export")
    source = slack_source(store, folder)
    sync(store, source)
    (folder / "groups.json").write_text(
        json.dumps([{"id": "G1", "name": "secret", "members": ["U1", "U2", "U3"]}])
    )
    report = resync(store, source)
    assert (report.seen, report.added, report.superseded) == (10, 1, 1)
    assert {i.folder for i in messages(store, source, Principal.person("cy"))} >= {"secret"}


def test_malformed_day_file_is_a_problem_and_the_rest_is_read(store: Store, tmp_path: Path) -> None:
    org(store)
    folder = write_export(tmp_path / "export")
    (folder / "general" / "2026-02-05.json").write_text('[{"type": "message", "ts": ', "utf-8")
    odd = [message("U2", "soon", "when?"), message("U2", ts(5), "fine", reply_count="many")]
    (folder / "general" / "2026-02-06.json").write_text(json.dumps(odd), "utf-8")
    (folder / "stray" / "2026-02-05.json").parent.mkdir()
    (folder / "stray" / "2026-02-05.json").write_text(json.dumps([message("U2", ts(9), "?")]))
    source = slack_source(store, folder)
    report = sync(store, source)
    text = problems(store, source)
    assert f"{folder}/general/2026-02-05.json not valid JSON (line 1, column 28" in text
    assert f"{folder}/stray " in text
    assert "readable by the source's owner only" in text
    assert f"{folder}/general/2026-02-06.json ts 'soon' a message could not be read" in text
    assert "ts '1770000005.000000' a message could not be read" in text
    assert (report.added, report.problems) == (11, 4)
    [stray] = [i for i in messages(store, source) if i.folder == "stray"]
    assert stray.readers == frozenset({"person:ann"})


def test_path_traversal_entries_are_refused(store: Store, tmp_path: Path) -> None:
    org(store)
    archive = zip_folder(write_export(tmp_path / "export"), tmp_path / "evil.zip")
    archive.writestr("../../etc/passwd", "root:x:0:0")
    archive.writestr("/abs/general/2026-02-09.json", "[]")
    archive.writestr("general/../../escape.json", "[]")
    archive.close()
    source = slack_source(store, tmp_path / "evil.zip")
    report = sync(store, source)
    text = problems(store, source)
    assert f"{tmp_path / 'evil.zip'}!../../etc/passwd refused: a path that climbs out" in text
    assert f"{tmp_path / 'evil.zip'}!/abs/general/2026-02-09.json refused: an absolute" in text
    assert "general/../../escape.json refused" in text
    assert (report.problems, report.added) == (3, 10)
    assert not (tmp_path.parent / "etc" / "passwd").exists()


def test_a_highly_compressed_entry_is_refused(store: Store, tmp_path: Path) -> None:
    org(store)
    archive = zip_folder(write_export(tmp_path / "export"), tmp_path / "ratio.zip")
    with archive.open("general/2026-02-06.json", "w") as entry:
        entry.write(b"[" + b" " * (4 * 1024 * 1024) + b"]")  # 4 MB that packs ~1000:1
    archive.close()
    source = slack_source(store, tmp_path / "ratio.zip")
    report = sync(store, source)
    text = problems(store, source)
    assert "ratio.zip!general/2026-02-06.json refused: expands" in text
    assert (report.problems, report.added) == (1, 10)


def test_an_entry_over_the_size_cap_is_refused(store: Store, tmp_path: Path) -> None:
    org(store)
    archive = zip_folder(write_export(tmp_path / "export"), tmp_path / "big.zip")
    archive.writestr("general/2026-02-07.json", json.dumps([message("U2", ts(7), "x" * 5000)]))
    archive.close()
    source = slack_source(store, tmp_path / "big.zip", max_entry_bytes=4000)
    report = sync(store, source)
    assert "big.zip!general/2026-02-07.json refused: 50" in problems(store, source)
    assert (report.problems, report.added) == (1, 10)


def test_a_zip_bomb_is_refused_without_unpacking(store: Store, tmp_path: Path) -> None:
    org(store)
    archive = zip_folder(write_export(tmp_path / "export"), tmp_path / "bomb.zip")
    with archive.open("general/2026-02-08.json", "w", force_zip64=True) as entry:
        zeros = bytes(1024 * 1024)
        for _ in range(300):
            entry.write(zeros)
    archive.close()
    assert (tmp_path / "bomb.zip").stat().st_size < 2 * 1024 * 1024
    source = slack_source(store, tmp_path / "bomb.zip")
    started = time.perf_counter()
    report = sync(store, source)
    assert time.perf_counter() - started < 5
    text = problems(store, source)
    assert "bomb.zip!general/2026-02-08.json refused: 314572800 bytes uncompressed" in text
    assert (report.problems, report.added) == (1, 10)


def _understate_size(path: Path, name: str, size: int) -> None:
    """Rewrite an entry's declared uncompressed size, as a hostile zip would."""
    data = bytearray(path.read_bytes())
    encoded = name.encode()
    local = data.find(b"PK\x03\x04")
    while local != -1:
        length = struct.unpack_from("<H", data, local + 26)[0]
        if data[local + 30 : local + 30 + length] == encoded:
            struct.pack_into("<I", data, local + 22, size)
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central != -1:
        length = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + length] == encoded:
            struct.pack_into("<I", data, central + 24, size)
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))


def test_an_entry_larger_than_declared_is_not_read(store: Store, tmp_path: Path) -> None:
    org(store)
    archive = zip_folder(write_export(tmp_path / "export"), tmp_path / "liar.zip")
    archive.writestr("general/2026-02-10.json", json.dumps([message("U2", ts(10), "y" * 9000)]))
    archive.close()
    _understate_size(tmp_path / "liar.zip", "general/2026-02-10.json", 100)
    source = slack_source(store, tmp_path / "liar.zip")
    report = sync(store, source)
    assert "liar.zip!general/2026-02-10.json cannot be read" in problems(store, source)
    assert (report.problems, report.added) == (1, 10)


def test_not_a_zip_and_missing_paths_are_problems(store: Store, tmp_path: Path) -> None:
    org(store)
    (tmp_path / "fake.zip").write_text("not a zip")
    fake = slack_source(store, tmp_path / "fake.zip")
    assert sync(store, fake).problems == 1
    assert "not a readable zip" in problems(store, fake)
    missing = slack_source(store, tmp_path / "missing.zip")
    assert sync(store, missing).problems == 1
    assert "no such file or folder" in problems(store, missing)


def test_estimate_counts_messages_in_changed_days(store: Store, tmp_path: Path) -> None:
    from understudy.sources.slack import SlackConnector

    org(store)
    source = slack_source(store, write_export(tmp_path / "export"))
    assert SlackConnector(source).estimate({}) == 13  # rough: edit records count too
    sync(store, source)
    assert SlackConnector(source).estimate(store.get_source(source.id or 0).cursor) == 0
