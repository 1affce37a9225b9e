"""Maildir mailboxes (standard and Enron's layout), and the reading all stored mail shares.

A mail connector lists the stored copies of its messages (``MailCopy``: a
file, or a span of an mbox file) and ``read_copies`` does the rest, the same
way for Maildir, mbox and .eml folders:

1. Copies whose file changed since the cursor are parsed in full; unchanged
   ones only have their headers read, to rebuild threads over the mailbox.
2. Copies with the same content key (sender, date, subject, body) are one
   message: Enron keeps one message in ``sent``, ``sent_items`` and
   ``_sent_mail`` under different Message-IDs. The message is yielded once,
   with every folder it was found in.
3. Threads are rebuilt from Message-ID, In-Reply-To and References, or by
   subject, participants and time where those headers are missing.
4. A checkpoint every ``CHECKPOINT_EVERY`` messages records, per file, its
   stamp and key, and per message a digest of its copies and thread; a
   message is yielded again only when that digest changes, so a second sync
   adds nothing and a killed sync resumes with the same result.

Mail read from a server (IMAP) has no files to list again; it groups its
copies into the same ``MailMessage`` and shares ``thread_ids``,
``message_digest``, ``message_draft`` and ``owner_addresses`` with this
reading, so a message means the same wherever it was read.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from abc import abstractmethod
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, Generic, Protocol, TypeVar

from understudy.records import Decision
from understudy.sources.base import Checkpoint, Connector, Draft, Problem, Reading
from understudy.sources.decisions import (
    THREAD_SUBJECT_WINDOW,
    folder_role,
    normalize_subject,
    observe_mail,
)
from understudy.sources.mail import (
    ATTACHMENT_EXTRACT_LIMIT,
    Envelope,
    ParsedMail,
    UnreadableMail,
    mail_draft,
    parse_mail,
    read_envelope,
)

__all__ = [
    "CHECKPOINT_EVERY",
    "CURSOR_VERSION",
    "LARGE_MESSAGE_BYTES",
    "MailConnector",
    "MailCopy",
    "MailMessage",
    "MaildirConnector",
    "MessageShrinker",
    "ParseCache",
    "StoredCopy",
    "infer_owner_email",
    "maildir_copies",
    "message_digest",
    "message_draft",
    "owner_addresses",
    "parse_or_reason",
    "read_copies",
    "thread_ids",
]

CHECKPOINT_EVERY = 500
CURSOR_VERSION = 1
# Parsed messages kept between the two passes; beyond this they are parsed again.
PARSE_CACHE_CHARS = 200_000_000
# Messages bigger than this are read line by line, dropping what is too big to keep.
LARGE_MESSAGE_BYTES = 32 * 2**20
TEXT_KEEP_BYTES = 4 * 2**20
PART_KEEP_BYTES = ATTACHMENT_EXTRACT_LIMIT * 3 // 2
_HEAD_READ = 64 * 1024
_HEAD_MAX = 2 * 2**20
_LINE_MAX = 64 * 1024
_ROLE_RANK = {"sent": 0, "own": 1, "trash": 2, "inbox": 3, "drafts": 4, "system": 5, "copy": 6}
_HEAD_PARSER = BytesHeaderParser(policy=compat32)


def _lines(handle: BinaryIO, length: int) -> Iterator[bytes]:
    remaining = length
    while remaining > 0:
        # A bounded readline keeps a huge run of bytes without newlines out of memory.
        line = handle.readline(min(_LINE_MAX, remaining))
        if not line:
            return
        remaining -= len(line)
        yield line


class MessageShrinker:
    """Rebuild a message line by line, leaving out part bodies too big to keep.

    A text part keeps its first ``TEXT_KEEP_BYTES`` and is marked
    ``X-Understudy-Truncated``; any other part over ``PART_KEEP_BYTES`` keeps
    only its headers, marked ``X-Understudy-Omitted`` with its decoded size, which
    ``parse_mail`` turns into an attachment with ``error="too large"``.
    """

    def __init__(self) -> None:
        self.out: list[bytes] = []
        self.boundaries: list[bytes] = []
        self.head: list[bytes] = []
        self.head_size = 0
        self.in_head = True
        self._open_body(keep_start=True)

    def _open_body(self, keep_start: bool) -> None:
        self.body: list[bytes] = []
        self.size = 0
        self.newlines = 0
        self.base64 = False
        self.dropping = False
        self.keep_start = keep_start
        self.limit = TEXT_KEEP_BYTES if keep_start else PART_KEEP_BYTES

    def feed(self, line: bytes) -> None:
        """Take the next line of the message."""
        if self.in_head:
            self.head.append(line)
            self.head_size += len(line)
            if not line.strip(b"\r\n") or self.head_size > _HEAD_MAX:
                self._headers_done()
            return
        if self.boundaries and line.startswith(b"--") and self._boundary(line):
            return
        if not self.dropping and self.size + len(line) > self.limit:
            self.dropping = True
            if not self.keep_start:
                self.body = []
        self.size += len(line)
        self.newlines += len(line) - len(line.rstrip(b"\r\n"))
        if not self.dropping:
            self.body.append(line)

    def _headers_done(self) -> None:
        part = _HEAD_PARSER.parsebytes(b"".join(self.head))
        ctype = part.get_content_type()
        boundary = part.get_param("boundary") if ctype.startswith("multipart/") else None
        if isinstance(boundary, str) and boundary:
            self.boundaries.append(b"--" + boundary.encode("utf-8", "surrogateescape"))
        attached = "attachment" in str(part.get("content-disposition", "")).lower()
        textual = ctype.startswith(("text/", "multipart/")) and not attached
        self._open_body(keep_start=textual)
        self.base64 = str(part.get("content-transfer-encoding", "")).strip().lower() == "base64"
        self.in_head = False
        self.head_size = 0

    def _boundary(self, line: bytes) -> bool:
        stripped = line.rstrip()
        for index in range(len(self.boundaries) - 1, -1, -1):
            mark = self.boundaries[index]
            if stripped not in (mark, mark + b"--"):
                continue
            self._close_part()
            self.out.append(line)
            if stripped == mark:
                del self.boundaries[index + 1 :]
                self.in_head = True
            else:
                del self.boundaries[index:]
                self._open_body(keep_start=True)
            return True
        return False

    def _close_part(self) -> None:
        head = self.head
        if self.dropping and head:
            name = b"X-Understudy-Truncated" if self.keep_start else b"X-Understudy-Omitted"
            size = self.size
            if self.base64:
                size = (size - self.newlines) * 3 // 4
            head = [*head[:-1], b"%s: %d\n" % (name, size), head[-1]]
        self.out.extend(head)
        self.out.extend(self.body)
        self.head, self.body = [], []

    def result(self) -> bytes:
        """Return the rebuilt message."""
        if self.in_head:
            self.out.extend(self.head)
            self.head = []
        else:
            self._close_part()
        return b"".join(self.out)


@dataclass(frozen=True, slots=True)
class MailCopy:
    """One stored copy of a message: a file, or a span of an mbox file.

    ``ref`` names the copy within its source and ``stamp`` changes whenever
    the copy does; ``location`` is what a problem report names.
    """

    ref: str
    folder: str
    stamp: str
    location: str
    path: Path
    received: datetime
    offset: int = 0
    length: int | None = None

    def read(self) -> bytes:
        """Return the bytes of the message, streaming it when it is large."""
        with self.path.open("rb") as handle:
            length = self.length
            if length is None:
                length = os.fstat(handle.fileno()).st_size - self.offset
            handle.seek(self.offset)
            if length <= LARGE_MESSAGE_BYTES:
                return handle.read(length)
            shrinker = MessageShrinker()
            for line in _lines(handle, length):
                shrinker.feed(line)
            return shrinker.result()

    def read_head(self) -> bytes:
        """Return the start of the message, enough to hold its headers."""
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            end = _HEAD_MAX if self.length is None else min(_HEAD_MAX, self.length)
            data = handle.read(min(_HEAD_READ, end))
            while b"\n\n" not in data and b"\r\n\r\n" not in data and len(data) < end:
                more = handle.read(min(_HEAD_READ, end - len(data)))
                if not more:
                    break
                data += more
            return data


class StoredCopy(Protocol):
    """What grouping and threading need of a stored copy: its name, folder and version."""

    @property
    def ref(self) -> str:
        """Return the name of the copy within its source."""

    @property
    def folder(self) -> str:
        """Return the folder holding the copy."""

    @property
    def stamp(self) -> str:
        """Return a mark that changes whenever the copy does."""


CopyT = TypeVar("CopyT", bound=StoredCopy)


@dataclass(slots=True)
class MailMessage(Generic[CopyT]):
    """One unique message and the copies of it found in the mailbox."""

    key: str
    copies: list[tuple[CopyT, Envelope]] = field(default_factory=list)

    def representative(self) -> tuple[CopyT, Envelope]:
        """Return the copy whose folder names the message: sent, filed, inbox, then copies."""
        return min(self.copies, key=lambda pair: (_folder_rank(pair[0].folder), pair[0].ref))

    def folders(self) -> list[str]:
        """Return every folder holding a copy."""
        return sorted({copy.folder for copy, _ in self.copies})


def _folder_rank(folder: str) -> tuple[int, int, str]:
    return (_ROLE_RANK[folder_role(folder)], 0 if folder.lower() == "sent" else 1, folder)


class _Manifest:
    """The cursor of a mail collection: per copy its stamp and key, per message a digest."""

    def __init__(self, cursor: Mapping[str, Any], owners: list[str]) -> None:
        valid = cursor.get("version") == CURSOR_VERSION
        self.files: dict[str, list[str]] = dict(cursor.get("files") or {}) if valid else {}
        self.groups: dict[str, str] = dict(cursor.get("groups") or {}) if valid else {}
        self.previous_owners = cursor.get("owners") if valid else None
        self.owners = owners

    def unchanged(self, copy: MailCopy) -> bool:
        """Return whether ``copy`` was read before and has not changed since."""
        entry = self.files.get(copy.ref)
        return entry is not None and entry[0] == copy.stamp

    def changed(self, copies: Sequence[MailCopy]) -> bool:
        """Return whether anything is new, changed or gone since the cursor."""
        if self.previous_owners != self.owners or len(copies) != len(self.files):
            return True
        return not all(self.unchanged(copy) for copy in copies)

    def count_changed(self, copies: Sequence[MailCopy]) -> int:
        """Return how many copies need a full read."""
        if not self.changed(copies):
            return 0
        if self.previous_owners != self.owners:
            return len(copies)
        return sum(1 for copy in copies if not self.unchanged(copy))

    def done(self, message: MailMessage[MailCopy], digest: str) -> None:
        """Record that ``message`` was yielded with all its copies."""
        for copy, _ in message.copies:
            self.files[copy.ref] = [copy.stamp, message.key]
        self.groups[message.key] = digest

    def unreadable(self, copy: MailCopy) -> None:
        """Record a copy that cannot be read, so it is not retried until it changes."""
        self.files[copy.ref] = [copy.stamp, ""]

    def finish(self, copies: Sequence[MailCopy]) -> None:
        """Forget copies that are gone and messages with no copy left."""
        present = {copy.ref for copy in copies}
        self.files = {ref: entry for ref, entry in self.files.items() if ref in present}
        keys = {entry[1] for entry in self.files.values()}
        self.groups = {key: digest for key, digest in self.groups.items() if key in keys}

    def cursor(self) -> dict[str, Any]:
        """Return the cursor to save."""
        return {
            "version": CURSOR_VERSION,
            "owners": list(self.owners),
            "files": dict(self.files),
            "groups": dict(self.groups),
        }


class ParseCache:
    """Messages parsed in the first pass, kept for the second within a size budget."""

    def __init__(self, budget: int = PARSE_CACHE_CHARS) -> None:
        self.budget = budget
        self.parsed: dict[str, ParsedMail] = {}

    def put(self, ref: str, parsed: ParsedMail) -> None:
        """Keep ``parsed`` for later if the budget allows."""
        size = len(parsed.body) + sum(len(a.text) for a in parsed.attachments)
        if size <= self.budget:
            self.budget -= size
            self.parsed[ref] = parsed

    def get(self, ref: str) -> ParsedMail | None:
        """Return the parsed copy ``ref``, if it was kept, and keep it."""
        return self.parsed.get(ref)

    def take(self, ref: str) -> ParsedMail | None:
        """Return and forget the parsed copy ``ref``, if it was kept."""
        return self.parsed.pop(ref, None)


def parse_or_reason(raw: bytes, received: datetime) -> ParsedMail | str:
    """Return the parsed message, or why it cannot be read."""
    try:
        return parse_mail(raw, received)
    except UnreadableMail as exc:
        return exc.message
    except (RecursionError, MemoryError, ValueError, LookupError, TypeError) as exc:
        return f"cannot parse the message: {type(exc).__name__}: {exc}"[:300]


def _parse_copy(copy: MailCopy) -> ParsedMail | str:
    """Return the parsed copy, or why it cannot be read."""
    try:
        raw = copy.read()
    except OSError as exc:
        return f"cannot read the file: {exc.strerror or exc}"
    return parse_or_reason(raw, copy.received)


class _Collection:
    """One sync of a mail collection: the copies, grouped into messages."""

    def __init__(self, manifest: _Manifest) -> None:
        self.manifest = manifest
        self.messages: dict[str, MailMessage[MailCopy]] = {}
        self.cache = ParseCache()

    def scan(self, copy: MailCopy) -> Iterator[Problem]:
        """Read one copy (headers only when unchanged) and file it under its key."""
        if self.manifest.unchanged(copy):
            key = self.manifest.files[copy.ref][1]
            if key:
                try:
                    envelope = read_envelope(copy.read_head(), copy.received)
                except (OSError, UnreadableMail):
                    return  # gone or replaced since listed; the next sync sees it
                self._add(key, copy, envelope)
            return
        parsed = _parse_copy(copy)
        if isinstance(parsed, str):
            yield Problem(copy.location, parsed)
            if not parsed.startswith("cannot read the file"):
                self.manifest.unreadable(copy)
            return
        for reason in parsed.problems:
            yield Problem(copy.location, reason)
        self.cache.put(copy.ref, parsed)
        self._add(parsed.key, copy, parsed.envelope)

    def _add(self, key: str, copy: MailCopy, envelope: Envelope) -> None:
        self.messages.setdefault(key, MailMessage(key)).copies.append((copy, envelope))

    def draft(
        self, message: MailMessage[MailCopy], thread_id: str, owners: frozenset[str]
    ) -> Reading | None:
        """Return the draft of a message from its representative copy, or a problem."""
        copy, _ = message.representative()
        parsed = self.cache.take(copy.ref) or _parse_copy(copy)
        if isinstance(parsed, str):
            return Problem(copy.location, parsed)
        if parsed.key != message.key:
            return None  # the file changed while we read; the next sync takes it
        return message_draft(message, parsed, thread_id, owners)


def owner_addresses(
    messages: Iterable[MailMessage[Any]], configured: Sequence[str]
) -> frozenset[str]:
    """Return the owner's addresses: as configured, else the usual sender of sent folders."""
    if configured:
        return frozenset(configured)
    senders: Counter[str] = Counter()
    for message in messages:
        copy, envelope = message.representative()
        if envelope.sender and folder_role(copy.folder) == "sent":
            senders[envelope.sender.email] += 1
    return frozenset([min(senders, key=lambda s: (-senders[s], s))] if senders else [])


def message_draft(
    message: MailMessage[Any], parsed: ParsedMail, thread_id: str, owners: frozenset[str]
) -> Draft:
    """Return the draft of a message, ``parsed`` from its representative copy."""
    copy, envelope = message.representative()
    folders = message.folders()
    sender = envelope.sender.email if envelope.sender else ""
    sent = sender in owners or any(folder_role(f) == "sent" for f in folders)
    draft = mail_draft(
        parsed,
        folder=copy.folder,
        folders=folders,
        sent=sent,
        path=copy.ref,
        thread_id=thread_id,
    )
    # Every copy's path: an outside scorer labels files, and one message may be several.
    draft.metadata["copies"] = sorted({c.ref for c, _ in message.copies})
    return draft


def message_digest(message: MailMessage[Any], thread_id: str, owners: frozenset[str]) -> str:
    """Return what must change for a yielded message to be yielded again."""
    copies = sorted([copy.ref, copy.stamp] for copy, _ in message.copies)
    payload = json.dumps([copies, thread_id, sorted(owners)], ensure_ascii=False)
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=8).hexdigest()


def read_copies(
    copies: Sequence[MailCopy],
    cursor: Mapping[str, Any],
    owner_emails: Sequence[str] = (),
    final: Mapping[str, Any] | None = None,
) -> Iterator[Reading]:
    """Yield drafts, problems and checkpoints for the copies that changed since ``cursor``.

    ``final`` is merged into the last checkpoint only: what may be trusted
    once the whole collection has been read (an mbox file's size and time).
    """
    configured = sorted({e.strip().lower() for e in owner_emails if e.strip()})
    manifest = _Manifest(cursor, configured)
    ordered = sorted(copies, key=lambda c: c.ref)
    if not manifest.changed(ordered):
        if final and any(cursor.get(k) != v for k, v in final.items()):
            yield Checkpoint({**manifest.cursor(), **final})
        return
    collection = _Collection(manifest)
    for copy in ordered:
        yield from collection.scan(copy)
    owners = owner_addresses(collection.messages.values(), configured)
    messages = sorted(collection.messages.values(), key=lambda m: m.copies[0][0].ref)
    threads = thread_ids(messages, owners)
    pending = 0
    for message in messages:
        digest = message_digest(message, threads[message.key], owners)
        if manifest.groups.get(message.key) == digest:
            continue
        reading = collection.draft(message, threads[message.key], owners)
        if reading is not None:
            yield reading
        if isinstance(reading, Draft):
            manifest.done(message, digest)
            pending += 1
        if pending >= CHECKPOINT_EVERY:
            yield Checkpoint(manifest.cursor())
            pending = 0
    manifest.finish(ordered)
    yield Checkpoint({**manifest.cursor(), **(final or {})})


class _UnionFind:
    """Sets of message keys and Message-IDs that belong to one thread."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, node: str) -> str:
        """Return the node that stands for ``node``'s set."""
        root = node
        while self.parent.setdefault(root, root) != root:
            root = self.parent[root]
        while node != root:
            self.parent[node], node = root, self.parent[node]
        return root

    def union(self, first: str, second: str) -> None:
        """Join the sets of two nodes; the smaller name stands for both."""
        a, b = self.find(first), self.find(second)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


@dataclass(frozen=True, slots=True)
class _ThreadFacts:
    key: str
    ids: frozenset[str]
    parents: tuple[str, ...]
    subject: str
    prefixed: bool
    at: datetime
    dated: bool
    people: frozenset[str]


def _facts(message: MailMessage[Any], owners: frozenset[str]) -> _ThreadFacts:
    _, envelope = message.representative()
    ids = frozenset(e.message_id for _, e in message.copies if e.message_id)
    parents = tuple(
        dict.fromkeys(p for _, e in message.copies for p in e.in_reply_to + e.references)
    )
    subject = normalize_subject(envelope.subject)
    contacts = [envelope.sender, *envelope.to, *envelope.cc]
    return _ThreadFacts(
        key=message.key,
        ids=ids,
        parents=tuple(p for p in parents if p not in ids),
        subject=subject,
        prefixed=subject != " ".join(envelope.subject.casefold().split()),
        at=envelope.timestamp,
        dated=envelope.date_fallback is None,
        people=frozenset(c.email for c in contacts if c is not None) - owners,
    )


def thread_ids(messages: Sequence[MailMessage[Any]], owners: frozenset[str]) -> dict[str, str]:
    """Return a thread id for each message key, stable for the same set of messages.

    Messages join a thread through Message-ID, In-Reply-To and References. A
    reply or forward (by its subject prefix) with none of those headers joins
    the latest earlier message with the same normalized subject and a shared
    participant other than the owner, within ``THREAD_SUBJECT_WINDOW``. A
    thread is named after its earliest message.
    """
    facts = [_facts(message, owners) for message in messages]
    links = _UnionFind()
    for fact in facts:
        node = "k:" + fact.key
        links.find(node)
        for other in (*fact.ids, *fact.parents):
            links.union(node, "i:" + other)
    _link_by_subject(facts, links)
    roots: dict[str, tuple[datetime, str]] = {}
    for fact in facts:
        root = links.find("k:" + fact.key)
        candidate = (fact.at, fact.key)
        if root not in roots or candidate < roots[root]:
            roots[root] = candidate
    return {fact.key: "t:" + roots[links.find("k:" + fact.key)][1][:24] for fact in facts}


def _link_by_subject(facts: Sequence[_ThreadFacts], links: _UnionFind) -> None:
    buckets: dict[str, list[_ThreadFacts]] = defaultdict(list)
    for fact in facts:
        if fact.subject and fact.dated:
            buckets[fact.subject].append(fact)
    for bucket in buckets.values():
        if len(bucket) < 2:
            continue
        bucket.sort(key=lambda f: (f.at, f.key))
        times = [f.at for f in bucket]
        for index, fact in enumerate(bucket):
            if fact.parents or not fact.prefixed or not fact.people:
                continue
            first = bisect_left(times, fact.at - THREAD_SUBJECT_WINDOW)
            for earlier in reversed(bucket[first:index]):
                if earlier.people & fact.people:
                    links.union("k:" + fact.key, "k:" + earlier.key)
                    break


class MailConnector(Connector):
    """Base of the connectors of stored mail: a subclass lists the copies, the rest is shared."""

    item_kinds: ClassVar[tuple[str, ...]] = ("email",)
    _copies: list[MailCopy] | None = None

    @abstractmethod
    def copies(self) -> list[MailCopy]:
        """Return every stored copy of a message in the source."""

    def _listing(self) -> list[MailCopy]:
        if self._copies is None:
            self._copies = self.copies()
        return self._copies

    def read(self, cursor: dict[str, Any]) -> Iterator[Reading]:
        """Yield the messages that are new or changed since ``cursor``."""
        yield from read_copies(self._listing(), cursor, self.context.owner_emails)

    def estimate(self, cursor: dict[str, Any]) -> int | None:
        """Return how many stored copies need a full read."""
        configured = sorted({e.strip().lower() for e in self.context.owner_emails if e.strip()})
        try:
            copies = self._listing()
        except OSError:
            return None  # read() meets the same error and reports it
        return _Manifest(cursor, configured).count_changed(copies)

    def observe(self, items: Sequence[Any]) -> list[Decision]:
        """Return the owner's reply, forward, file, delete, ignore and calendar decisions."""
        return observe_mail(items, self.source.owner, self.context.owner_emails)


def _clean_ref(text: str) -> str:
    # File names that are not UTF-8 must still go into JSON and PostgreSQL.
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class _FolderDir:
    """A directory of message files, the folder it belongs to, and how its files are named.

    In a standard Maildir a mail program renames files as they are read and
    flagged (``new/`` to ``cur/``, ``:2,S``), so a file is named by its folder
    and the unique part of its name; moving or flagging it changes nothing.
    """

    folder: str
    path: Path
    prefix: str
    standard: bool


def _file_copies(place: _FolderDir) -> Iterator[MailCopy]:
    try:
        entries = sorted(os.scandir(place.path), key=lambda e: e.name)
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_file():
            continue
        stat = entry.stat()
        name = entry.name.split(":2,")[0] if place.standard else entry.name
        yield MailCopy(
            ref=_clean_ref(f"{place.prefix}/{name}" if place.prefix else name),
            folder=place.folder,
            stamp=f"{stat.st_mtime_ns}:{stat.st_size}",
            location=_clean_ref(entry.path),
            path=Path(entry.path),
            received=datetime.fromtimestamp(stat.st_mtime, UTC),
            length=stat.st_size,
        )


def _maildir_folder_name(relative: Path) -> str:
    """Return a folder's name: ``.Projects.Atlas`` (Maildir++) is ``Projects/Atlas``."""
    parts: list[str] = []
    for part in relative.parts:
        parts.extend(part[1:].split(".") if part.startswith(".") else [part])
    return "/".join(p for p in parts if p) or "INBOX"


def _folders(root: Path) -> Iterator[_FolderDir]:
    """Yield the directories of message files of both Maildir layouts."""
    standard = (root / "cur").is_dir() or (root / "new").is_dir()
    for directory, subdirs, _ in os.walk(root):
        subdirs.sort()
        here = Path(directory)
        relative = here.relative_to(root)
        prefix = relative.as_posix() if relative.parts else ""
        if not standard:
            yield _FolderDir(_clean_ref(prefix or "INBOX"), here, prefix, False)
            continue
        subdirs[:] = [d for d in subdirs if d not in ("cur", "new", "tmp")]
        if (here / "cur").is_dir() or (here / "new").is_dir():
            name = _clean_ref(_maildir_folder_name(relative))
            yield _FolderDir(name, here / "cur", prefix, True)
            yield _FolderDir(name, here / "new", prefix, True)


def maildir_copies(root: Path) -> list[MailCopy]:
    """Return every message file of a Maildir, standard (cur/new) or Enron's (folder/n.)."""
    if not root.is_dir():
        raise FileNotFoundError(
            errno.ENOENT,
            "no such mailbox directory; give the path of one person's Maildir",
            str(root),
        )
    copies = [copy for place in _folders(root) for copy in _file_copies(place)]
    # A file moved from new/ to cur/ between two directory listings shows up twice.
    return list({copy.ref: copy for copy in copies}.values())


def infer_owner_email(path: str | Path) -> str | None:
    """Return the most common From address in a mailbox's sent folders, or None."""
    senders: Counter[str] = Counter()
    for copy in maildir_copies(Path(path).expanduser()):
        if folder_role(copy.folder) != "sent":
            continue
        try:
            envelope = read_envelope(copy.read_head(), copy.received)
        except (OSError, UnreadableMail):
            continue
        if envelope.sender:
            senders[envelope.sender.email] += 1
    return min(senders, key=lambda s: (-senders[s], s)) if senders else None


class MaildirConnector(MailConnector):
    """Read one person's Maildir: standard (cur/new, Maildir++ folders) or Enron's layout."""

    kind: ClassVar[str] = "maildir"
    description: ClassVar[str] = (
        "One person's Maildir: standard (cur/new with .Sent-style folders) or the Enron "
        "layout (<folder>/<n>.); copies in several folders become one message"
    )
    location_help: ClassVar[str] = "the path of one person's mailbox directory"

    def copies(self) -> list[MailCopy]:
        """Return every message file of the mailbox."""
        return maildir_copies(Path(self.source.location).expanduser())
