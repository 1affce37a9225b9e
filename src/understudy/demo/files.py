"""Writing the generated tree: every file gets its story time as its mtime."""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

__all__ = ["Tree", "zip_bytes"]


@dataclass(slots=True)
class Tree:
    """A folder being generated; remembers what it wrote."""

    root: Path
    written: list[Path] = field(default_factory=list)
    _folders: set[Path] = field(default_factory=set)

    def write(self, relative: str, data: bytes | str, at: datetime | float) -> Path:
        """Write ``data`` at ``root/relative`` and set its mtime to ``at``."""
        path = self.root / relative
        if path.parent not in self._folders:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(path.parent)
        payload = data.encode("utf-8") if isinstance(data, str) else data
        path.write_bytes(payload)
        stamp = at.timestamp() if isinstance(at, datetime) else at
        os.utime(path, (stamp, stamp))
        self.written.append(path)
        return path

    def stamp(self, path: Path, at: datetime | float) -> None:
        """Set the mtime of a file written by someone else, and remember it."""
        stamp = at.timestamp() if isinstance(at, datetime) else at
        os.utime(path, (stamp, stamp))
        self.written.append(path)

    def seal(self, at: datetime) -> None:
        """Give every folder the same mtime, deepest first, so the tree is reproducible."""
        stamp = at.timestamp()
        folders = sorted(
            (p for p in self.root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)
        )
        for folder in [*folders, self.root]:
            os.utime(folder, (stamp, stamp))


def zip_bytes(files: dict[str, tuple[bytes, float]], stamp: datetime) -> bytes:
    """Return a zip of ``files`` (name -> bytes, mtime) with fixed entry dates and order."""
    moment = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=moment)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name][0])
    return buffer.getvalue()
