"""The understudy's tools: built-ins and ``understudy.tools`` entry points."""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points

from understudy.agent.knowledge import AskTool, ExpertsTool, QueryDataTool, SearchTool, StatusTool
from understudy.agent.messaging import (
    CreateTaskTool,
    DraftReplyTool,
    ForwardTool,
    PredictTool,
    ReplyTool,
    SendMessageTool,
)
from understudy.agent.schedule import FreeBusyTool, ProposeMeetingTool
from understudy.agent.tools import Tool

__all__ = ["BUILTIN_TOOLS", "READ_ONLY", "tools"]

BUILTIN_TOOLS: tuple[type[Tool], ...] = (
    SearchTool,
    AskTool,
    ExpertsTool,
    StatusTool,
    QueryDataTool,
    FreeBusyTool,
    PredictTool,
    DraftReplyTool,
    SendMessageTool,
    ReplyTool,
    ForwardTool,
    ProposeMeetingTool,
    CreateTaskTool,
)
READ_ONLY = ("search", "ask", "experts", "status", "query_data", "free_busy")


@lru_cache(maxsize=1)
def tools() -> dict[str, Tool]:
    """Return every available tool by name, built-ins first, then plugins."""
    found: dict[str, Tool] = {tool.name: tool() for tool in BUILTIN_TOOLS}
    for entry in entry_points(group="understudy.tools"):
        loaded = entry.load()
        if isinstance(loaded, type) and issubclass(loaded, Tool):
            found[loaded.name] = loaded()
    return found
