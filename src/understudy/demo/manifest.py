"""The demo manifest: what was generated, what to ingest, and the planted facts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

__all__ = ["DemoManifest", "DemoSource", "PlantedFact"]


@dataclass(frozen=True, slots=True)
class DemoSource:
    """One thing to ingest: its connector kind, path (relative to the demo root) and readers."""

    kind: str
    location: str
    owner: str | None = None
    project: str | None = None
    readers: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return the source as JSON data."""
        return {
            "kind": self.kind,
            "location": self.location,
            "owner": self.owner,
            "project": self.project,
            "readers": list(self.readers),
            "options": self.options,
        }


@dataclass(frozen=True, slots=True)
class PlantedFact:
    """A fact a good brief must surface, with the evidence that shows it."""

    kind: str
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return the fact as JSON data."""
        return {"kind": self.kind, "summary": self.summary, "evidence": self.evidence}


@dataclass(frozen=True, slots=True)
class DemoManifest:
    """What ``generate_demo`` wrote: the company, counts, sources and planted facts.

    ``counts`` holds ``people``, ``messages`` (unique mail messages), ``files``
    (every file in the tree, this manifest and truth.json included),
    ``mail_files`` (message files across all mailboxes), ``events``,
    ``chat_messages``, ``documents`` and ``tasks``. Source locations are
    relative to the demo root.
    """

    seed: int
    today: date
    timezone: str
    company: str
    domain: str
    ceo: str
    counts: dict[str, int]
    sources: tuple[DemoSource, ...]
    planted: tuple[PlantedFact, ...]

    def to_json(self) -> str:
        """Return the manifest as pretty-printed JSON text."""
        data = {
            "seed": self.seed,
            "today": self.today.isoformat(),
            "timezone": self.timezone,
            "company": self.company,
            "domain": self.domain,
            "ceo": self.ceo,
            "counts": self.counts,
            "sources": [s.to_json() for s in self.sources],
            "planted": [p.to_json() for p in self.planted],
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> DemoManifest:
        """Read a manifest back from the text ``to_json`` wrote."""
        data = json.loads(text)
        return cls(
            seed=int(data["seed"]),
            today=date.fromisoformat(data["today"]),
            timezone=data["timezone"],
            company=data["company"],
            domain=data["domain"],
            ceo=data["ceo"],
            counts={k: int(v) for k, v in data["counts"].items()},
            sources=tuple(
                DemoSource(
                    kind=s["kind"],
                    location=s["location"],
                    owner=s.get("owner"),
                    project=s.get("project"),
                    readers=tuple(s.get("readers") or ()),
                    options=dict(s.get("options") or {}),
                )
                for s in data["sources"]
            ),
            planted=tuple(
                PlantedFact(p["kind"], p["summary"], dict(p.get("evidence") or {}))
                for p in data["planted"]
            ),
        )

    def source(self, kind: str, location: str) -> DemoSource | None:
        """Return the source of this kind at this location, if listed."""
        return next((s for s in self.sources if s.kind == kind and s.location == location), None)

    def fact(self, kind: str) -> PlantedFact:
        """Return the planted fact of this kind."""
        return next(p for p in self.planted if p.kind == kind)
