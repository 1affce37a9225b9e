"""The tools an understudy plans with: one small contract, registered like plugins.

A tool reads through the store as the request's principal (so it can only
see what both the owner and the asker may read) and returns data plus the
ids of the items it read. A tool with side effects never acts itself: it
returns a ``Proposal``, and the policy gate decides whether it is dropped,
only drafted, queued for the owner, or carried out.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from understudy.agent.requests import Request
from understudy.records import Principal
from understudy.settings import Settings
from understudy.store import ItemFilter, Store

__all__ = ["Proposal", "Tool", "ToolContext", "ToolResult", "names"]


@dataclass
class ToolContext:
    """What a tool may use while serving one request."""

    store: Store
    request: Request
    principal: Principal
    where: ItemFilter | None
    settings: Settings
    now: datetime
    searcher: Any = None
    relay: Any = None
    model: Any = None
    read: list[int] = field(default_factory=list)

    def note_read(self, item_ids: list[int]) -> None:
        """Remember items read for the audit log."""
        self.read.extend(i for i in item_ids if i not in self.read)


@dataclass(frozen=True, slots=True)
class Proposal:
    """Something with side effects a tool wants done, for the gate to decide."""

    action: str
    kind: str
    payload: dict[str, Any]
    targets: tuple[str, ...] = ()
    item_id: int | None = None


@dataclass
class ToolResult:
    """What a tool found or wants."""

    text: str
    items: list[int] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    proposal: Proposal | None = None


class Tool(ABC):
    """One capability of the understudy. Subclasses set the class attributes and ``run``."""

    name: ClassVar[str]
    description: ClassVar[str]
    parameters: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}}
    side_effects: ClassVar[bool] = False
    owner_only: ClassVar[bool] = False

    @abstractmethod
    def run(self, context: ToolContext, **arguments: Any) -> ToolResult:
        """Do the tool's work for one request."""

    @classmethod
    def schema(cls) -> dict[str, Any]:
        """Return the tool as an OpenAI-style function definition."""
        return {
            "type": "function",
            "function": {
                "name": cls.name,
                "description": cls.description,
                "parameters": cls.parameters,
            },
        }


ToolFactory = Callable[[], Tool]


def names(value: Any) -> list[str]:
    """Return a list argument as strings; a model that passes one string means a list of one."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
