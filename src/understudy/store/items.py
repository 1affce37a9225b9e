"""Items as immutable versions, their reader sets, and their chunks."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from understudy.records import Attachment, Chunk, Item, Principal
from understudy.store.database import Database, from_json, now_utc, parse_time
from understudy.store.permissions import ScopedReads

__all__ = ["ChunkDraft", "ItemFilter", "ItemHead", "ItemTables", "PutResult", "text_hash"]

_BATCH = 400
# Prefixed to the reader-set column where rows are fetched by id: the unary plus
# keeps the planner off the reader-set index (SQLite would otherwise probe it
# once per allowed set and id, ~6x slower on the demo company); ids go first.
BY_ID = "+"


def text_hash(text: str) -> str:
    """Return the content hash of a chunk's text, the key of the embedding cache."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class ItemFilter:
    """Restrictions on which items (or chunks) a read returns."""

    kinds: tuple[str, ...] = ()
    project: str | None = None
    projects: tuple[str, ...] = ()
    source_id: int | None = None
    person: str | None = None
    author: str | None = None
    thread_id: str | None = None
    folder: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    title_contains: str | None = None  # case-insensitive

    def sql(self, alias: str) -> tuple[str, dict[str, Any]]:
        """Return SQL conditions on table ``alias`` and their parameters."""
        parts: list[str] = []
        params: dict[str, Any] = {}
        if self.kinds:
            marks = []
            for n, kind in enumerate(self.kinds):
                params[f"_kind{n}"] = kind
                marks.append(f":_kind{n}")
            parts.append(f"{alias}.kind IN ({', '.join(marks)})")
        if self.projects:
            marks = []
            for n, project in enumerate(self.projects):
                params[f"_proj{n}"] = project
                marks.append(f":_proj{n}")
            parts.append(f"{alias}.project IN ({', '.join(marks)})")
        simple = {
            "project": self.project,
            "author": self.author,
        }
        for column, value in simple.items():
            if value is not None:
                parts.append(f"{alias}.{column} = :_f_{column}")
                params[f"_f_{column}"] = value
        if self.since is not None:
            parts.append(f"{alias}.ts >= :_since")
            params["_since"] = self.since
        if self.until is not None:
            parts.append(f"{alias}.ts < :_until")
            params["_until"] = self.until
        if self.title_contains:
            escaped = re.sub(r"([\\%_])", r"\\\1", self.title_contains.lower())
            parts.append(f"lower({alias}.title) LIKE :_title ESCAPE '\\'")
            params["_title"] = f"%{escaped}%"
        return " AND ".join(parts) or "1 = 1", params

    @property
    def empty(self) -> bool:
        """Return whether the filter restricts nothing."""
        return self == ItemFilter()

    def chunk_sql(self) -> tuple[str, dict[str, Any]]:
        """Return conditions on the ``chunks c`` table; item-only filters join items."""
        where, params = self.sql("c")
        item_only = (self.source_id, self.thread_id, self.folder, self.person)
        if any(value is not None for value in item_only):
            only = ItemFilter(
                source_id=self.source_id,
                thread_id=self.thread_id,
                folder=self.folder,
                person=self.person,
            )
            condition, extra = only.item_sql()
            where += f" AND c.item_id IN (SELECT i.id FROM items i WHERE {condition})"
            params.update(extra)
        return where, params

    def item_sql(self) -> tuple[str, dict[str, Any]]:
        """Return conditions on the ``items i`` table, including item-only columns."""
        where, params = self.sql("i")
        extra = {"source_id": self.source_id, "thread_id": self.thread_id, "folder": self.folder}
        for column, value in extra.items():
            if value is not None:
                where += f" AND i.{column} = :_f_{column}"
                params[f"_f_{column}"] = value
        if self.person is not None:
            where += " AND (i.author = :_person OR CAST(i.recipients AS TEXT) LIKE :_person_like)"
            params["_person"] = self.person
            params["_person_like"] = f'%"{self.person}"%'
        return where, params


@dataclass(slots=True)
class PutResult:
    """What a batch of items did to the store."""

    added: int = 0
    unchanged: int = 0
    superseded: int = 0
    ids: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ItemHead:
    """What ranking needs of an item, without its body, attachments or metadata to decode."""

    id: int
    external_id: str
    kind: str
    timestamp: datetime
    title: str
    author: str | None
    thread_id: str | None
    project: str | None
    author_name: str | None
    message_id: str | None


# The two metadata fields a head carries, read by the database from the JSON column.
_HEAD_FIELDS = ("author_name", "message_id")


@dataclass(frozen=True, slots=True)
class ChunkDraft:
    """A chunk to store: the store fills in readers and filters from its item."""

    item_id: int
    ordinal: int
    title: str
    text: str


class ItemTables(ScopedReads):
    """Store methods for items, reader sets and chunks."""

    db: Database
    _reader_sets: dict[str, int]
    _writes: int

    def _reader_set_id(self, readers: frozenset[str]) -> int:
        key = "\n".join(sorted(readers))
        cached = self._reader_sets.get(key)
        if cached is not None:
            return cached
        digest = hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()
        self.db.execute(
            """INSERT INTO reader_sets (key, principals) VALUES (:k, :p)
            ON CONFLICT (key) DO NOTHING""",
            {"k": digest, "p": sorted(readers)},
        )
        set_id = int(self.db.scalar("SELECT id FROM reader_sets WHERE key = :k", {"k": digest}))
        self.db.executemany(
            """INSERT INTO reader_set_members (principal, set_id) VALUES (:p, :s)
            ON CONFLICT DO NOTHING""",
            [{"p": principal, "s": set_id} for principal in sorted(readers)],
        )
        self._reader_sets[key] = set_id
        return set_id

    def put_items(self, items: Sequence[Item]) -> PutResult:
        """Store items as versions: new content is added, known content is skipped.

        A new version of an (source, external id) supersedes the current one,
        whose chunks leave the search index. The whole batch is one transaction.
        """
        result = PutResult()
        self._writes += 1
        try:
            for start in range(0, len(items), _BATCH):
                with self.db.transaction():
                    self._put_batch(items[start : start + _BATCH], result)
        except BaseException:
            self._reader_sets.clear()  # ids made in a rolled-back transaction are gone
            raise
        return result

    def _put_batch(self, given: Sequence[Item], result: PutResult) -> None:
        items = [without_nul(item) for item in given]
        existing = self._existing_versions(items)
        now = now_utc()
        for item in items:
            digest = item.content_hash
            key = (item.source_id, item.external_id)
            versions = existing.setdefault(key, {})
            if digest in versions:
                result.unchanged += 1
                result.ids.append(versions[digest])
                continue
            if versions:
                self._supersede(item.source_id, item.external_id)
                result.superseded += 1
            item_id = self._insert_item(item, digest, now)
            versions[digest] = item_id
            result.added += 1
            result.ids.append(item_id)

    def _existing_versions(self, items: Sequence[Item]) -> dict[tuple[int, str], dict[str, int]]:
        found: dict[tuple[int, str], dict[str, int]] = {}
        by_source: dict[int, list[str]] = {}
        for item in items:
            by_source.setdefault(item.source_id, []).append(item.external_id)
        for source_id, external_ids in by_source.items():
            names = {f"x{n}": e for n, e in enumerate(dict.fromkeys(external_ids))}
            marks = ", ".join(f":{k}" for k in names)
            rows = self.db.rows(
                f"""SELECT id, external_id, content_hash FROM items
                WHERE source_id = :s AND external_id IN ({marks})""",
                {"s": source_id, **names},
            )
            for row in rows:
                key = (source_id, row["external_id"])
                found.setdefault(key, {})[row["content_hash"]] = int(row["id"])
        return found

    def _supersede(self, source_id: int, external_id: str) -> None:
        params = {"s": source_id, "x": external_id}
        self.db.execute(
            """DELETE FROM chunks WHERE item_id IN (SELECT id FROM items
            WHERE source_id = :s AND external_id = :x AND is_current)""",
            params,
        )
        self.db.execute(
            """UPDATE items SET is_current = :no
            WHERE source_id = :s AND external_id = :x AND is_current""",
            {**params, "no": False},
        )

    def _insert_item(self, item: Item, digest: str, now: datetime) -> int:
        row = self.db.row(
            """INSERT INTO items (source_id, external_id, content_hash, is_current, kind,
            thread_id, author, recipients, ts, title, body, folder, project, attachments,
            metadata, readers_id, ingested_at) VALUES (:source_id, :external_id, :hash, :yes,
            :kind, :thread_id, :author, :recipients, :ts, :title, :body, :folder, :project,
            :attachments, :metadata, :readers_id, :now) RETURNING id""",
            {
                "source_id": item.source_id,
                "external_id": item.external_id,
                "hash": digest,
                "yes": True,
                "kind": item.kind,
                "thread_id": item.thread_id,
                "author": item.author,
                "recipients": list(item.recipients),
                "ts": item.timestamp,
                "title": item.title,
                "body": item.body,
                "folder": item.folder,
                "project": item.project,
                "attachments": [_attachment_json(a) for a in item.attachments],
                "metadata": item.metadata,
                "readers_id": self._reader_set_id(item.readers),
                "now": now,
            },
        )
        if row is None:  # pragma: no cover - RETURNING always yields a row
            raise RuntimeError("insert returned no id")
        return int(row["id"])

    def get_item(self, principal: Principal, item_id: int) -> Item | None:
        """Return one item if ``principal`` may read it, else None."""
        found = self.get_items(principal, [item_id])
        return found[0] if found else None

    def get_items(self, principal: Principal, item_ids: Sequence[int]) -> list[Item]:
        """Return the items among ``item_ids`` that ``principal`` may read, in that order."""
        wanted = list(dict.fromkeys(int(i) for i in item_ids))
        if not wanted:
            return []
        found: dict[int, Item] = {}
        condition = self.db.in_ids("i.id", "_ids")
        params = {"_ids": self.db.ids_value(wanted)}
        for item in self._select_items(principal, condition, params, by_id=True):
            if item.id is not None:
                found[item.id] = item
        return [found[i] for i in wanted if i in found]

    def item_heads(self, principal: Principal, item_ids: Sequence[int]) -> list[ItemHead]:
        """Return the heads of the items among ``item_ids`` that ``principal`` may read, in order.

        A search ranks a few hundred candidates and shows ten: the heads carry
        what ranking reads, and only the items shown are fetched whole.
        """
        wanted = list(dict.fromkeys(int(i) for i in item_ids))
        readers = self._readers(principal)
        if self.db.dialect == "sqlite":
            fields = [f"json_extract(i.metadata, '$.{name}') AS {name}" for name in _HEAD_FIELDS]
        else:
            fields = [f"i.metadata ->> '{name}' AS {name}" for name in _HEAD_FIELDS]
        found: dict[int, ItemHead] = {}
        if wanted:
            sql = f"""{readers.with_clause()}
                SELECT i.id, i.external_id, i.kind, i.ts, i.title, i.author, i.thread_id,
                    i.project, {", ".join(fields)}
                FROM items i
                WHERE {readers.condition(BY_ID + "i.readers_id")}
                    AND {self.db.in_ids("i.id", "_ids")}"""
            params = {**readers.params, "_ids": self.db.ids_value(wanted)}
            for row in self.db.rows(sql, params):
                found[int(row["id"])] = ItemHead(
                    id=int(row["id"]),
                    external_id=row["external_id"],
                    kind=row["kind"],
                    timestamp=parse_time(row["ts"]) or now_utc(),
                    title=row["title"],
                    author=row["author"],
                    thread_id=row["thread_id"],
                    project=row["project"],
                    author_name=_text_or_none(row["author_name"]),
                    message_id=_text_or_none(row["message_id"]),
                )
        return [found[i] for i in wanted if i in found]

    def item_versions(self, principal: Principal, item_id: int) -> list[int]:
        """Return the ids of every version of ``item_id``'s thing that ``principal`` may read.

        Decisions point at the version they were made on; a later edit makes a
        new version, and this finds the earlier ones. Oldest first.
        """
        readers = self._readers(principal)
        sql = f"""{readers.with_clause()}
            SELECT v.id AS id FROM items i CROSS JOIN items v
            WHERE i.id = :_item AND v.source_id = i.source_id
                AND v.external_id = i.external_id AND {readers.condition("v.readers_id")}
            ORDER BY v.id"""
        return [int(row["id"]) for row in self.db.rows(sql, {**readers.params, "_item": item_id})]

    def list_items(
        self,
        principal: Principal,
        where: ItemFilter | None = None,
        limit: int | None = None,
        newest_first: bool = True,
        current_only: bool = True,
    ) -> list[Item]:
        """Return the items ``principal`` may read that match ``where``."""
        condition, params = (where or ItemFilter()).item_sql()
        if current_only:
            condition += " AND i.is_current"
        order = "DESC" if newest_first else "ASC"
        tail = f"ORDER BY i.ts {order}, i.id {order}"
        if limit is not None:
            tail += " LIMIT :_limit"
            params["_limit"] = limit
        return self._select_items(principal, condition, params, tail)

    def _select_items(
        self,
        principal: Principal,
        condition: str,
        params: dict[str, Any],
        tail: str = "",
        by_id: bool = False,
    ) -> list[Item]:
        readers = self._readers(principal)
        column = (BY_ID if by_id else "") + "i.readers_id"
        sql = f"""{readers.with_clause()}
            SELECT i.*, r.principals FROM items i JOIN reader_sets r ON r.id = i.readers_id
            WHERE {readers.condition(column)} AND {condition} {tail}"""
        return [_item(row) for row in self.db.rows(sql, {**readers.params, **params})]

    def count_items(self, principal: Principal, where: ItemFilter | None = None) -> dict[str, int]:
        """Return how many current items of each kind ``principal`` may read."""
        condition, params = (where or ItemFilter()).item_sql()
        readers = self._readers(principal)
        sql = f"""{readers.with_clause()}
            SELECT i.kind AS kind, count(*) AS n FROM items i
            WHERE i.is_current AND {readers.condition("i.readers_id")} AND {condition}
            GROUP BY i.kind ORDER BY i.kind"""
        return {
            row["kind"]: int(row["n"]) for row in self.db.rows(sql, {**readers.params, **params})
        }

    def item_hashes(self, source_id: int) -> dict[str, str]:
        """Return external id → content hash of a source's current items."""
        rows = self.db.rows(
            "SELECT external_id, content_hash FROM items WHERE source_id = :s AND is_current",
            {"s": source_id},
        )
        return {row["external_id"]: row["content_hash"] for row in rows}

    def items_without_chunks(self, limit: int = 1000) -> list[Item]:
        """Return current items not chunked yet (maintenance; no principal)."""
        return self._select_items(
            Principal.maintenance(),
            "i.is_current AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.item_id = i.id)",
            {"_limit": limit},
            "ORDER BY i.id LIMIT :_limit",
        )

    def put_chunks(self, drafts: Sequence[ChunkDraft]) -> None:
        """Store chunks; each takes its readers, kind, project and time from its item."""
        rows = [
            {
                "item": d.item_id,
                "ordinal": d.ordinal,
                "title": d.title,
                "text": d.text,
                "hash": text_hash(d.text),
            }
            for d in drafts
        ]
        self._writes += 1
        with self.db.transaction():
            self.db.executemany(
                """INSERT INTO chunks (item_id, ordinal, title, text, text_hash, readers_id, kind,
                project, author, ts) SELECT :item, :ordinal, :title, :text, :hash, readers_id,
                kind, project, author, ts FROM items WHERE id = :item
                ON CONFLICT (item_id, ordinal) DO NOTHING""",
                rows,
            )

    def get_chunks(self, principal: Principal, chunk_ids: Sequence[int]) -> list[Chunk]:
        """Return the chunks among ``chunk_ids`` that ``principal`` may read, in that order."""
        wanted = list(dict.fromkeys(int(i) for i in chunk_ids))
        found: dict[int, Chunk] = {}
        readers = self._readers(principal)
        if wanted:
            sql = f"""{readers.with_clause()}
                SELECT c.id, c.item_id, c.ordinal, c.text FROM chunks c
                WHERE {self.db.in_ids("c.id", "_ids")}
                    AND {readers.condition(BY_ID + "c.readers_id")}"""
            params = {**readers.params, "_ids": self.db.ids_value(wanted)}
            for row in self.db.rows(sql, params):
                found[int(row["id"])] = Chunk(
                    item_id=int(row["item_id"]),
                    ordinal=int(row["ordinal"]),
                    text=row["text"],
                    id=int(row["id"]),
                )
        return [found[i] for i in wanted if i in found]

    def chunk_vectors(
        self, principal: Principal, model: str, chunk_ids: Sequence[int]
    ) -> dict[int, NDArray[np.float32]]:
        """Return ``model``'s vectors of the chunks among ``chunk_ids`` ``principal`` may read."""
        return dict(self._vectors_by(principal, model, "id", chunk_ids))

    def item_vectors(
        self, principal: Principal, model: str, item_ids: Sequence[int]
    ) -> dict[int, NDArray[np.float32]]:
        """Return, per item among ``item_ids``, ``model``'s vectors of the chunks
        ``principal`` may read (one row per chunk)."""
        rows_of: dict[int, list[NDArray[np.float32]]] = {}
        for item, vector in self._vectors_by(principal, model, "item_id", item_ids):
            rows_of.setdefault(item, []).append(vector)
        return {item: np.stack(vectors) for item, vectors in rows_of.items()}

    def _vectors_by(
        self, principal: Principal, model: str, column: str, ids: Sequence[int]
    ) -> list[tuple[int, NDArray[np.float32]]]:
        """Return (chunk ``column``, vector) of readable chunks whose ``column`` is in ``ids``.

        ``CROSS JOIN`` keeps SQLite on the ids first: it would otherwise scan
        every vector of the model.
        """
        wanted = list(dict.fromkeys(int(i) for i in ids))
        if not wanted:
            return []
        readers = self._readers(principal)
        sql = f"""{readers.with_clause()}
            SELECT c.{column} AS k, e.vector AS v FROM chunks c CROSS JOIN embeddings e
            WHERE {self.db.in_ids("c." + column, "_ids")}
                AND {readers.condition(BY_ID + "c.readers_id")}
                AND e.model = :_model AND e.text_hash = c.text_hash"""
        params = {**readers.params, "_ids": self.db.ids_value(wanted), "_model": model}
        return [
            (int(row["k"]), np.frombuffer(bytes(row["v"]), dtype=np.float32))
            for row in self.db.rows(sql, params)
        ]


def _attachment_json(attachment: Attachment) -> dict[str, Any]:
    return {
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "text": attachment.text,
        "error": attachment.error,
    }


def _text_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _item(row: dict[str, Any]) -> Item:
    return Item(
        id=int(row["id"]),
        source_id=int(row["source_id"]),
        external_id=row["external_id"],
        kind=row["kind"],
        timestamp=parse_time(row["ts"]) or now_utc(),
        readers=frozenset(from_json(row["principals"]) or ()),
        title=row["title"],
        body=row["body"],
        author=row["author"],
        recipients=tuple(from_json(row["recipients"]) or ()),
        thread_id=row["thread_id"],
        folder=row["folder"],
        project=row["project"],
        attachments=tuple(Attachment(**a) for a in from_json(row["attachments"]) or ()),
        metadata=from_json(row["metadata"]) or {},
    )


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def _clean(value: Any) -> Any:
    """Return ``value`` with NUL characters removed from every string inside it."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_clean(v) for v in value)
    return value


def without_nul(item: Item) -> Item:
    """Return ``item`` without NUL characters, which PostgreSQL text and JSON refuse.

    Both backends store the same text, so an item hashes alike on either.
    """
    fields = (item.title, item.body, item.external_id, item.thread_id, item.folder, item.author)
    attached = [(a.name, a.text) for a in item.attachments]
    if not _has_nul([fields, attached, item.recipients, item.metadata]):
        return item
    return replace(
        item,
        title=_clean(item.title),
        body=_clean(item.body),
        external_id=_clean(item.external_id),
        thread_id=_clean(item.thread_id),
        folder=_clean(item.folder),
        author=_clean(item.author),
        recipients=_clean(item.recipients),
        attachments=tuple(
            replace(a, name=_clean(a.name), text=_clean(a.text)) for a in item.attachments
        ),
        metadata=_clean(item.metadata),
    )
