"""The ``files`` connector: a folder tree of documents, one item per file.

Each supported file (see ``understudy.sources.documents``) becomes one
``document`` item whose external id is its path relative to the folder. The
first folder level may name a project: ``atlas/specs/plan.md`` belongs to
project ``atlas`` when such a project is known, and project members may read
it. A source registered with a project puts every file in that project.

Sync is incremental. The cursor keeps ``files``: path → ``[mtime_ns, size]``
of every file looked at (read, or reported as a problem). A file whose
signature is unchanged is not opened again; a changed file is read again and
becomes a new version. A file that disappeared is listed under ``deleted`` in
the cursor and nothing else happens: stored items are history, and a deleted
file's last version stays searchable. A broken file is reported once per
change, not on every sync.

Skipped without a word: hidden files and folders (a name starting with
``.``), Office lock files (``~$…``), editor backups (``…~``) and files of
types that hold no text we read (images, archives).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Any, ClassVar

from understudy.records import Source, project_reader
from understudy.sources.base import (
    Checkpoint,
    Connector,
    Contact,
    Draft,
    Problem,
    Reading,
    SyncContext,
)
from understudy.sources.documents import (
    DOCUMENT_TYPES,
    MAX_FILE_BYTES,
    MAX_TEXT_CHARS,
    ExtractedText,
    extract_text,
    too_large,
)

__all__ = ["FilesConnector"]

Signature = list[int]


class FilesConnector(Connector):
    """Read a folder tree of Markdown, text, HTML, PDF, DOCX, PPTX and XLSX files."""

    kind: ClassVar[str] = "files"
    item_kinds: ClassVar[tuple[str, ...]] = ("document",)
    description: ClassVar[str] = (
        "Documents in a folder tree (Markdown, text, HTML, PDF, DOCX, PPTX, XLSX); "
        "a first-level folder named like a project puts its files in that project."
    )
    location_help: ClassVar[str] = "a folder path, e.g. ~/Documents/work"
    max_file_bytes: ClassVar[int] = MAX_FILE_BYTES
    checkpoint_every: ClassVar[int] = 200

    def __init__(self, source: Source, context: SyncContext | None = None) -> None:
        super().__init__(source, context)
        self._unlisted: list[OSError] = []

    @property
    def root(self) -> Path:
        """Return the folder this source reads."""
        return Path(self.source.location).expanduser()

    def estimate(self, cursor: dict[str, Any]) -> int | None:
        """Return how many files are new or changed since ``cursor``."""
        if not self.root.is_dir():
            return None
        known = cursor.get("files", {})
        return sum(1 for rel, signature in self._signatures() if known.get(rel) != signature)

    def read(self, cursor: dict[str, Any]) -> Iterator[Reading]:
        """Yield a draft for each new or changed file, problems for unreadable ones."""
        if not self.root.is_dir():
            yield Problem(self.source.location, "not a folder; give the path of a folder")
            return
        previous: dict[str, Signature] = dict(cursor.get("files", {}))
        current: dict[str, Signature] = {}
        read_count = 0
        for rel, signature in self._signatures():
            current[rel] = signature
            if previous.get(rel) == signature:
                continue
            yield from self._read_file(rel, signature)
            read_count += 1
            if read_count % self.checkpoint_every == 0:
                # Files not reached yet keep their old signature, so a resumed
                # sync still notices which of them were deleted.
                yield Checkpoint(self._cursor({**previous, **current}, cursor))
        for error in self._unlisted:
            yield Problem(str(error.filename), f"cannot list folder: {error.strerror or error}")
        gone = [rel for rel in previous if rel not in current and not self._unlisted]
        yield Checkpoint(self._cursor(current, cursor, gone))

    def _cursor(
        self, files: dict[str, Signature], old: dict[str, Any], gone: list[str] | None = None
    ) -> dict[str, Any]:
        deleted = [rel for rel in old.get("deleted", []) if rel not in files]
        deleted.extend(rel for rel in gone or () if rel not in deleted)
        return {"files": files, "deleted": sorted(deleted)}

    def _signatures(self) -> Iterator[tuple[str, Signature]]:
        """Yield (relative path, [mtime_ns, size]) of every candidate file, in order."""
        self._unlisted = []
        for directory, folders, names in os.walk(self.root, onerror=self._unlisted.append):
            folders[:] = sorted(f for f in folders if not f.startswith("."))
            for name in sorted(names):
                if not _wanted(name):
                    continue
                path = Path(directory, name)
                try:
                    stat = path.stat()
                except OSError:
                    continue  # vanished or a dangling link: nothing to read
                rel = path.relative_to(self.root).as_posix()
                yield rel, [stat.st_mtime_ns, stat.st_size]

    def _read_file(self, rel: str, signature: Signature) -> Iterator[Reading]:
        location = str(self.root / rel)
        mtime_ns, size = signature
        if size > self.max_file_bytes:
            yield Problem(location, too_large(size, self.max_file_bytes))
            return
        found = extract_text(self.root / rel)
        if found.error:
            yield Problem(location, found.error)
            return
        if found.truncated:
            yield Problem(
                location,
                f"text truncated to {MAX_TEXT_CHARS:,} of {found.original_chars:,} characters",
            )
        yield self._draft(rel, mtime_ns, size, found)

    def _draft(self, rel: str, mtime_ns: int, size: int, found: ExtractedText) -> Draft:
        parts = rel.split("/")
        project = self._project(parts)
        mtime = datetime.fromtimestamp(mtime_ns / 1e9, UTC)
        metadata: dict[str, Any] = {
            "path": rel,
            "size": size,
            "mtime": mtime.isoformat(),
            "content_type": found.content_type,
            "sections": list(found.sections),
        }
        author = _author(found.author)
        if found.author and author is None:
            metadata["author_name"] = found.author
        if found.truncated:
            metadata["truncated"] = True
            metadata["original_chars"] = found.original_chars
        if found.notes:
            metadata["notes"] = list(found.notes)
        return Draft(
            external_id=rel,
            kind="document",
            timestamp=mtime,
            title=found.title or parts[-1],
            body=found.text,
            author=author,
            readers=(project_reader(project),) if project else (),
            folder="/".join(parts[:-1]) or None,
            project=project,
            metadata=metadata,
        )

    def _project(self, parts: list[str]) -> str | None:
        """Return the source's project, else the project the first folder names."""
        if self.source.project:
            return self.source.project
        if len(parts) < 2:
            return None
        return self.context.projects.get(parts[0].strip().lower())


def _wanted(name: str) -> bool:
    if name.startswith((".", "~$")) or name.endswith("~"):
        return False
    return Path(name).suffix.lower() in DOCUMENT_TYPES


def _author(text: str) -> Contact | None:
    """Return the author as a contact when the document names an email address."""
    name, address = parseaddr(text)
    if "@" not in address or " " in address:
        return None
    return Contact(email=address.lower(), name=name)
