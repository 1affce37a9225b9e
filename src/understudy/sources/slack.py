"""The ``slack`` connector: a Slack export, as a zip or an unpacked folder.

An export holds ``users.json``, ``channels.json`` (public channels),
``groups.json`` (private channels), optionally ``mpims.json`` and
``dms.json`` (group and direct messages), and one folder per conversation of
``YYYY-MM-DD.json`` message lists. Each message becomes one ``message`` item:
``external_id`` is ``<channel>/<ts>``, ``thread_id`` is ``<channel>/<thread
ts or ts>``, mentions and links are rendered as text, and an edited
message keeps its ``edited`` marker (and its previous text when the export
has a ``message_changed`` record for it).

Readers are never wider than Slack's: a public channel's messages may be read
by ``group:everyone`` and its members, a private channel's, group DM's or
DM's by its members only. A folder no channel list names is read as private
to the source's owner.

A zip is read entry by entry, never unpacked to disk. Entries with absolute
paths or ``..`` are refused, and so are entries whose declared or actual size
passes ``max_entry_bytes`` (200 MB), that expand more than ``max_ratio``
(100) times, or that take the export past ``max_total_bytes`` (1 GB). Each
refusal is a problem naming the zip and the entry; the rest is read.

The cursor keeps a digest of the user and channel lists and a signature per
day file (modification time and size in a folder, CRC and size in a zip):
only changed days are read again, and a changed membership reads them all.

Decision rules (what ``observe`` records for the source's owner): in a thread
someone else started, the owner's first reply is a ``reply`` to the thread's
first message; in a DM, an owner's message that follows someone else's is a
``reply`` to that message. ``at`` is the reply's time, ``latency_seconds`` the
time since the message it answers, ``text`` the reply's text.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

from understudy.records import EVERYONE, Attachment, Decision, Item
from understudy.sources.base import Checkpoint, Connector, Contact, Draft, Problem, Reading

__all__ = ["SlackConnector"]

MAX_ENTRY_BYTES = 200 * 1024 * 1024
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
MAX_RATIO = 100
_RATIO_FLOOR = 1024 * 1024  # small files may compress well without being bombs
_CHUNK = 1024 * 1024
_DAY = re.compile(r"^(?P<folder>[^/]+)/(?P<day>\d{4}-\d{2}-\d{2})\.json$")
_TOKEN = re.compile(r"<([^<>\n]+)>")
_MESSAGE = re.compile(rb'"type"\s*:\s*"message"')
_LISTS = {
    "channels.json": "public",
    "groups.json": "private",
    "mpims.json": "mpim",
    "dms.json": "dm",
}
_SPECIAL = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}
_SKIPPED = {"message_deleted", "message_replied"}


class _Refused(Exception):
    """An entry the connector will not read, and why (a signal, not an error)."""


@dataclass(frozen=True, slots=True)
class _Limits:
    entry: int
    total: int
    ratio: float


class _Export(ABC):
    """The files of one export, whether a folder or a zip."""

    def __init__(self, label: str, limits: _Limits) -> None:
        self.label = label
        self.limits = limits
        self.problems: list[Problem] = []
        self.entries: dict[str, list[int]] = {}

    @abstractmethod
    def read(self, name: str) -> bytes:
        """Return an entry's bytes, or raise ``_Refused``."""

    def where(self, name: str) -> str:
        """Return how a problem names an entry."""
        return f"{self.label}/{name}"

    def close(self) -> None:  # noqa: B027 - a folder holds nothing open
        """Release the export."""

    def __enter__(self) -> _Export:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _FolderExport(_Export):
    """An unpacked export."""

    def __init__(self, root: Path, limits: _Limits) -> None:
        super().__init__(str(root), limits)
        self.root = root
        for path in sorted(root.rglob("*.json")):
            relative = path.relative_to(root).as_posix()
            if any(part.startswith(".") for part in relative.split("/")):
                continue
            try:
                stat = path.stat()
            except OSError:
                continue  # vanished, or a dangling link: nothing to read
            self.entries[relative] = [stat.st_mtime_ns, stat.st_size]

    def read(self, name: str) -> bytes:
        size = self.entries[name][1]
        if size > self.limits.entry:
            raise _Refused(_too_big(size, self.limits.entry))
        return (self.root / name).read_bytes()


class _ZipExport(_Export):
    """A zipped export, read entry by entry with size limits."""

    def __init__(self, path: Path, limits: _Limits) -> None:
        super().__init__(str(path), limits)
        self.zip = zipfile.ZipFile(path)
        self.infos: dict[str, zipfile.ZipInfo] = {}
        self.read_so_far = 0
        declared = 0
        named = [i for i in self.zip.infolist() if not i.is_dir()]
        prefix = _prefix([i.filename for i in named if _unsafe_name(i.filename) is None])
        for info in named:
            reason = _unsafe_name(info.filename) or self._oversized(info, declared)
            if reason is not None:
                self.problems.append(Problem(self.where(info.filename), reason))
                continue
            declared += info.file_size
            if info.filename.startswith(prefix) and info.filename.endswith(".json"):
                name = info.filename[len(prefix) :]
                self.infos[name] = info
                self.entries[name] = [info.CRC, info.file_size]

    def where(self, name: str) -> str:
        return f"{self.label}!{name}"

    def _oversized(self, info: zipfile.ZipInfo, declared: int) -> str | None:
        if info.file_size > self.limits.entry:
            return f"refused: {_too_big(info.file_size, self.limits.entry)} (a zip bomb?)"
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _RATIO_FLOOR and ratio > self.limits.ratio:
            return (
                f"refused: expands {ratio:.0f} times (over {self.limits.ratio:.0f}) to "
                f"{info.file_size} bytes (a zip bomb?)"
            )
        if declared + info.file_size > self.limits.total:
            return f"refused: the export would unpack past {self.limits.total} bytes in all"
        return None

    def read(self, name: str) -> bytes:
        info = self.infos[name]
        cap = min(self.limits.entry, self.limits.total - self.read_so_far, info.file_size)
        parts: list[bytes] = []
        size = 0
        with self.zip.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > cap:
                    raise _Refused(f"refused: unpacks past {cap} bytes (declared {info.file_size})")
                parts.append(chunk)
        self.read_so_far += size
        return b"".join(parts)

    def close(self) -> None:
        self.zip.close()


def _unsafe_name(name: str) -> str | None:
    path = name.replace("\\", "/")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return "refused: an absolute path inside the zip (path traversal)"
    if ".." in path.split("/"):
        return "refused: a path that climbs out of the export with '..' (path traversal)"
    return None


def _too_big(size: int, cap: int) -> str:
    return f"{size} bytes uncompressed, over the {cap} allowed"


def _prefix(names: Sequence[str]) -> str:
    """Return the folder inside the zip that holds the export (often none)."""
    lists = [n for n in names if n.rsplit("/", 1)[-1] in ("users.json", *_LISTS)]
    if not lists:
        return ""
    shallowest = min(lists, key=lambda n: n.count("/"))
    return shallowest[: shallowest.rfind("/") + 1]


@dataclass(frozen=True, slots=True)
class _Channel:
    """One conversation: a channel, private channel, group DM or DM."""

    id: str
    name: str
    kind: str
    members: tuple[str, ...] = ()

    @property
    def private(self) -> bool:
        """Return whether only the members may read it."""
        return self.kind != "public"


@dataclass(slots=True)
class _Directory:
    """Who is who and which conversations exist, from the export's lists."""

    users: dict[str, Contact] = field(default_factory=dict)
    channels: dict[str, _Channel] = field(default_factory=dict)
    team: str = "slack"
    digest: str = ""

    def contact(self, user_id: str, name: str = "") -> Contact:
        """Return a user's contact; one not in users.json gets a synthetic address."""
        known = self.users.get(user_id)
        if known is not None:
            return known
        return Contact(f"{user_id}@{self.team}.slack.invalid".lower(), name or user_id)

    def channel_name(self, channel_id: str) -> str:
        """Return a channel's name from its id (for ``<#C123>`` links)."""
        for channel in self.channels.values():
            if channel.id == channel_id:
                return channel.name
        return channel_id


def _load_directory(export: _Export) -> tuple[_Directory, list[Problem]]:
    directory = _Directory()
    problems: list[Problem] = []
    digest = hashlib.blake2b(digest_size=16)
    users: list[Any] = []
    lists: dict[str, list[Any]] = {}
    for name in ("users.json", *_LISTS):
        if name not in export.entries:
            continue
        records, problem = _json_list(export, name)
        if problem is not None:
            problems.append(problem)
        digest.update(name.encode() + json.dumps(records, sort_keys=True).encode())
        if name == "users.json":
            users = records
        else:
            lists[name] = records
    teams = Counter(str(u.get("team_id") or "") for u in users if isinstance(u, dict))
    teams.pop("", None)
    directory.team = teams.most_common(1)[0][0].lower() if teams else "slack"
    for user in users:
        if isinstance(user, dict) and user.get("id"):
            directory.users[str(user["id"])] = _user_contact(user, directory.team)
    for name, records in lists.items():
        for record in records:
            channel = _channel(record, _LISTS[name])
            if channel is not None:
                directory.channels.setdefault(channel.name, channel)
    directory.digest = digest.hexdigest()
    return directory, problems


def _user_contact(user: Mapping[str, Any], team: str) -> Contact:
    profile = user.get("profile")
    if not isinstance(profile, dict):
        profile = {}
    name = str(
        user.get("real_name") or profile.get("real_name") or profile.get("display_name") or ""
    )
    email = str(profile.get("email") or "").strip()
    user_team = str(user.get("team_id") or team or "slack").lower()
    if not email:
        email = f"{user['id']}@{user_team}.slack.invalid".lower()
    return Contact(email, name or str(user.get("name") or user["id"]))


def _channel(record: Any, kind: str) -> _Channel | None:
    if not isinstance(record, dict) or not record.get("id"):
        return None
    channel_id = str(record["id"])
    # DM folders are named by id; the others by name.
    name = channel_id if kind == "dm" else str(record.get("name") or channel_id)
    members = tuple(str(m) for m in record.get("members") or () if m)
    if kind == "dm" and not members and record.get("user"):
        members = (str(record["user"]),)
    return _Channel(channel_id, name, kind, members)


def _json_list(export: _Export, name: str) -> tuple[list[Any], Problem | None]:
    """Return a JSON list from the export, or a problem naming the entry and why."""
    where = export.where(name)
    try:
        loaded = json.loads(export.read(name))
    except _Refused as exc:
        return [], Problem(where, str(exc))
    except json.JSONDecodeError as exc:
        reason = f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); skipped"
        return [], Problem(where, reason)
    except UnicodeDecodeError as exc:
        return [], Problem(where, f"not UTF-8 (byte offset {exc.start}); skipped")
    except zipfile.BadZipFile as exc:
        reason = f"cannot be read: corrupt, or larger than it declares ({exc}); skipped"
        return [], Problem(where, reason)
    except OSError as exc:
        return [], Problem(where, f"cannot be read ({exc.strerror or exc}); skipped")
    if not isinstance(loaded, list):
        return [], Problem(where, f"expected a JSON list, found {type(loaded).__name__}; skipped")
    return loaded, None


class SlackConnector(Connector):
    """Read the messages of a Slack export, with threads, mentions and edits."""

    kind: ClassVar[str] = "slack"
    item_kinds: ClassVar[tuple[str, ...]] = ("message",)
    description: ClassVar[str] = (
        "A Slack export (zip or folder): channels, private channels and DMs, "
        "readable only by their members"
    )
    location_help: ClassVar[str] = "a Slack export .zip, or the folder it unpacks to"
    checkpoint_every: ClassVar[int] = 50

    def read(self, cursor: dict[str, Any]) -> Iterator[Reading]:
        """Yield a draft per message in day files that changed since ``cursor``."""
        try:
            export = self._open()
        except _Refused as exc:
            yield Problem(self.source.location, str(exc))
            return
        with export:
            yield from export.problems
            directory, problems = _load_directory(export)
            yield from problems
            yield from self._read_days(export, directory, cursor)

    def _read_days(
        self, export: _Export, directory: _Directory, cursor: Mapping[str, Any]
    ) -> Iterator[Reading]:
        same = cursor.get("directory") == directory.digest
        previous: dict[str, Any] = dict(cursor.get("days", {})) if same else {}
        current: dict[str, list[int]] = {}
        unknown: set[str] = set()
        read_count = 0
        for name in sorted(n for n in export.entries if _DAY.match(n)):
            signature = export.entries[name]
            current[name] = signature
            if previous.get(name) == signature:
                continue
            read_count += 1
            folder = name.split("/", 1)[0]
            channel = directory.channels.get(folder)
            if channel is None:
                channel = _Channel(folder, folder, "unknown")
                if folder not in unknown:
                    unknown.add(folder)
                    yield Problem(export.where(folder), _UNLISTED)
            yield from _read_day(export, name, channel, directory)
            if read_count % self.checkpoint_every == 0:
                yield Checkpoint({"directory": directory.digest, "days": {**previous, **current}})
        yield Checkpoint({"directory": directory.digest, "days": current})

    def estimate(self, cursor: dict[str, Any]) -> int | None:
        """Return roughly how many messages the changed day files hold."""
        try:
            with self._open() as export:
                directory, _ = _load_directory(export)
                same = cursor.get("directory") == directory.digest
                previous = cursor.get("days", {}) if same else {}
                total = 0
                for name, signature in export.entries.items():
                    if _DAY.match(name) and previous.get(name) != signature:
                        total += _count_messages(export, name)
                return total
        except (_Refused, OSError, zipfile.BadZipFile):
            return None

    def observe(self, items: Sequence[Any]) -> list[Decision]:
        """Return the owner's replies: in threads they did not start, and in DMs."""
        if self.source.owner is None:
            return []
        return _replies(self.source.owner, [i for i in items if i.kind == "message"])

    def _open(self) -> _Export:
        path = Path(self.source.location).expanduser()
        options = self.source.options
        limits = _Limits(
            entry=int(options.get("max_entry_bytes", MAX_ENTRY_BYTES)),
            total=int(options.get("max_total_bytes", MAX_TOTAL_BYTES)),
            ratio=float(options.get("max_ratio", MAX_RATIO)),
        )
        if path.is_dir():
            return _FolderExport(path, limits)
        if not path.exists():
            raise _Refused("no such file or folder; give a Slack export .zip or its folder")
        try:
            return _ZipExport(path, limits)
        except (zipfile.BadZipFile, OSError) as exc:
            raise _Refused(f"not a readable zip ({exc}); give a Slack export .zip") from None


def _count_messages(export: _Export, name: str) -> int:
    try:
        return len(_MESSAGE.findall(export.read(name)))
    except (_Refused, OSError, zipfile.BadZipFile):
        return 0  # read() reports it; the estimate just leaves it out


_UNLISTED = (
    "this conversation is in no channels.json, groups.json, mpims.json or dms.json; "
    "its messages are readable by the source's owner only"
)


def _read_day(
    export: _Export, name: str, channel: _Channel, directory: _Directory
) -> Iterator[Reading]:
    records, problem = _json_list(export, name)
    if problem is not None:
        yield problem
        return
    messages = [r for r in records if isinstance(r, dict)]
    changes: dict[str, dict[str, Any]] = {}
    for record in messages:
        inner, before = record.get("message"), record.get("previous_message")
        if record.get("subtype") == "message_changed" and isinstance(inner, dict):
            previous = before.get("text") if isinstance(before, dict) else None
            changes[str(inner.get("ts"))] = {**inner, "_previous": previous}
    kept: list[dict[str, Any]] = []
    for record in messages:
        if record.get("subtype") in ("message_changed", *_SKIPPED) or record.get("hidden"):
            continue
        change = changes.pop(str(record.get("ts")), None)
        kept.append(record if change is None else {**record, "_previous": change["_previous"]})
    kept.extend(changes.values())  # edits of messages posted on another day
    for record in kept:
        try:
            draft = _draft(record, channel, directory)
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:
            where = f"{export.where(name)} ts {record.get('ts')!r}"
            yield Problem(where, f"a message could not be read ({exc}); skipped")
            continue
        if draft is not None:
            yield draft


def _draft(message: Mapping[str, Any], channel: _Channel, directory: _Directory) -> Draft | None:
    ts = str(message.get("ts") or "")
    if not ts:
        return None  # not a message: exports hold a few bare records
    timestamp = datetime.fromtimestamp(float(ts), UTC)
    text, mentioned = _render(str(message.get("text") or ""), directory)
    author = _author(message, directory)
    thread_ts = str(message["thread_ts"]) if message.get("thread_ts") else None
    files = [f for f in message.get("files") or () if isinstance(f, dict)]
    members = tuple(directory.contact(m) for m in channel.members)
    recipients = [c for c in mentioned if c != author]
    if channel.kind in ("dm", "mpim"):
        recipients.extend(c for c in members if c != author and c not in recipients)
    readers: tuple[str | Contact, ...] = members if channel.private else (EVERYONE, *members)
    previous = message.get("_previous")
    edited = message.get("edited") if isinstance(message.get("edited"), dict) else None
    metadata = {
        "channel": channel.name,
        "channel_id": channel.id,
        "conversation": channel.kind,
        "ts": ts,
        "thread_ts": thread_ts,
        "mentions": [c.email for c in mentioned],
        "edited": _edited(edited, directory) if edited else None,
        "previous_text": str(previous) if previous and previous != message.get("text") else None,
        "reply_count": int(message.get("reply_count") or 0),
        "files": [str(f.get("name") or f.get("title") or "") for f in files],
        "private": channel.private,
        "subtype": message.get("subtype"),
    }
    return Draft(
        external_id=f"{channel.name}/{ts}",
        kind="message",
        timestamp=timestamp,
        title=_title(channel, text, directory),
        body=text,
        author=author,
        recipients=tuple(recipients),
        readers=readers,
        thread_id=f"{channel.name}/{thread_ts or ts}",
        folder=channel.name,
        attachments=tuple(_attachment(f) for f in files),
        metadata=metadata,
    )


def _author(message: Mapping[str, Any], directory: _Directory) -> Contact | None:
    profile = message.get("user_profile") if isinstance(message.get("user_profile"), dict) else {}
    name = str((profile or {}).get("real_name") or message.get("username") or "")
    if message.get("user"):
        return directory.contact(str(message["user"]), name)
    if message.get("bot_id"):
        bot = str(message["bot_id"])
        return Contact(f"{bot}@{directory.team}.slack.invalid".lower(), name or bot)
    return None


def _edited(edited: Mapping[str, Any], directory: _Directory) -> dict[str, str | None]:
    user = edited.get("user")
    return {
        "user": directory.contact(str(user)).email if user else None,
        "ts": str(edited["ts"]) if edited.get("ts") else None,
    }


def _attachment(file: Mapping[str, Any]) -> Attachment:
    return Attachment(
        name=str(file.get("name") or file.get("title") or "file"),
        content_type=str(file.get("mimetype") or "application/octet-stream"),
        size=int(file.get("size") or 0),
    )


def _title(channel: _Channel, text: str, directory: _Directory) -> str:
    line = " ".join(text.split())
    excerpt = line if len(line) <= 60 else line[:59].rstrip() + "…"
    if channel.kind == "dm":
        names = ", ".join(directory.contact(m).name for m in channel.members)
        label = f"DM {names}" if names else f"DM {channel.name}"
    else:
        label = f"#{channel.name}"
    return f"{label}: {excerpt}" if excerpt else label


def _render(text: str, directory: _Directory) -> tuple[str, list[Contact]]:
    """Return Slack markup as plain text, and the people it mentions."""
    mentioned: list[Contact] = []

    def replace(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            contact = directory.contact(target[1:], label)
            if contact not in mentioned:
                mentioned.append(contact)
            return f"@{contact.name}"
        if target.startswith("#"):
            return f"#{label or directory.channel_name(target[1:])}"
        if target.startswith("!"):
            word = target[1:].split("^", 1)[0]
            return _SPECIAL.get(word) or label or f"@{word}"
        url = target
        shown = url[7:] if url.startswith("mailto:") else url
        return f"{label} ({url})" if label and label not in (url, shown) else shown

    rendered = _TOKEN.sub(replace, text)
    return rendered.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"), mentioned


def _replies(owner: str, items: Sequence[Item]) -> list[Decision]:
    """Return the owner's reply decisions, by the rules in the module docstring."""
    decisions: list[Decision] = []
    threads: dict[str, list[Item]] = {}
    for item in items:
        if item.thread_id:
            threads.setdefault(item.thread_id, []).append(item)
    for thread_id, thread in threads.items():
        parent = next((i for i in thread if i.external_id == thread_id), None)
        if parent is None or parent.author == owner:
            continue
        answers = sorted((i for i in thread if i is not parent and i.author == owner), key=_when)
        if answers:
            decisions.append(_reply(owner, parent, answers[0]))
    dms: dict[str, list[Item]] = {}
    for item in items:
        if item.metadata.get("conversation") == "dm" and item.thread_id == item.external_id:
            dms.setdefault(str(item.folder), []).append(item)
    for conversation in dms.values():
        conversation.sort(key=_when)
        for before, after in pairwise(conversation):
            if before.author != owner and after.author == owner:
                decisions.append(_reply(owner, before, after))
    return decisions


def _when(item: Item) -> datetime:
    return item.timestamp


def _reply(owner: str, message: Item, reply: Item) -> Decision:
    return Decision(
        person=owner,
        item_id=message.id or 0,
        action="reply",
        at=reply.timestamp,
        latency_seconds=(reply.timestamp - message.timestamp).total_seconds(),
        text=reply.body,
        origin="observed",
    )
