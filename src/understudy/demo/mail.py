"""Mail as files: RFC 5322 messages in one Maildir++ per person.

Each message is written once to the sender's ``.Sent`` and once to each
internal recipient, in the folder their habits choose (inbox, a project
folder, Receipts, Newsletters, Trash, ...), with Maildir flags for seen (S),
replied (R) and passed on (P). File names, boundaries and ids are
deterministic.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr

from understudy.demo.clock import start_of_work
from understudy.demo.company import Company
from understudy.demo.files import Tree
from understudy.demo.story import Mail, MailPart, Timeline

__all__ = ["MAILBOX_FOLDERS", "message_bytes", "write_mailboxes"]

MAILBOX_FOLDERS = ("Sent", "Trash")
_AUTOMATIC = ("newsletter", "notification", "receipt")


_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP
_UTF8.header_encoding = QP
# ASCII text is declared utf-8 too, and sent as 7bit so the files stay readable.
_UTF8_PLAIN = Charset("utf-8")
_UTF8_PLAIN.body_encoding = None  # type: ignore[assignment]  # typeshed forbids None; email allows it


def _address(company: Company, party: str) -> str:
    return formataddr(company.address(party), charset="utf-8")


def _text(text: str, subtype: str) -> Message:
    charset = _UTF8_PLAIN if text.isascii() else _UTF8
    part = MIMEText(text, subtype, charset)  # type: ignore[arg-type]
    del part["MIME-Version"]
    return part


def _attachment(part: MailPart) -> Message:
    maintype, subtype = part.content_type.split("/", 1)
    attachment = MIMEApplication(part.data, _subtype=subtype) if maintype == "application" else None
    if attachment is None:
        raise ValueError(f"unsupported attachment type {part.content_type}")
    del attachment["MIME-Version"]
    attachment.add_header("Content-Disposition", "attachment", filename=part.filename)
    return attachment


def _content(mail: Mail, boundary: str) -> Message:
    body: Message = _text(mail.body.rstrip("\n") + "\n", "plain")
    alternatives: list[Message] = []
    if mail.html is not None:
        alternatives.append(_text(mail.html, "html"))
    if mail.calendar is not None:
        calendar = _text(mail.calendar.decode("utf-8"), "calendar")
        calendar.set_param("method", mail.method or "REQUEST")
        alternatives.append(calendar)
    if alternatives:
        body = MIMEMultipart(
            "alternative", boundary=f"{boundary}alt", _subparts=[body, *alternatives]
        )
        del body["MIME-Version"]
    if not mail.attachments:
        return body
    parts = [body, *(_attachment(p) for p in mail.attachments)]
    mixed = MIMEMultipart("mixed", boundary=f"{boundary}mix", _subparts=parts)
    del mixed["MIME-Version"]
    return mixed


def message_bytes(company: Company, mail: Mail) -> bytes:
    """Return the RFC 5322 bytes of ``mail`` (LF line endings, as stored in a Maildir)."""
    message = Message()
    message["Message-ID"] = mail.id
    message["Date"] = format_datetime(mail.at)
    message["From"] = _address(company, mail.sender)
    message["To"] = ", ".join(_address(company, p) for p in mail.to)
    if mail.cc:
        message["Cc"] = ", ".join(_address(company, p) for p in mail.cc)
    message["Subject"] = mail.subject if mail.subject.isascii() else Header(mail.subject, "utf-8")  # type: ignore[assignment]
    if mail.in_reply_to:
        message["In-Reply-To"] = mail.in_reply_to
        message["References"] = " ".join(mail.references)
    if mail.category in _AUTOMATIC:
        message["Auto-Submitted"] = "auto-generated"
    message["MIME-Version"] = "1.0"
    token = hashlib.blake2b(mail.id.encode("utf-8"), digest_size=8).hexdigest()
    content = _content(mail, f"==halcyon_{token}_")
    for name, value in content.items():
        message[name] = value
    message.set_payload(content.get_payload())
    return message.as_bytes()


def _seen(tl: Timeline, person: str, mail: Mail, flags: str) -> bool:
    if flags:
        return True
    habits = tl.habits[person]
    opened = start_of_work(mail.at, habits.start_hour, habits.end_hour) + timedelta(minutes=30)
    return opened < tl.clock.end


def folder_for(tl: Timeline, person: str, mail: Mail, flags: str, seen: bool) -> str:
    """Return the folder ``person`` keeps their copy of ``mail`` in ('' is the inbox)."""
    habits = tl.habits[person]
    category = mail.category
    if category in _AUTOMATIC:
        return habits.filing[category]
    if category in ("pitch", "invite-reply") and seen:
        return habits.filing[category]
    if category == "invite" and "R" in flags:
        return habits.filing["invite"]
    if mail.project and habits.files_projects and seen and mail.id not in tl.silenced:
        return tl.company.project(mail.project).folder
    return ""


def _name(mail: Mail, serial: int, flags: str) -> str:
    return f"{int(mail.at.timestamp())}.M{serial:06d}P0.halcyon:2,{flags}"


def _deliveries(tl: Timeline, mail: Mail) -> list[tuple[str, str, str]]:
    """Return (person, folder, flags) for every mailbox that keeps a copy of ``mail``."""
    company = tl.company
    copies = []
    if company.is_internal(mail.sender):
        copies.append((mail.sender, "Sent", "S"))
    for person in dict.fromkeys(mail.recipients):
        if person == mail.sender or not company.is_internal(person):
            continue
        flags = tl.flags.get((person, mail.id), "")
        seen = _seen(tl, person, mail, flags)
        marks = "".join(sorted(flags + ("S" if seen else "")))
        copies.append((person, folder_for(tl, person, mail, flags, seen), marks))
    return copies


def _skeleton(tl: Timeline, tree: Tree, folders: dict[str, set[str]]) -> None:
    for person in tl.company.people:
        names = sorted(folders.get(person.id, set()) | set(MAILBOX_FOLDERS))
        for folder in ["", *names]:
            base = tree.root / "mail" / person.id / (f".{folder}" if folder else "")
            for sub in ("cur", "new", "tmp"):
                (base / sub).mkdir(parents=True, exist_ok=True)
            if folder:
                tree.write(f"mail/{person.id}/.{folder}/maildirfolder", b"", tl.clock.start)


def write_mailboxes(tl: Timeline, tree: Tree) -> int:
    """Write every person's Maildir; return how many message files were written."""
    plan: list[tuple[Mail, int, list[tuple[str, str, str]]]] = []
    folders: dict[str, set[str]] = {}
    for serial, mail in enumerate(tl.mails):
        copies = _deliveries(tl, mail)
        plan.append((mail, serial, copies))
        for person, folder, _ in copies:
            if folder:
                folders.setdefault(person, set()).add(folder)
    _skeleton(tl, tree, folders)
    count = 0
    for mail, serial, copies in plan:
        data = message_bytes(tl.company, mail)
        for person, folder, flags in copies:
            prefix = f"mail/{person}/" + (f".{folder}/" if folder else "")
            tree.write(f"{prefix}cur/{_name(mail, serial, flags)}", data, mail.at)
            count += 1
    return count
