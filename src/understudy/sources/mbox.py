"""Mbox files: many messages in one file, read as a stream.

The file is scanned line by line for ``From `` separator lines, so a file of
any size is read without loading it; each message becomes a ``MailCopy``
spanning its bytes, and the shared mail reading does the rest. An unchanged
file (same size and modification time) is not read at all.
"""

from __future__ import annotations

import errno
import os
import re
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from understudy.sources.base import Reading
from understudy.sources.maildir import CURSOR_VERSION, MailConnector, MailCopy, read_copies

__all__ = ["MboxConnector", "mbox_copies", "mbox_spans"]

_LINE_MAX = 64 * 1024
# A "From " line with a date after the sender: the separator even without a blank line.
_SEPARATOR = re.compile(rb"^From \S+\s+\w{3} \w{3}\s+\d{1,2} \d{1,2}:\d{2}")
_SEPARATOR_DATE = re.compile(rb"(\w{3}) +(\d{1,2}) +(\d{1,2}:\d{2}(?::\d{2})?) +(\d{4})")


def mbox_spans(path: Path) -> Iterator[tuple[int, int, int, bytes]]:
    """Yield (message number, offset, length, separator line) for each message of an mbox.

    A message starts after a ``From `` line at the start of the file or after
    a blank line, or anywhere when the line carries a date. Text before the
    first separator counts as a message of its own, so a file that is not an
    mbox at all is reported rather than skipped.
    """
    number, start, separator, leading = 0, 0, b"", False
    offset, previous_blank, line_start = 0, True, True
    with path.open("rb") as handle:
        while line := handle.readline(_LINE_MAX):
            if (
                line_start
                and line.startswith(b"From ")
                and (previous_blank or _SEPARATOR.match(line))
            ):
                if separator or leading:
                    number += 1
                    yield number, start, offset - start, separator
                start, separator = offset + len(line), line
            elif not separator and line.strip():
                leading = True
            line_start = line.endswith(b"\n")
            previous_blank = line in (b"\n", b"\r\n")
            offset += len(line)
    if separator or leading:
        yield number + 1, start, offset - start, separator


def _separator_time(line: bytes) -> datetime | None:
    found = _SEPARATOR_DATE.search(line)
    if found is None:
        return None
    month, day, clock, year = (part.decode("ascii") for part in found.groups())
    pattern = "%b %d %H:%M:%S %Y" if clock.count(":") == 2 else "%b %d %H:%M %Y"
    try:
        return datetime.strptime(f"{month} {day} {clock} {year}", pattern).replace(tzinfo=UTC)
    except ValueError:
        return None


def mbox_copies(path: Path) -> list[MailCopy]:
    """Return one copy per message of an mbox file; the folder is the file's stem."""
    if not path.is_file():
        raise FileNotFoundError(errno.ENOENT, "no such mbox file; give the path of one", str(path))
    modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    copies = []
    for number, offset, length, separator in mbox_spans(path):
        copies.append(
            MailCopy(
                ref=f"{path.name}#{number}",
                folder=path.stem or path.name,
                stamp=f"{offset}:{length}:{zlib.crc32(separator):08x}",
                location=f"{path} (message {number})",
                path=path,
                received=_separator_time(separator) or modified,
                offset=offset,
                length=length,
            )
        )
    return copies


def _file_stamp(path: Path) -> list[int]:
    stat = os.stat(path)
    return [stat.st_size, stat.st_mtime_ns]


class MboxConnector(MailConnector):
    """Read one mbox file; messages keep the file's stem as their folder."""

    kind: ClassVar[str] = "mbox"
    description: ClassVar[str] = (
        "One mbox file (Thunderbird, Apple Mail, Google Takeout exports); "
        "the file's name is the messages' folder"
    )
    location_help: ClassVar[str] = "the path of an .mbox file"

    def copies(self) -> list[MailCopy]:
        """Return one copy per message in the file."""
        return mbox_copies(self._path())

    def _path(self) -> Path:
        return Path(self.source.location).expanduser()

    def read(self, cursor: dict[str, Any]) -> Iterator[Reading]:
        """Yield what is new since ``cursor``; an unchanged file is not scanned."""
        path = self._path()
        if not path.is_file():
            raise FileNotFoundError(errno.ENOENT, "no such mbox file", str(path))
        stamp = _file_stamp(path)
        if cursor.get("version") == CURSOR_VERSION and cursor.get("file") == stamp:
            return
        yield from read_copies(
            self._listing(), cursor, self.context.owner_emails, final={"file": stamp}
        )

    def estimate(self, cursor: dict[str, Any]) -> int | None:
        """Return how many messages need a full read (none when the file is unchanged)."""
        path = self._path()
        if path.is_file() and cursor.get("file") == _file_stamp(path):
            return 0
        return super().estimate(cursor)
