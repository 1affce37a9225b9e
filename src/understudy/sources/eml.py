"""Single .eml files, or a folder of them (searched recursively).

Each file is one message, its folder the name of the directory holding it;
the shared mail reading groups copies, rebuilds threads and checkpoints.
"""

from __future__ import annotations

import errno
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from understudy.sources.maildir import MailConnector, MailCopy

__all__ = ["EmlConnector", "eml_copies"]


def _eml_files(root: Path) -> tuple[Path, list[Path]]:
    """Return the directory paths are relative to, and the .eml files under ``root``."""
    if root.is_file():
        return root.parent, [root]
    if root.is_dir():
        found = (p for p in root.rglob("*") if p.suffix.lower() == ".eml" and p.is_file())
        return root, sorted(found)
    raise FileNotFoundError(
        errno.ENOENT, "no such .eml file or folder; give the path of one", str(root)
    )


def eml_copies(root: Path) -> list[MailCopy]:
    """Return one copy per .eml file; its folder is the name of its directory."""
    base, files = _eml_files(root)
    copies = []
    for path in files:
        stat = path.stat()
        ref = path.relative_to(base).as_posix()
        copies.append(
            MailCopy(
                ref=ref.encode("utf-8", "surrogateescape").decode("utf-8", "replace"),
                folder=path.parent.name or "INBOX",
                stamp=f"{stat.st_mtime_ns}:{stat.st_size}",
                location=str(path),
                path=path,
                received=datetime.fromtimestamp(stat.st_mtime, UTC),
                length=stat.st_size,
            )
        )
    return copies


class EmlConnector(MailConnector):
    """Read one .eml file or every .eml file under a folder."""

    kind: ClassVar[str] = "eml"
    description: ClassVar[str] = (
        "A single .eml message or a folder of them (recursive); "
        "each message's folder is the name of its directory"
    )
    location_help: ClassVar[str] = "the path of an .eml file or of a folder holding them"

    def copies(self) -> list[MailCopy]:
        """Return one copy per .eml file."""
        return eml_copies(Path(self.source.location).expanduser())
