"""Read-only tools: search, ask, experts, project status, company data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from understudy.agent.tools import Tool, ToolContext, ToolResult
from understudy.brain.answers import answer_question
from understudy.brain.experts import find_experts
from understudy.brain.pulse import Pulse, project_pulse
from understudy.errors import NotFound, PermissionDenied
from understudy.records import ITEM_KINDS
from understudy.store import ItemFilter

__all__ = ["AskTool", "ExpertsTool", "QueryDataTool", "SearchTool", "StatusTool", "find_project"]


def _query(text: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {text: {"type": "string"}},
        "required": [text],
    }


class SearchTool(Tool):
    """Search what the request's principal may read."""

    name: ClassVar[str] = "search"
    description: ClassVar[str] = "Search mail, documents, chat, calendar and tasks."
    parameters: ClassVar[dict[str, Any]] = _query("query")

    def run(self, context: ToolContext, **arguments: Any) -> ToolResult:
        """Return the top results as titled snippets."""
        results = context.searcher.search(
            context.principal, str(arguments["query"]), 8, context.where
        )
        ids = [r.item.id for r in results if r.item.id is not None]
        context.note_read(ids)
        lines = [f"[{n}] {r.item.title}: {r.snippet}" for n, r in enumerate(results, start=1)]
        return ToolResult("\n".join(lines) or "nothing found", ids, {"results": results})


class AskTool(Tool):
    """Answer a question with numbered citations."""

    name: ClassVar[str] = "ask"
    description: ClassVar[str] = "Answer a question from what may be read, citing sources."
    parameters: ClassVar[dict[str, Any]] = _query("question")

    def run(self, context: ToolContext, **arguments: Any) -> ToolResult:
        """Return a cited answer."""
        synthesizer = None
        if context.model is not None:
            from understudy.llm import LLMSynthesizer

            synthesizer = LLMSynthesizer(context.model)
        answer = answer_question(
            context.searcher,
            context.principal,
            str(arguments["question"]),
            context.where,
            synthesizer=synthesizer,
        )
        context.note_read(answer.items)
        return ToolResult(answer.text, answer.items, {"answer": answer})


class ExpertsTool(Tool):
    """Find who knows about a topic."""

    name: ClassVar[str] = "experts"
    description: ClassVar[str] = "Rank people by what they wrote or handled on a topic."
    parameters: ClassVar[dict[str, Any]] = _query("topic")

    def run(self, context: ToolContext, **arguments: Any) -> ToolResult:
        """Return people with their evidence."""
        found = find_experts(
            context.searcher, context.principal, str(arguments["topic"]), 5, context.where
        )
        ids = sorted({i for e in found for i in (*e.wrote, *e.handled)})
        context.note_read(ids)
        text = "; ".join(f"{e.name} ({e.score:.1f})" for e in found) or "nobody found"
        return ToolResult(text, ids, {"experts": found})


def find_project(context: ToolContext, text: str) -> str | None:
    """Return the id of the project a request names, if any."""
    lowered = text.lower()
    for project in context.store.list_projects():
        if project.id.lower() in lowered or project.name.lower() in lowered:
            return project.id
    return None


class StatusTool(Tool):
    """What changed in a project lately."""

    name: ClassVar[str] = "status"
    description: ClassVar[str] = "Summarize what changed in a project over the last days."
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"project": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["project"],
    }

    def run(self, context: ToolContext, **arguments: Any) -> ToolResult:
        """Return slipping tasks, new documents, decisions and active threads."""
        project = find_project(context, str(arguments["project"])) or str(arguments["project"])
        days = int(arguments.get("days") or 14)
        try:
            pulse = project_pulse(
                context.store,
                context.principal,
                project,
                context.now - timedelta(days=days),
                context.now,
            )
        except NotFound:
            return ToolResult(f"no project {project!r}")
        _within_sharing(pulse, context.where)
        ids = [i.id for i in (*pulse.slipping, *pulse.documents) if i.id is not None]
        context.note_read(ids)
        parts = []
        if pulse.slipping:
            keys = ", ".join(t.external_id for t in pulse.slipping[:6])
            parts.append(f"{len(pulse.slipping)} tasks are past due ({keys})")
        if pulse.documents:
            parts.append("new or updated: " + "; ".join(d.title for d in pulse.documents[:4]))
        if pulse.threads:
            parts.append("active: " + "; ".join(f"{s} ({n})" for s, n in pulse.threads))
        text = f"{pulse.name}: " + (
            ". ".join(parts) if parts else "nothing changed that can be shared"
        )
        return ToolResult(text, ids, {"pulse": pulse})


def _within_sharing(pulse: Pulse, where: ItemFilter | None) -> None:
    """Keep only what the owner's sharing rule allows: its kinds and its projects."""
    if where is None:
        return
    kinds = set(where.kinds or ITEM_KINDS)
    outside = bool(where.projects) and pulse.project not in where.projects
    if outside or "document" not in kinds:
        pulse.documents = []
    if outside or "task" not in kinds:
        pulse.slipping, pulse.changed_tasks = [], []
    if outside:
        pulse.decisions = []
    # Threads come from any mail or chat that names the project, whatever its project.
    pulse.threads = [
        (subject, n)
        for subject, n in pulse.threads
        if not where.projects and ("message" if subject.startswith("#") else "email") in kinds
    ]


class QueryDataTool(Tool):
    """Read rows of a registered SQL source (read-only, only tables the asker may read)."""

    name: ClassVar[str] = "query_data"
    description: ClassVar[str] = "Read rows from a company data table, read-only."
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "table": {"type": "string"},
            "columns": {"type": "array", "items": {"type": "string"}},
            "where": {"type": "object"},
            "limit": {"type": "integer"},
        },
        "required": ["table"],
    }

    def run(self, context: ToolContext, **arguments: Any) -> ToolResult:
        """Return the rows, or say the table may not be read."""
        from understudy.sources.sql import query_table

        table = str(arguments["table"])
        if context.where is not None and context.where.kinds and "row" not in context.where.kinds:
            return ToolResult("cannot share: company data is not shared with you")
        sources = [s for s in context.store.list_sources() if s.kind == "sql"]
        principals = _principals(context)
        for source in sources:
            try:
                rows = query_table(
                    source,
                    table,
                    arguments.get("columns"),
                    arguments.get("where"),
                    int(arguments.get("limit") or 50),
                    asker=tuple(principals),
                )
            except PermissionDenied as exc:
                return ToolResult(f"cannot share: {exc}")
            except Exception:  # the table lives in another source
                continue
            return ToolResult(f"{len(rows)} rows from {table}", [], {"rows": rows})
        return ToolResult(f"no readable table {table!r}")


def _principals(context: ToolContext) -> set[str]:
    """Return the principals every person of the request holds (the intersection)."""
    from understudy.agent.principals import principals_of

    sets = [principals_of(context.store, person) for person in context.principal.people]
    return set.intersection(*sets) if sets else set()
