"""The ``imap`` connector: every folder of one mailbox on an IMAP server.

The location is ``imap://user@host:port/`` or ``imaps://user@host/``; the
password comes from the URL or ``source.options["password"]`` and never
appears in a problem. Options: ``folders`` (default: every selectable one),
``ssl``, ``starttls``, ``batch`` (messages per FETCH), ``timeout`` (seconds).

Folder names are kept as the owner made them (modified UTF-7 decoded, the
hierarchy delimiter shown as "/"). Folders are opened read-only and messages
fetched with ``BODY.PEEK[]``, so reading never marks mail as seen. Parsing,
dedup of copies by content key, threads and decisions are Maildir's.

The cursor keeps, per folder, its UIDVALIDITY and the highest UID read, and
per message its copies, the header facts threading needs and a digest of
what was last yielded. A sync asks each folder only for UIDs above its mark;
a folder whose UIDVALIDITY changed is read again (content keys keep that
idempotent). Every fetched batch ends in a checkpoint, so a sync killed or
cut off resumes after the last complete batch. After a batch, only messages
that could share a thread with the new ones (a Message-ID or subject in
common) are threaded again, so a large first sync stays linear.
"""

from __future__ import annotations

import base64
import binascii
import imaplib
import re
import socket
import ssl
from collections import Counter, defaultdict
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, ClassVar, NamedTuple
from urllib.parse import unquote, urlsplit

from understudy.records import Decision
from understudy.sources.base import Checkpoint, Connector, Contact, Problem, Reading
from understudy.sources.decisions import folder_role, normalize_subject, observe_mail
from understudy.sources.mail import Envelope, ParsedMail, UnreadableMail, read_envelope
from understudy.sources.maildir import (
    MailMessage,
    ParseCache,
    message_digest,
    message_draft,
    parse_or_reason,
    thread_ids,
)
from understudy.store.sources import redact_url

__all__ = ["CURSOR_VERSION", "DEFAULT_BATCH", "ImapConnector", "ImapCopy", "decode_folder_name"]

CURSOR_VERSION = 1
DEFAULT_BATCH = 100
DEFAULT_TIMEOUT = 30.0
_FETCH_ITEMS = "(UID INTERNALDATE BODY.PEEK[])"
_FROM_ITEMS = "(UID BODY.PEEK[HEADER.FIELDS (FROM)])"
_LIST_ENTRY = re.compile(
    r'^\((?P<flags>[^)]*)\) (?P<delimiter>NIL|"(?:\\.|[^"\\])*") ?(?P<name>.*)$'
)
_MODIFIED_BASE64 = re.compile(r"&([^-]*)-")
_STATUS_ITEM = re.compile(rb"(MESSAGES|UIDNEXT|UIDVALIDITY) (\d+)")
_UNSELECTABLE = ("\\noselect", "\\nonexistent")

_Reads = Generator[Reading, None, bool]


class _Failure(Exception):
    """The server failed; ``alive`` says whether the connection can still be used."""

    def __init__(self, reason: str, alive: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.alive = reason, alive


@dataclass(frozen=True, slots=True)
class ImapCopy:
    """One message in one folder on the server: its UID under the folder's UIDVALIDITY."""

    folder: str
    validity: int
    uid: int

    @property
    def ref(self) -> str:
        """Return the copy as the path of an IMAP URL (RFC 5092)."""
        return f"{self.folder};UIDVALIDITY={self.validity}/;UID={self.uid}"

    @property
    def stamp(self) -> str:
        """Return an empty stamp: a UID names one message, which never changes."""
        return ""


def decode_folder_name(mailbox: str, delimiter: str | None = None) -> str:
    """Return a mailbox name as its owner wrote it: modified UTF-7 decoded, levels split by "/"."""

    def decoded(found: re.Match[str]) -> str:
        chunk = found.group(1)
        if not chunk:
            return "&"
        data = chunk.replace(",", "/")
        try:
            return base64.b64decode(data + "=" * (-len(data) % 4)).decode("utf-16-be")
        except (binascii.Error, UnicodeDecodeError):
            return found.group(0)  # not modified UTF-7 after all: keep it as the server wrote it

    name = _MODIFIED_BASE64.sub(decoded, mailbox)
    if delimiter and delimiter != "/":
        name = name.replace(delimiter, "/")
    return "INBOX" if name.upper() == "INBOX" else name


@dataclass(frozen=True, slots=True)
class _Folder:
    """A folder: its name as shown, and as the server names it."""

    name: str
    mailbox: str


class _Status(NamedTuple):
    validity: int
    exists: int
    uidnext: int | None


class _Fetched(NamedTuple):
    uid: int
    received: datetime
    raw: bytes


_Answer = tuple[list[_Fetched], str | None]


@dataclass(frozen=True, slots=True)
class _Settings:
    """Where the server is and how to read it; ``public_url`` has no password."""

    host: str
    port: int
    user: str
    password: str
    ssl: bool
    starttls: bool
    timeout: float
    batch: int
    folders: tuple[str, ...]
    public_url: str


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _settings(location: str, options: Mapping[str, Any]) -> _Settings:
    """Return the settings of a source; a location that cannot work raises ``_Failure``."""
    try:
        parts = urlsplit(location)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("imap", "imaps") or not parts.hostname:
        raise _Failure("not an IMAP URL; give imap://user@host:port/ or imaps://user@host/")
    user = str(options.get("username") or unquote(parts.username or ""))
    password = str(options.get("password") or unquote(parts.password or ""))
    if not user or not password:
        raise _Failure(
            "no user name or password; put them in the URL (imap://user:password@host/) "
            "or in the source's options (username, password)"
        )
    use_ssl = _flag(options.get("ssl", parts.scheme == "imaps"))
    try:
        port = parts.port or (993 if use_ssl else 143)
        batch = max(1, int(options.get("batch", DEFAULT_BATCH)))
        timeout = float(options.get("timeout", DEFAULT_TIMEOUT))
    except ValueError as exc:
        raise _Failure(f"bad port, batch or timeout ({exc}); give whole numbers") from None
    folders = options.get("folders") or ()
    if isinstance(folders, str):
        folders = [f for f in folders.split(",") if f.strip()]
    public_url = f"{parts.scheme}://{parts.username or user}@{parts.hostname}:{port}"
    starttls = _flag(options.get("starttls", False))
    chosen = tuple(str(f).strip() for f in folders)
    return _Settings(
        parts.hostname, port, user, password, use_ssl, starttls, timeout, batch, chosen, public_url
    )


def _text(value: Any) -> str:
    """Return a server's answer or an exception's argument as one line of text."""
    if isinstance(value, BaseException):
        value = value.args[0] if value.args else type(value).__name__
    if isinstance(value, list | tuple):
        value = next((v for v in value if v), b"")
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).split())[:300]


def _quoted(mailbox: str) -> str:
    return '"' + re.sub(r'(["\\])', r"\\\1", mailbox) + '"'


def _uid_set(uids: Sequence[int]) -> str:
    """Return UIDs as an IMAP sequence set, runs written as ranges (``1:5,8``)."""
    runs: list[list[int]] = []
    for uid in sorted(uids):
        if runs and uid == runs[-1][1] + 1:
            runs[-1][1] = uid
        else:
            runs.append([uid, uid])
    return ",".join(f"{a}:{b}" if a != b else str(a) for a, b in runs)


def _connect_reason(exc: BaseException, settings: _Settings) -> str:
    where = f"{settings.host}:{settings.port}"
    if isinstance(exc, socket.gaierror):
        return f"cannot find the host {settings.host}; check the host name in the URL"
    if isinstance(exc, ConnectionRefusedError):
        return f"nothing answers at {where} (connection refused); check the host and port"
    if isinstance(exc, TimeoutError):
        return f"{where} did not answer within {settings.timeout:g} s; check the host and port"
    if isinstance(exc, ssl.SSLError):
        return f"the TLS handshake with {where} failed ({_text(exc)}); check the ssl option"
    if isinstance(exc, OSError):
        return f"cannot connect to {where} ({exc.strerror or _text(exc)})"
    if isinstance(exc, UnicodeError):
        return f"{where} offers no AUTH=PLAIN, and LOGIN takes only ASCII user names and passwords"
    return f"{where} did not greet as an IMAP server ({_text(exc)})"


class _Server:
    """One logged-in IMAP connection; every failure becomes a ``_Failure``."""

    def __init__(self, settings: _Settings) -> None:
        self.settings = settings
        self.selected: tuple[str, int] | None = None
        where, timeout = (settings.host, settings.port), settings.timeout
        context = ssl.create_default_context()
        try:
            self.client: imaplib.IMAP4 = (
                imaplib.IMAP4_SSL(*where, ssl_context=context, timeout=timeout)
                if settings.ssl
                else imaplib.IMAP4(*where, timeout=timeout)
            )
        except (OSError, imaplib.IMAP4.error) as exc:
            raise _Failure(_connect_reason(exc, settings)) from None
        try:
            self._login()
        except _Failure:
            self.close()
            raise

    def _login(self) -> None:
        settings = self.settings
        if settings.starttls:
            self.call(lambda c: c.starttls(ssl.create_default_context()))
        secret = f"\0{settings.user}\0{settings.password}".encode()
        try:
            if "AUTH=PLAIN" in self.client.capabilities:
                self.client.authenticate("PLAIN", lambda _: secret)
            else:
                self.client.login(settings.user, settings.password)
        except imaplib.IMAP4.abort as exc:
            raise _Failure(f"the server closed the connection at login ({_text(exc)})") from None
        except imaplib.IMAP4.error as exc:
            raise _Failure(
                f"the server refused the login ({_text(exc)}); check the user name and "
                "password (in the URL or the source's options)"
            ) from None
        except (OSError, UnicodeError) as exc:
            raise _Failure(_connect_reason(exc, settings)) from None

    def call(self, command: Callable[[imaplib.IMAP4], tuple[str, Any]]) -> tuple[str, Any]:
        """Run one command, turning a dropped connection or a refusal into ``_Failure``."""
        try:
            return command(self.client)
        except imaplib.IMAP4.abort as exc:
            raise _Failure(f"the server closed the connection ({_text(exc)})") from None
        except imaplib.IMAP4.error as exc:
            raise _Failure(f"the server refused ({_text(exc)})", alive=True) from None
        except (OSError, EOFError) as exc:
            why = getattr(exc, "strerror", None) or type(exc).__name__
            raise _Failure(f"the connection failed ({why})") from None

    def folders(self) -> list[_Folder]:
        """Return every selectable folder, in the server's order."""
        typ, data = self.call(lambda c: c.list())
        if typ != "OK":
            raise _Failure(f"the server would not list the folders ({_text(data)})", alive=True)
        found = [f for entry in data or () if (f := _listed_folder(entry)) is not None]
        return list({f.name: f for f in found}.values())

    def examine(self, folder: _Folder) -> _Status:
        """Open a folder read-only and return its UIDVALIDITY, size and next UID."""
        self.selected = None
        typ, data = self.call(lambda c: c.select(_quoted(folder.mailbox), readonly=True))
        if typ != "OK":
            raise _Failure(f"the folder cannot be opened ({_text(data)})", alive=True)
        validity = _response_number(self.client, "UIDVALIDITY") or 0
        exists = int(_text(data)) if _text(data).isdigit() else 0
        self.selected = (folder.mailbox, validity)
        return _Status(validity, exists, _response_number(self.client, "UIDNEXT"))

    def status(self, folder: _Folder) -> dict[str, int]:
        """Return a folder's MESSAGES, UIDNEXT and UIDVALIDITY without opening it."""
        items = "(MESSAGES UIDNEXT UIDVALIDITY)"
        typ, data = self.call(lambda c: c.status(_quoted(folder.mailbox), items))
        line = b" ".join(d for d in data or () if isinstance(d, bytes)) if typ == "OK" else b""
        return {k.decode(): int(v) for k, v in _STATUS_ITEM.findall(line)}

    def uids_from(self, start: int) -> list[int]:
        """Return the UIDs of the open folder from ``start`` on."""
        typ, data = self.call(lambda c: c.uid("SEARCH", f"UID {start}:*"))
        if typ != "OK":
            raise _Failure(f"the server would not search the folder ({_text(data)})", alive=True)
        found = {int(n) for chunk in data or () if isinstance(chunk, bytes) for n in chunk.split()}
        # "n:*" always matches the highest UID, even when it is below n.
        return sorted(uid for uid in found if uid >= start)

    def fetch(
        self, folder: _Folder, validity: int, uids: str, items: str = _FETCH_ITEMS
    ) -> _Answer:
        """Return the messages ``uids`` of a folder, and the server's refusal if any."""
        if self.selected != (folder.mailbox, validity):
            status = self.examine(folder)
            if status.validity != validity:
                raise _Failure("the folder's UIDVALIDITY changed during the sync", alive=True)
        typ, data = self.call(lambda c: c.uid("FETCH", uids, items))
        return _fetched(data or []), (None if typ == "OK" else _text(data))

    def close(self) -> None:
        """Log out, ignoring a connection that is already gone."""
        with suppress(imaplib.IMAP4.error, OSError, EOFError):
            self.client.logout()


def _response_number(client: imaplib.IMAP4, code: str) -> int | None:
    _, values = client.response(code)
    text = _text(values)
    return int(text) if text.isdigit() else None


def _listed_folder(entry: Any) -> _Folder | None:
    """Return the folder of one LIST answer, or None when it cannot be selected."""
    literal: bytes | None = None
    if isinstance(entry, tuple):
        entry, literal = entry[0], entry[1]
    if not isinstance(entry, bytes):
        return None
    found = _LIST_ENTRY.match(entry.decode("utf-8", "replace"))
    if found is None or any(flag in found["flags"].lower() for flag in _UNSELECTABLE):
        return None
    delimiter = None if found["delimiter"] == "NIL" else _unquote(found["delimiter"])
    mailbox = found["name"].strip() if literal is None else literal.decode("utf-8", "replace")
    if literal is None and mailbox.startswith('"'):
        mailbox = _unquote(mailbox)
    return _Folder(decode_folder_name(mailbox, delimiter), mailbox) if mailbox else None


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def _fetched(data: list[Any]) -> list[_Fetched]:
    """Return the messages of a FETCH answer; items after a literal come in the next part."""
    records: list[list[bytes]] = []
    for part in data:
        if isinstance(part, tuple) and len(part) == 2:
            records.append([part[0], part[1]])
        elif isinstance(part, bytes) and records:
            records[-1][0] += b" " + part
    found = []
    for head, raw in records:
        uid = re.search(rb"\bUID (\d+)", head)
        if uid is not None:
            found.append(_Fetched(int(uid.group(1)), _internal_date(head), raw))
    return found


def _internal_date(head: bytes) -> datetime:
    found = re.search(rb'INTERNALDATE "([^"]+)"', head)
    with suppress(ValueError):  # UnicodeDecodeError is one
        text = found.group(1).decode("ascii").strip() if found else ""
        return datetime.strptime(text, "%d-%b-%Y %H:%M:%S %z").astimezone(UTC)
    return datetime.now(UTC)


def _links(envelope: Envelope) -> list[str]:
    """Return what can put a message in a thread with another: ids and its subject."""
    ids = (envelope.message_id, *envelope.in_reply_to, *envelope.references)
    links = [f"i:{i}" for i in ids if i]
    subject = normalize_subject(envelope.subject)
    return [*links, f"s:{subject}"] if subject else links


def _pack(message: MailMessage[ImapCopy]) -> dict[str, Any]:
    """Return what later syncs need of a message: its copies and the facts of its headers."""
    _, head = message.representative()
    replies = dict.fromkeys(p for _, e in message.copies for p in e.in_reply_to)
    references = dict.fromkeys(p for _, e in message.copies for p in e.references)
    sender = head.sender.email if head.sender else ""
    people = [sender, [c.email for c in head.to], [c.email for c in head.cc]]
    facts = [head.subject, *people, list(replies), list(references)]
    return {
        "e": [*facts, head.timestamp.isoformat(), head.date_fallback is None],
        "c": [[c.folder, c.validity, c.uid, e.message_id] for c, e in message.copies],
    }


def _unpack(key: str, record: Mapping[str, Any]) -> MailMessage[ImapCopy]:
    """Return a message as ``_pack`` kept it: enough for grouping and threading."""
    subject, sender, to, cc, replies, references, at, dated = record["e"]
    envelope = Envelope(
        message_id="",
        in_reply_to=tuple(replies),
        references=tuple(references),
        subject=subject,
        sender=Contact(sender) if sender else None,
        to=tuple(Contact(e) for e in to),
        cc=tuple(Contact(e) for e in cc),
        bcc=(),
        timestamp=datetime.fromisoformat(at),
        date_key="",
        date_fallback=None if dated else "stored",
    )
    message: MailMessage[ImapCopy] = MailMessage(key)
    for folder, validity, uid, message_id in record["c"]:
        copy = ImapCopy(folder, int(validity), int(uid))
        message.copies.append((copy, replace(envelope, message_id=message_id)))
    return message


class _Inventory:
    """What the syncs so far have read: folder marks, messages and what was yielded."""

    def __init__(self, cursor: Mapping[str, Any]) -> None:
        valid = cursor.get("version") == CURSOR_VERSION
        state: Mapping[str, Any] = cursor if valid else {}
        self.marks: dict[str, list[int]] = {
            name: [int(v), int(u)] for name, (v, u) in (state.get("folders") or {}).items()
        }
        self.owners: tuple[str, ...] = tuple(state.get("owners") or ())
        self.inferred = bool(state.get("inferred"))
        self.pending: set[str] = set(state.get("pending") or ())
        self.messages: dict[str, MailMessage[ImapCopy]] = {}
        self.digests: dict[str, str] = {}
        self.links: defaultdict[str, set[str]] = defaultdict(set)
        self._packed: dict[str, dict[str, Any]] = {}
        for key, record in (state.get("messages") or {}).items():
            for copy, envelope in _unpack(key, record).copies:
                self.add(key, copy, envelope)
            self.digests[key] = str(record.get("d") or "")
            self._packed[key] = {k: v for k, v in record.items() if k != "d"}

    def add(self, key: str, copy: ImapCopy, envelope: Envelope) -> None:
        """File one copy under its message's key."""
        message = self.messages.setdefault(key, MailMessage(key))
        if all(known != copy for known, _ in message.copies):
            message.copies.append((copy, envelope))
            self._packed.pop(key, None)
            for link in _links(envelope):
                self.links[link].add(key)

    def forget_folder(self, name: str) -> None:
        """Drop every copy in a folder whose UIDs no longer mean what they meant."""
        self.marks.pop(name, None)
        for key, message in list(self.messages.items()):
            kept = [(c, e) for c, e in message.copies if c.folder != name]
            if len(kept) == len(message.copies):
                continue
            self._packed.pop(key, None)
            if kept:
                message.copies[:] = kept
                self.pending.add(key)
            else:
                del self.messages[key]
                self.digests.pop(key, None)
                self.pending.discard(key)

    def closure(self, keys: Iterable[str]) -> list[MailMessage[ImapCopy]]:
        """Return the messages of ``keys`` and every message that could share their threads."""
        found: set[str] = set()
        todo = [key for key in keys if key in self.messages]
        while todo:
            key = todo.pop()
            if key not in found:
                found.add(key)
                links = {link for _, e in self.messages[key].copies for link in _links(e)}
                todo.extend(k for link in links for k in self.links[link] if k in self.messages)
        return [self.messages[k] for k in sorted(found)]

    def cursor(self) -> dict[str, Any]:
        """Return the cursor to save."""
        messages = {}
        for key, message in self.messages.items():
            packed = self._packed.get(key)
            if packed is None:
                packed = self._packed[key] = _pack(message)
            messages[key] = {**packed, "d": self.digests.get(key, "")}
        return {
            "version": CURSOR_VERSION,
            "owners": list(self.owners),
            "inferred": self.inferred,
            "folders": {name: list(mark) for name, mark in self.marks.items()},
            "pending": sorted(self.pending),
            "messages": messages,
        }


class _Sync:
    """One sync of a mailbox: the connection, what is known, and the messages parsed so far."""

    def __init__(self, connector: ImapConnector, server: _Server, inventory: _Inventory) -> None:
        self.connector = connector
        self.server = server
        self.inventory = inventory
        self.settings = server.settings
        self.cache = ParseCache()
        self.folders: dict[str, _Folder] = {}
        self.missing: set[str] = set()

    def problem(self, reason: str, folder: str = "", validity: int = 0, uid: int = 0) -> Problem:
        """Return a problem located by an IMAP URL of the server, folder and UID."""
        where = self.settings.public_url + "/" + folder
        if uid:
            where += f";UIDVALIDITY={validity}/;UID={uid}"
        return self.connector.problem(where, reason)

    def run(self, folders: list[_Folder], cursor: Mapping[str, Any]) -> Iterator[Reading]:
        """Read every folder past its mark, then checkpoint what changed."""
        self.folders = {folder.name: folder for folder in folders}
        alive = yield from self.settle_owners(folders)
        for folder in folders if alive else ():
            alive = yield from self.read_folder(folder)
            if not alive:
                break
        if alive and self.inventory.pending:
            yield from self.emit(set())
        final = self.inventory.cursor()
        if final != cursor:
            yield Checkpoint(final)

    def settle_owners(self, folders: list[_Folder]) -> _Reads:
        """Fix the owner's addresses for this sync: configured, remembered or inferred."""
        inventory = self.inventory
        emails = self.connector.context.owner_emails
        owners, inferred = tuple(sorted({e.strip().lower() for e in emails if e.strip()})), False
        if not owners and inventory.inferred and inventory.owners:
            owners, inferred = inventory.owners, True
        elif not owners:
            try:
                owners, inferred = self.infer_owners(folders), True
            except _Failure as failure:
                yield self.problem(failure.reason)
                return failure.alive
        if owners != inventory.owners:
            # Owners decide "sent" and threading: every message must be looked at again.
            inventory.pending.update(inventory.messages)
        inventory.owners, inventory.inferred = owners, inferred
        return True

    def infer_owners(self, folders: list[_Folder]) -> tuple[str, ...]:
        """Return the most common sender of the sent folders, reading only From headers."""
        senders: Counter[str] = Counter()
        for folder in (f for f in folders if folder_role(f.name) == "sent"):
            try:
                status = self.server.examine(folder)
            except _Failure as failure:
                if failure.alive:
                    continue  # read_folder reports the folder
                raise
            if status.exists:
                records, _ = self.server.fetch(folder, status.validity, "1:*", _FROM_ITEMS)
                for record in records:
                    with suppress(UnreadableMail):
                        sender = read_envelope(record.raw, record.received).sender
                        senders.update([sender.email] if sender else [])
        return (min(senders, key=lambda s: (-senders[s], s)),) if senders else ()

    def read_folder(self, folder: _Folder) -> _Reads:
        """Read the UIDs of one folder above its mark, a batch at a time; False if cut off."""
        try:
            status = self.server.examine(folder)
        except _Failure as failure:
            yield self.problem(failure.reason, folder.name)
            return failure.alive
        marks = self.inventory.marks
        mark = marks.get(folder.name)
        if mark is not None and mark[0] != status.validity:
            self.inventory.forget_folder(folder.name)  # renumbered by the server: read it again
            mark = None
        last = mark[1] if mark else 0
        seen = max(last, (status.uidnext or 1) - 1)
        if not status.exists or (status.uidnext is not None and status.uidnext <= last + 1):
            marks[folder.name] = [status.validity, seen]
            return True
        try:
            uids = self.server.uids_from(last + 1)
        except _Failure as failure:
            yield self.problem(failure.reason, folder.name)
            return failure.alive
        for start in range(0, len(uids), self.settings.batch):
            batch = uids[start : start + self.settings.batch]
            try:
                answer = self.server.fetch(folder, status.validity, _uid_set(batch))
            except _Failure as failure:
                reason = (
                    f"{failure.reason} while fetching UIDs {batch[0]}:{batch[-1]}; what came "
                    "before is stored, and the next sync goes on from there"
                )
                yield self.problem(reason, folder.name)
                return failure.alive  # the mark stays before this batch
            if not (yield from self.store_batch(folder, status.validity, batch, answer)):
                return False
        marks[folder.name] = [status.validity, max([seen, *uids])]
        return True

    def store_batch(
        self, folder: _Folder, validity: int, uids: list[int], answer: _Answer
    ) -> _Reads:
        """Yield what one fetched batch changed, then checkpoint it; False if cut off."""
        fetched, refusal = answer
        touched = yield from self.take(folder, validity, fetched)
        missing = sorted(set(uids) - {record.uid for record in fetched})
        if refusal is not None and missing:
            # Reported once and skipped, like an unreadable file: retrying could block the folder.
            reason = f"the server would not send UIDs {_uid_set(missing)} ({refusal}); skipped"
            yield self.problem(reason, folder.name)
        self.inventory.marks[folder.name] = [validity, uids[-1]]
        alive = yield from self.emit(touched)
        yield Checkpoint(self.inventory.cursor())
        return alive

    def take(
        self, folder: _Folder, validity: int, fetched: list[_Fetched]
    ) -> Generator[Reading, None, set[str]]:
        """Parse fetched messages into the inventory; return the keys of their messages."""
        touched: set[str] = set()
        for record in fetched:
            copy = ImapCopy(folder.name, validity, record.uid)
            parsed = parse_or_reason(record.raw, record.received)
            reasons = [parsed] if isinstance(parsed, str) else parsed.problems
            for reason in reasons:
                yield self.problem(reason, folder.name, validity, record.uid)
            if not isinstance(parsed, str):
                self.cache.put(copy.ref, parsed)
                self.inventory.add(parsed.key, copy, parsed.envelope)
                touched.add(parsed.key)
        return touched

    def emit(self, touched: set[str]) -> _Reads:
        """Yield every message near ``touched`` whose copies or thread changed since yielded."""
        inventory = self.inventory
        messages = inventory.closure(touched | inventory.pending)
        owners = frozenset(inventory.owners)
        threads = thread_ids(messages, owners)
        due: list[tuple[MailMessage[ImapCopy], str]] = []
        for message in messages:
            digest = message_digest(message, threads[message.key], owners)
            if inventory.digests.get(message.key) == digest:
                inventory.pending.discard(message.key)
            else:
                due.append((message, digest))
                inventory.pending.add(message.key)
        parsed, alive = yield from self.parsed([message for message, _ in due])
        for message, digest in due:
            found = parsed.get(message.representative()[0].ref)
            if found is None or found.key != message.key:
                continue  # stays pending: a later batch or sync tries again
            yield message_draft(message, found, threads[message.key], owners)
            inventory.digests[message.key] = digest
            inventory.pending.discard(message.key)
        return alive

    def parsed(
        self, messages: list[MailMessage[ImapCopy]]
    ) -> Generator[Reading, None, tuple[dict[str, ParsedMail], bool]]:
        """Return the parsed representative copy of each message, fetching those not at hand."""
        parsed: dict[str, ParsedMail] = {}
        wanted: dict[tuple[str, int], list[int]] = defaultdict(list)
        for message in messages:
            copy, _ = message.representative()
            kept = self.cache.get(copy.ref)
            if kept is not None:
                parsed[copy.ref] = kept
            elif copy.ref not in self.missing:
                wanted[(copy.folder, copy.validity)].append(copy.uid)
        for (name, validity), uids in sorted(wanted.items()):
            refs = {ImapCopy(name, validity, uid).ref for uid in uids}
            try:
                folder = self.folders.get(name) or _Folder(name, name)
                fetched, _ = self.server.fetch(folder, validity, _uid_set(uids))
            except _Failure as failure:
                self.missing |= refs
                yield self.problem(f"{failure.reason} while fetching UIDs {_uid_set(uids)}", name)
                if not failure.alive:
                    return parsed, False
                continue
            for record in fetched:
                found = parse_or_reason(record.raw, record.received)
                if not isinstance(found, str):
                    parsed[ImapCopy(name, validity, record.uid).ref] = found
            # Gone from the server or unreadable: not asked for again in this sync.
            self.missing |= refs - parsed.keys()
        return parsed, True


class ImapConnector(Connector):
    """Read every folder of one mailbox on an IMAP server (Dovecot, Gmail, Fastmail…)."""

    kind: ClassVar[str] = "imap"
    item_kinds: ClassVar[tuple[str, ...]] = ("email",)
    description: ClassVar[str] = (
        "One mailbox on an IMAP server: every folder, read-only (mail stays unread); "
        "copies in several folders become one message"
    )
    location_help: ClassVar[str] = (
        "an IMAP URL, e.g. imaps://user:password@imap.example.com/ "
        "(or the password in the 'password' option)"
    )

    @property
    def public_url(self) -> str:
        """Return the source's URL without its password."""
        try:
            return _settings(self.source.location, self.source.options).public_url
        except (_Failure, ValueError):
            return redact_url(self.source.location).rstrip("/")

    def problem(self, where: str, reason: str) -> Problem:
        """Return a problem with every form of the password replaced by ***."""
        secrets = [str(self.source.options.get("password") or "")]
        with suppress(ValueError):
            password = urlsplit(self.source.location).password or ""
            secrets += [password, unquote(password)]
        texts = [redact_url(where), redact_url(reason)]
        for secret in sorted((s for s in secrets if len(s) >= 3), key=len, reverse=True):
            texts = [text.replace(secret, "***") for text in texts]
        return Problem(*texts)

    def _chosen(self, server: _Server) -> list[_Folder]:
        """Return the folders to read: the configured ones, else every selectable one."""
        folders = server.folders()
        if not server.settings.folders:
            # The inbox first: replies filed elsewhere then join threads already started.
            return sorted(folders, key=lambda f: (f.name != "INBOX", f.name))
        by_name = {f.name: f for f in folders}
        # A configured folder the server did not list is still tried, so that
        # the server itself says why it cannot be opened.
        return [by_name.get(name) or _Folder(name, name) for name in server.settings.folders]

    def estimate(self, cursor: dict[str, Any]) -> int | None:
        """Return about how many messages the next ``read`` fetches (from STATUS)."""
        marks = cursor.get("folders") or {} if cursor.get("version") == CURSOR_VERSION else {}
        total = 0
        try:
            server = _Server(_settings(self.source.location, self.source.options))
        except _Failure:
            return None  # read() meets the same failure and reports it
        try:
            for folder in self._chosen(server):
                status = server.status(folder)
                mark = marks.get(folder.name)
                count = status.get("MESSAGES", 0)
                if mark and mark[0] == status.get("UIDVALIDITY"):
                    count = min(count, max(0, status.get("UIDNEXT", 0) - 1 - int(mark[1])))
                total += count
        except _Failure:
            return None
        finally:
            server.close()
        return total

    def read(self, cursor: dict[str, Any]) -> Iterator[Reading]:
        """Yield the messages that arrived in any folder since ``cursor``."""
        try:
            server = _Server(_settings(self.source.location, self.source.options))
        except _Failure as failure:
            yield self.problem(self.public_url + "/", failure.reason)
            return
        try:
            folders = self._chosen(server)
        except _Failure as failure:
            server.close()
            yield self.problem(self.public_url + "/", failure.reason)
            return
        try:
            yield from _Sync(self, server, _Inventory(cursor)).run(folders, cursor)
        finally:
            server.close()

    def observe(self, items: Sequence[Any]) -> list[Decision]:
        """Return the owner's reply, forward, file, delete, ignore and calendar decisions."""
        return observe_mail(items, self.source.owner, self.context.owner_emails)
