"""Mail tools: predict, draft, send, reply, forward, and create a task."""

from __future__ import annotations

from typing import Any, ClassVar

from understudy.agent.tools import Proposal, Tool, ToolContext, ToolResult, names
from understudy.errors import NotFound

__all__ = [
    "CreateTaskTool",
    "DraftReplyTool",
    "ForwardTool",
    "PredictTool",
    "ReplyTool",
    "SendMessageTool",
]


def _item(context: ToolContext, arguments: dict[str, Any]) -> Any:
    raw = arguments.get("item") or context.request.item_id
    if raw is None:
        return None
    return context.store.get_item(context.principal, int(raw))


class PredictTool(Tool):
    """What would the owner do with an item? (the twin)"""

    name: ClassVar[str] = "predict"
    description: ClassVar[str] = "Predict what the owner would do with a message."
    owner_only: ClassVar[bool] = True
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"item": {"type": "integer"}},
        "required": ["item"],
    }

    def run(self, context: ToolContext, **arguments: Any) -> ToolResult:
        """Return the twin's prediction."""
        from understudy.twin.model import load_twin
        from understudy.twin.predict import predict_item

        item = _item(context, arguments)
        if item is None:
            return ToolResult("no such item")
        try:
            twin = load_twin(context.store, context.request.owner)
        except NotFound as exc:
            return ToolResult(str(exc))
        prediction = predict_item(context.store, twin, item)
        context.note_read([item.id])
        text = ", ".join(f"{a} {p:.0%}" for a, p in prediction.distribution.items())
        return ToolResult(text, [item.id], {"prediction": prediction})


class DraftReplyTool(Tool):
    """Draft a reply in the owner's words (the twin; with a model, written in their style)."""

    name: ClassVar[str] = "draft_reply"
    description: ClassVar[str] = "Draft a reply to a message in the owner's style."
    owner_only: ClassVar[bool] = True
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"item": {"type": "integer"}},
        "required": ["item"],
    }

    def run(self, context: ToolContext, **arguments: Any) -> ToolResult:
        """Return the draft and a proposal to send it (which the gate treats as a reply)."""
        from understudy.twin.model import load_twin
        from understudy.twin.predict import predict_item

        item = _item(context, arguments)
        if item is None:
            return ToolResult("no such item")
        sender = str(item.metadata.get("from") or item.author or "")
        if not sender:
            return ToolResult(f"{item.title or 'this item'} has no sender to reply to", [item.id])
        writer = None
        if context.model is not None:
            from understudy.llm import LLMWriter

            writer = LLMWriter(context.model)
        try:
            prediction = predict_item(
                context.store, load_twin(context.store, context.request.owner), item, writer
            )
        except NotFound as exc:
            return ToolResult(str(exc))
        context.note_read([item.id])
        proposal = Proposal(
            "reply",
            "email",
            {
                "to": [sender],
                "subject": _re(item.title),
                "body": prediction.draft,
                "in_reply_to": item.id,
            },
            (sender,),
            item.id,
        )
        return ToolResult(
            prediction.draft or "no past reply to draft from",
            [item.id],
            {"prediction": prediction},
            proposal,
        )


def _re(subject: str) -> str:
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


class SendMessageTool(Tool):
    """Send an email as the owner (through the gate)."""

    name: ClassVar[str] = "send_message"
    description: ClassVar[str] = "Send an email message on the owner's behalf."
    side_effects: ClassVar[bool] = True
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "to": {"type": "array", "items": {"type": "string"}},
            "subject": {"type": "string"},
            "body": {"type": "string"},
        },
        "required": ["to", "subject", "body"],
    }

    def run(self, context: ToolContext, **arguments: Any) -> ToolResult:
        """Return a proposal to send."""
        to = names(arguments.get("to"))
        payload = {
            "to": to,
            "subject": str(arguments.get("subject") or ""),
            "body": str(arguments.get("body") or ""),
        }
        return ToolResult(
            f"send {payload['subject']!r} to {', '.join(to)}",
            proposal=Proposal("send", "email", payload, tuple(to)),
        )


class ReplyTool(Tool):
    """Reply to a message as the owner (through the gate)."""

    name: ClassVar[str] = "reply"
    description: ClassVar[str] = "Reply to a message on the owner's behalf."
    side_effects: ClassVar[bool] = True
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"item": {"type": "integer"}, "body": {"type": "string"}},
        "required": ["item", "body"],
    }

    def run(self, context: ToolContext, **arguments: Any) -> ToolResult:
        """Return a proposal to reply to the item's sender."""
        item = _item(context, arguments)
        if item is None:
            return ToolResult("no such item")
        sender = str(item.metadata.get("from") or item.author or "")
        if not sender:
            return ToolResult(f"{item.title or 'this item'} has no sender to reply to", [item.id])
        payload = {
            "to": [sender],
            "subject": _re(item.title),
            "body": str(arguments.get("body") or ""),
            "in_reply_to": item.id,
        }
        return ToolResult(
            f"reply to {sender}",
            [item.id],
            proposal=Proposal("reply", "email", payload, (sender,), item.id),
        )


def _fwd(subject: str) -> str:
    return subject if subject.lower().startswith(("fwd:", "fw:")) else f"Fwd: {subject}"


class ForwardTool(Tool):
    """Forward a message or document as the owner, with a note (through the gate).

    The gate lets a forward through only when the requester's own words ask
    for one and name every recipient; the item travels as it is stored, read
    as the owner when the forward is carried out.
    """

    name: ClassVar[str] = "forward"
    description: ClassVar[str] = "Forward a message or document to people, with an optional note."
    side_effects: ClassVar[bool] = True
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "item": {"type": "integer"},
            "to": {"type": "array", "items": {"type": "string"}},
            "note": {"type": "string"},
        },
        "required": ["item", "to"],
    }

    def run(self, context: ToolContext, **arguments: Any) -> ToolResult:
        """Return a proposal to forward the item to the people named."""
        item = _item(context, arguments)
        if item is None:
            return ToolResult("no such item")
        to = names(arguments.get("to"))
        if not to:
            return ToolResult(f"forward {item.title or 'this item'} to whom?", [item.id])
        context.note_read([item.id])
        payload = {
            "to": to,
            "subject": _fwd(item.title or "(no subject)"),
            "body": str(arguments.get("note") or ""),
            "forward_of": item.id,
        }
        return ToolResult(
            f"forward {item.title!r} to {', '.join(to)}",
            [item.id],
            proposal=Proposal("forward", "email", payload, tuple(to), item.id),
        )


class CreateTaskTool(Tool):
    """Create a task (through the gate)."""

    name: ClassVar[str] = "create_task"
    description: ClassVar[str] = "Create a task with an assignee and a due date."
    side_effects: ClassVar[bool] = True
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "assignee": {"type": "string"},
            "due": {"type": "string"},
        },
        "required": ["title"],
    }

    def run(self, context: ToolContext, **arguments: Any) -> ToolResult:
        """Return a proposal to create the task."""
        assignee = str(arguments.get("assignee") or context.request.owner)
        payload = {
            "title": str(arguments.get("title")),
            "assignee": assignee,
            "due": arguments.get("due"),
        }
        targets = (assignee,) if assignee != context.request.owner else ()
        return ToolResult(
            f"task {payload['title']!r} for {assignee}",
            proposal=Proposal("create_task", "task", payload, targets),
        )
