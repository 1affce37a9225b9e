"""The owner's mail decisions as observed in their mailbox: one place for every rule.

Each label is defined once, here, with its windows and folder lists as named
constants; docs/decisions.md states the same rules in a table. The mail
connectors call ``observe_mail`` with the stored items of one mailbox, and
use ``folder_role`` and ``normalize_subject`` so that a folder or a subject
means the same thing while reading and while labelling.

Labels are not exclusive: a message filed into a folder and never answered
is both ``file`` and ``ignore``; a forward that asks someone to handle the
message is both ``forward`` and ``delegate``.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Literal

from understudy.records import Decision, Item

__all__ = [
    "CALENDAR_ACTIONS",
    "COPY_FOLDERS",
    "DELEGATION_PHRASES",
    "DRAFT_FOLDERS",
    "FORWARD_WINDOW",
    "IGNORE_WINDOW",
    "INBOX_FOLDERS",
    "REPLY_WINDOW",
    "RULE_FOLDER_MIN_MESSAGES",
    "RULE_FOLDER_SHARE",
    "SENT_FOLDERS",
    "SYSTEM_FOLDERS",
    "THREAD_SUBJECT_WINDOW",
    "TRASH_FOLDERS",
    "FolderRole",
    "folder_role",
    "is_forward_subject",
    "normalize_subject",
    "observe_mail",
    "split_quoted",
]

REPLY_WINDOW = timedelta(days=7)
FORWARD_WINDOW = timedelta(days=7)
IGNORE_WINDOW = timedelta(days=7)
# Threads without Message-ID headers are joined by subject only this close in time.
THREAD_SUBJECT_WINDOW = timedelta(days=14)
RULE_FOLDER_SHARE = 0.95
# The scorer applies the share to folders of any size, even one message.
RULE_FOLDER_MIN_MESSAGES = 1

SENT_FOLDERS = frozenset(
    {"sent", "sent_items", "_sent_mail", "sent items", "sent messages", "sent mail"}
)
INBOX_FOLDERS = frozenset({"inbox"})
TRASH_FOLDERS = frozenset({"trash", "deleted_items", "deleted items", "deleted messages"})
DRAFT_FOLDERS = frozenset({"drafts", "draft"})
# Enron's Lotus Notes views: every message shows up again in them, chosen by no one.
COPY_FOLDERS = frozenset(
    {"all_documents", "discussion_threads", "notes_inbox", "calendar", "contacts", "straw"}
)
# Filled by filters or the mail program, not by a person's judgment.
SYSTEM_FOLDERS = frozenset({"junk", "junk e-mail", "junk email", "spam", "outbox", "all mail"})

CALENDAR_ACTIONS = {"ACCEPTED": "accept", "DECLINED": "decline", "TENTATIVE": "tentative"}

DELEGATION_PHRASES = re.compile(
    r"\b(?:can|could|would|will) you(?: please)? (?:take|handle|look|follow|deal|check|"
    r"review|cover|pick|own|get|work|find|pull|run|send|call|set up)\b"
    r"|\bplease (?:take care|handle|look into|look at|follow up|deal with|take a look|"
    r"review|check|cover|pick up|respond|reply|get back|work on|find|pull|call|set up)\b"
    r"|\b(?:pls|pl[sz]e?) (?:handle|take care|look into|follow up|respond|review)\b"
    r"|\b(?:take care of|handle|look into|follow up on) (?:this|it|that)\b",
    re.IGNORECASE,
)

FolderRole = Literal["inbox", "sent", "trash", "drafts", "copy", "system", "own"]

_SUBJECT_PREFIXES = ("re:", "fw:", "fwd:")
_FORWARD_PREFIXES = ("fw:", "fwd:")
_CALENDAR_PREFIXES = (
    "accepted:",
    "declined:",
    "tentative:",
    "tentatively accepted:",
    "invitation:",
    "updated invitation:",
)
_QUOTE_SCAN_LIMIT = 100_000
_DATE_TIME = re.compile(r"\d{1,2}/\d{1,2}/\d{2,4}\s+\d{1,2}:\d{2}")
_FORWARD_MARKER = re.compile(
    r"^\s*(?:-{3,}\s*forwarded by\b|-{2,}\s*forwarded message|begin forwarded message)",
    re.IGNORECASE,
)
_REPLY_MARKER = re.compile(r"^\s*(?:-{2,}\s*original message\s*-{2,}|_{10,}\s*$)", re.IGNORECASE)


def normalize_subject(subject: str) -> str:
    """Return ``subject`` without re:/fw:/fwd: prefixes, with case and whitespace folded."""
    text = subject.strip()
    while True:
        lowered = text.lower()
        prefix = next((p for p in _SUBJECT_PREFIXES if lowered.startswith(p)), None)
        if prefix is None:
            break
        text = text[len(prefix) :].strip()
    return " ".join(text.casefold().split())


def is_forward_subject(subject: str) -> bool:
    """Return whether ``subject`` marks a forward (it starts with fw: or fwd:)."""
    return subject.strip().lower().startswith(_FORWARD_PREFIXES)


def folder_role(folder: str) -> FolderRole:
    """Return what a folder is for: inbox, sent, trash, drafts, copy, system or own.

    The last part of a path decides sent, drafts, copy and system folders
    (``[Gmail]/Sent Mail`` is sent); any part in the trash makes the folder
    trash (``deleted_items/old``); only the top-level inbox is the inbox, so
    ``inbox/projects`` is one of the owner's own folders.
    """
    parts = [p.strip().lower() for p in folder.replace("\\", "/").split("/") if p.strip()]
    if not parts:
        return "inbox"
    last = parts[-1]
    if last in SENT_FOLDERS:
        return "sent"
    if any(part in TRASH_FOLDERS for part in parts):
        return "trash"
    if len(parts) == 1 and last in INBOX_FOLDERS:
        return "inbox"
    if last in DRAFT_FOLDERS:
        return "drafts"
    if parts[0] in COPY_FOLDERS:
        return "copy"
    if last in SYSTEM_FOLDERS:
        return "system"
    return "own"


def split_quoted(body: str) -> tuple[str, str]:
    """Return the writer's own text of a message and how the quoted rest begins.

    The second value is ``"forward"`` when a forwarded message follows,
    ``"reply"`` when quoted history follows, and ``""`` when nothing does.
    Lines starting with ``>`` are dropped wherever they are.
    """
    lines = body[:_QUOTE_SCAN_LIMIT].splitlines()
    for index, line in enumerate(lines):
        kind = _quote_start(lines, index, line)
        if kind:
            cut = _header_block_start(lines, index) if kind == "header" else index
            own = [text for text in lines[:cut] if not text.startswith(">")]
            return "\n".join(own).strip(), "forward" if kind == "forward" else "reply"
    own = [text for text in lines if not text.startswith(">")]
    return "\n".join(own).strip(), ""


def _quote_start(lines: Sequence[str], index: int, line: str) -> str:
    if _FORWARD_MARKER.match(line):
        return "forward"
    if _REPLY_MARKER.match(line):
        return "reply"
    stripped = line.strip()
    if stripped.endswith("wrote:") and len(stripped) < 300:
        return "reply"
    lowered = stripped.lower()
    if lowered.startswith("from:"):
        following = (s.strip().lower() for s in lines[index + 1 : index + 4])
        if any(s.startswith(("sent:", "to:", "date:", "subject:")) for s in following):
            return "reply"
    if lowered.startswith("to:") and any(
        _DATE_TIME.search(s) for s in lines[max(0, index - 4) : index]
    ):
        return "header"
    return ""


def _header_block_start(lines: Sequence[str], index: int) -> int:
    """Return where a Lotus Notes quoted header (name, date line, To:) starts."""
    start = index
    for back in range(max(0, index - 4), index):
        if _DATE_TIME.search(lines[back]):
            start = back
            break
    if start > 0 and lines[start - 1].strip():
        start -= 1
    return start


@dataclass(frozen=True)
class _Mail:
    """One stored email, with what the rules look at."""

    item: Item
    id: int
    sender: str
    to_cc: frozenset[str]
    recipients: tuple[str, ...]
    subject: str
    at: datetime
    dated: bool
    folders: tuple[str, ...]
    metadata: Mapping[str, Any]

    @cached_property
    def _split(self) -> tuple[str, str]:
        # Only the owner's own messages need this, and it reads the whole body.
        return split_quoted(self.item.body)

    @property
    def own_text(self) -> str:
        """Return what the writer wrote, without quoted history."""
        return self._split[0]

    @property
    def forward(self) -> bool:
        """Return whether the message forwards another (by subject or by its quoted part)."""
        return is_forward_subject(self.item.title) or self._split[1] == "forward"


def _listed(metadata: Mapping[str, Any], *names: str) -> list[str]:
    """Return the strings of the list-valued metadata fields ``names``, in order."""
    return [str(value) for name in names for value in metadata.get(name) or ()]


def _mail(item: Item) -> _Mail:
    meta = item.metadata
    to, cc, bcc = _listed(meta, "to"), _listed(meta, "cc"), _listed(meta, "bcc")
    folders = tuple(str(f) for f in meta.get("folders") or ([item.folder] if item.folder else []))
    return _Mail(
        item=item,
        id=item.id or 0,
        sender=str(meta.get("from") or ""),
        to_cc=frozenset(to + cc),
        recipients=tuple(dict.fromkeys(to + cc + bcc)),
        subject=normalize_subject(item.title),
        at=item.timestamp,
        dated=not meta.get("date_fallback"),
        folders=folders,
        metadata=meta,
    )


class _Mailbox:
    """The mailbox seen from its owner: who they are and what they sent."""

    def __init__(self, mails: list[_Mail], owner: str, owner_emails: frozenset[str]) -> None:
        self.owner = owner
        self.owner_emails = owner_emails
        self.domains = frozenset(e.rpartition("@")[2] for e in owner_emails)
        self.people = _address_book(m.item for m in mails)
        self.received = [m for m in mails if not self.wrote(m)]
        self.sent = sorted(
            (m for m in mails if self.wrote(m) or m.metadata.get("sent")),
            key=lambda m: (m.at, m.id),
        )
        self.by_parent: dict[str, list[_Mail]] = defaultdict(list)
        self.by_thread: dict[str, list[_Mail]] = defaultdict(list)
        self.by_subject: dict[str, list[_Mail]] = defaultdict(list)
        for mail in self.sent:
            if not mail.dated:
                continue
            parents = _listed(mail.metadata, "in_reply_to", "references")
            for parent in dict.fromkeys(parents):
                self.by_parent[parent].append(mail)
            if mail.item.thread_id:
                self.by_thread[mail.item.thread_id].append(mail)
            if mail.subject:
                self.by_subject[mail.subject].append(mail)

    def wrote(self, mail: _Mail) -> bool:
        """Return whether the owner wrote ``mail`` (its From is theirs)."""
        return mail.sender in self.owner_emails or mail.item.author == self.owner

    def person(self, address: str) -> str:
        """Return the person id behind an address (the address itself when unknown)."""
        return self.people.get(address, address)

    def decision(self, mail: _Mail, action: str, at: datetime, **fields: Any) -> Decision:
        """Return an observed decision of the owner on ``mail``."""
        return Decision(person=self.owner, item_id=mail.id, action=action, at=at, **fields)


def _address_book(items: Iterable[Item]) -> dict[str, str]:
    """Return address → person id, learned from items whose addresses all resolved."""
    book: dict[str, str] = {}
    for item in items:
        meta = item.metadata
        sender = meta.get("from")
        if sender and item.author:
            book.setdefault(str(sender), item.author)
        addresses = list(dict.fromkeys(_listed(meta, "to", "cc", "bcc")))
        if len(addresses) == len(item.recipients):
            for address, person in zip(addresses, item.recipients, strict=True):
                book.setdefault(address, person)
    return book


def _infer_owner_address(mails: Sequence[_Mail]) -> str | None:
    senders = Counter(
        m.sender for m in mails if m.sender and any(folder_role(f) == "sent" for f in m.folders)
    )
    if not senders:
        return None
    return min(senders, key=lambda s: (-senders[s], s))


def observe_mail(
    items: Sequence[Item], owner: str | None, owner_emails: Sequence[str] = ()
) -> list[Decision]:
    """Return the owner's observed decisions on the email items of one mailbox.

    ``owner`` is the owner's person id and ``owner_emails`` their addresses;
    without addresses, the owner's address is the most common sender of the
    sent folders, and without an owner or sent folders there is no one to
    observe.
    """
    mails = [_mail(item) for item in items if item.kind == "email" and item.id is not None]
    emails = {e.strip().lower() for e in owner_emails if e.strip()}
    # Configured addresses are trusted as they are; guessing more could turn a
    # colleague's message in the sent folder into the owner's.
    inferred = None if emails else _infer_owner_address(mails)
    if inferred:
        emails.add(inferred)
    if owner is None:
        owner = _address_book(m.item for m in mails).get(inferred or "") or inferred
    if owner is None:
        return []
    box = _Mailbox(mails, owner, frozenset(emails))
    return [*_responses(box), *_filings(box), *_calendar_replies(box)]


def _in_window(first: _Mail, later: _Mail, window: timedelta) -> bool:
    return later.id != first.id and timedelta(0) <= later.at - first.at <= window


def _earliest(candidates: Iterable[_Mail]) -> _Mail | None:
    return min(candidates, key=lambda m: (m.at, m.id), default=None)


def _reply_to(box: _Mailbox, mail: _Mail) -> _Mail | None:
    """Return the owner's first reply to ``mail`` within the reply window."""
    candidates: list[_Mail] = []
    message_id = mail.metadata.get("message_id")
    if message_id:
        candidates.extend(box.by_parent.get(str(message_id), ()))
    if mail.item.thread_id:
        candidates.extend(s for s in box.by_thread.get(mail.item.thread_id, ()) if not s.forward)
    if mail.subject and mail.sender:
        candidates.extend(s for s in box.by_subject.get(mail.subject, ()) if mail.sender in s.to_cc)
    return _earliest(s for s in candidates if _in_window(mail, s, REPLY_WINDOW))


def _forward_of(box: _Mailbox, mail: _Mail) -> _Mail | None:
    """Return the owner's first forward of ``mail`` within the forward window."""
    if not mail.subject:
        return None
    candidates = (s for s in box.by_subject.get(mail.subject, ()) if s.forward)
    return _earliest(s for s in candidates if _in_window(mail, s, FORWARD_WINDOW))


def _delegate(box: _Mailbox, mail: _Mail, sent: _Mail, forward: bool) -> str | None:
    """Return the address ``sent`` hands ``mail`` to, if it asks someone to handle it."""
    if not DELEGATION_PHRASES.search(sent.own_text):
        return None
    if forward:
        others = [a for a in sent.recipients if a not in box.owner_emails]
    else:
        known = {mail.sender, *mail.to_cc, *box.owner_emails}
        others = [
            a for a in sent.recipients if a not in known and a.rpartition("@")[2] in box.domains
        ]
    return others[0] if others else None


def _responses(box: _Mailbox) -> list[Decision]:
    """Return reply, forward, delegate and ignore decisions on received mail."""
    dated = [m for m in box.received if m.dated]
    newest = max((m.at for m in box.received + box.sent if m.dated), default=None)
    decisions: list[Decision] = []
    for mail in dated:
        reply = _reply_to(box, mail)
        forward = _forward_of(box, mail)
        for sent, action in ((reply, "reply"), (forward, "forward")):
            if sent is None:
                continue
            target = None
            if action == "forward":
                target = next((box.person(a) for a in sent.recipients), None)
            decisions.append(_answer(box, mail, sent, action, target))
        delegate = _first_delegate(box, mail, forward, reply)
        if delegate is not None:
            decisions.append(delegate)
        if reply is None and forward is None and newest and newest - mail.at > IGNORE_WINDOW:
            decisions.append(box.decision(mail, "ignore", mail.at + IGNORE_WINDOW))
    return decisions


def _answer(box: _Mailbox, mail: _Mail, sent: _Mail, action: str, target: str | None) -> Decision:
    return box.decision(
        mail,
        action,
        sent.at,
        target=target,
        latency_seconds=(sent.at - mail.at).total_seconds(),
        text=sent.own_text,
    )


def _first_delegate(
    box: _Mailbox, mail: _Mail, forward: _Mail | None, reply: _Mail | None
) -> Decision | None:
    for sent, is_forward in ((forward, True), (reply, False)):
        if sent is None:
            continue
        address = _delegate(box, mail, sent, is_forward)
        if address:
            return _answer(box, mail, sent, "delegate", box.person(address))
    return None


def _rule_folders(box: _Mailbox) -> set[str]:
    """Return folders filled by a rule: nearly all their messages come from one sender."""
    senders: dict[str, Counter[str]] = defaultdict(Counter)
    for mail in box.received + box.sent:
        for folder in dict.fromkeys(mail.folders):
            senders[folder][mail.sender] += 1
    rules = set()
    for folder, counts in senders.items():
        total = sum(counts.values())
        top = counts.most_common(1)[0][1]
        if total >= RULE_FOLDER_MIN_MESSAGES and top / total >= RULE_FOLDER_SHARE:
            rules.add(folder)
    return rules


def _filings(box: _Mailbox) -> list[Decision]:
    """Return file decisions (own folders) and delete decisions (trash) on received mail."""
    rules = _rule_folders(box)
    decisions: list[Decision] = []
    for mail in box.received:
        folders = sorted(set(mail.folders))
        for folder in folders:
            if folder_role(folder) == "own" and folder not in rules:
                decisions.append(box.decision(mail, "file", mail.at, target=folder))
        trash = next((f for f in folders if folder_role(f) == "trash"), None)
        if trash is not None:
            decisions.append(box.decision(mail, "delete", mail.at, target=trash))
    return decisions


def _calendar_subject(subject: str) -> str:
    text = subject.strip()
    lowered = text.lower()
    for prefix in sorted(_CALENDAR_PREFIXES, key=len, reverse=True):
        if lowered.startswith(prefix):
            text = text[len(prefix) :]
            break
    return normalize_subject(text)


def _calendar_replies(box: _Mailbox) -> list[Decision]:
    """Return accept, decline and tentative decisions on the invitations the owner answered."""
    invitations = [m for m in box.received if m.metadata.get("calendar_method") == "REQUEST"]
    decisions: list[Decision] = []
    for sent in box.sent:
        action = CALENDAR_ACTIONS.get(str(sent.metadata.get("partstat") or "").upper())
        if sent.metadata.get("calendar_method") != "REPLY" or action is None:
            continue
        uid = sent.metadata.get("calendar_uid")
        subject = _calendar_subject(sent.item.title)
        matches = [m for m in invitations if uid and m.metadata.get("calendar_uid") == uid]
        if not matches and subject:
            matches = [m for m in invitations if _calendar_subject(m.item.title) == subject]
        earlier = [m for m in matches if m.at <= sent.at]
        invitation = max(earlier, key=lambda m: (m.at, m.id), default=None)
        if invitation is not None:
            decisions.append(_answer(box, invitation, sent, action, None))
    return decisions
