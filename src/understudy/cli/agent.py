"""Commands of the understudy itself: ask, token, approvals, audit, policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from understudy.cli.common import (
    console,
    open_configured_store,
    print_citations,
    print_json,
)
from understudy.errors import InputError
from understudy.settings import Settings

__all__ = ["register"]

JSON_OPTION = typer.Option(False, "--json", help="Print JSON for scripts.")


def _model(settings: Settings) -> Any:
    from understudy.llm import get_model

    return get_model(settings)


def ask(
    question: str = typer.Argument(..., help="The question or request."),
    person: str = typer.Option(..., "--as", help="Who is asking (id, email or name)."),
    to: str = typer.Option(None, "--to", help="Ask this person's understudy instead of your own."),
    org: bool = typer.Option(False, "--org", help="Ask the understudies of whoever likely knows."),
    deadline: float = typer.Option(10.0, "--deadline", help="Seconds to wait for --org answers."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Ask your own understudy, someone else's, or the organization; answers cite their sources."""
    from understudy.agent import LocalRelay, Origin, Request, Understudy, ask_organization

    settings = Settings.load()
    store = open_configured_store()
    asker = store.find_person(person).id
    model = _model(settings)
    if org:
        own = Understudy(store, asker, settings, model=model)
        merged = ask_organization(
            store, LocalRelay(store, settings, model), own.searcher, asker, question, deadline
        )
        _print_org(merged.as_dict(), as_json)
        return
    owner = store.find_person(to).id if to else asker
    origin = Origin.OWNER if owner == asker else Origin.COLLEAGUE
    response = Understudy(store, owner, settings, model=model).handle(
        Request(owner=owner, asker=asker, text=question, origin=origin)
    )
    if as_json:
        print_json(response.as_dict())
        return
    console.print(response.text, highlight=False)
    print_citations(response.citations)
    for a in response.actions:
        console.print(f"  action #{a['id']}: {a['kind']} — {a['state']}")


def _print_org(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(data)
        return
    if not data["asked"]:
        console.print("Nobody seems to know about that.")
    for answer in data["answers"]:
        console.print(answer["text"], highlight=False)
        print_citations(answer["citations"])
    for label, key in (
        ("declined to share", "declined"),
        ("knew nothing", "nothing"),
        ("did not answer in time", "unanswered"),
    ):
        if data[key]:
            console.print(f"[dim]{label}: {', '.join(data[key])}[/dim]")


def token(
    person: str = typer.Argument(..., help="Whose token (id, email or name)."),
    agent: bool = typer.Option(
        False, "--agent", help="A token for the person's understudy, to call other understudies."
    ),
    days: int = typer.Option(30, "--days", help="How long the token is valid."),
) -> None:
    """Print a bearer token for a person (for the HTTP API, A2A and MCP)."""
    from understudy.agent import issue_token

    store = open_configured_store()
    typer.echo(issue_token(store, store.find_person(person).id, agent=agent, lifetime=days * 86400))


def questions(
    person: str = typer.Option(..., "--as", help="Whose questions (id, email or name)."),
    limit: int = typer.Option(50, "--limit", min=1, max=500, help="At most this many."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show the questions you left for colleagues' owners: waiting, answered or declined."""
    from understudy.agent.questions import asked_by

    store = open_configured_store()
    found = asked_by(store, store.find_person(person).id, limit)
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("No questions of yours wait for anyone, or were answered.")
    for q in found:
        console.print(
            f"#{q['id']} to {q['to']} ({q['state']}, asked {q['asked'][:16]}): {q['question']}",
            highlight=False,
        )
        answer = q["answer"]
        if answer is not None:
            console.print(f"  {answer['text']}", highlight=False)
            print_citations(answer["citations"], indent="    ")


approvals_app = typer.Typer(
    help="Approve, edit or reject what understudies proposed.", invoke_without_command=True
)


@approvals_app.callback()
def approvals(
    ctx: typer.Context,
    person: str = typer.Option(None, "--for", help="Only this owner's queue."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List the actions waiting for approval."""
    if ctx.invoked_subcommand is not None:
        return
    from understudy.agent.approvals import pending

    store = open_configured_store()
    owner = store.find_person(person).id if person else None
    queue = pending(store, owner)
    rows: list[dict[str, Any]] = [
        {
            "id": a.id,
            "owner": a.owner,
            "kind": a.kind,
            "requested_by": a.requested_by,
            "created": a.created_at.isoformat(),
            "payload": a.payload,
        }
        for a in queue
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} actions waiting")
    for column in ("id", "owner", "kind", "asked by", "what"):
        table.add_column(column, overflow="fold")
    for r in rows:
        what = (
            r["payload"].get("subject")
            or r["payload"].get("title")
            or r["payload"].get("question")
            or ""
        )
        table.add_row(str(r["id"]), r["owner"], r["kind"], r["requested_by"], str(what))
    console.print(table)


def _decider(person: str | None, action_id: int) -> str:
    store = open_configured_store()
    if person:
        return store.find_person(person).id
    return store.get_action(action_id).owner


@approvals_app.command("approve")
def approve_command(
    action_id: int = typer.Argument(..., help="Action id."),
    person: str = typer.Option(None, "--as", help="Who approves (default: the owner)."),
) -> None:
    """Approve an action and carry it out."""
    from understudy.agent.approvals import approve

    store = open_configured_store()
    done = approve(store, Settings.load(), action_id, _decider(person, action_id))
    console.print(f"Action {action_id}: {done.state} — {done.result}")


@approvals_app.command("edit")
def edit_command(
    action_id: int = typer.Argument(..., help="Action id."),
    text: str = typer.Option(..., "--text", help="The new text (message body or title)."),
    person: str = typer.Option(None, "--as", help="Who edits (default: the owner)."),
) -> None:
    """Edit an action's text, then approve it; the twin learns from the edit."""
    from understudy.agent.approvals import edit

    store = open_configured_store()
    done = edit(store, Settings.load(), action_id, _decider(person, action_id), text)
    console.print(f"Action {action_id}: {done.state} — {done.result}")


@approvals_app.command("reject")
def reject_command(
    action_id: int = typer.Argument(..., help="Action id."),
    reason: str = typer.Option("", "--reason", help="Why."),
    person: str = typer.Option(None, "--as", help="Who rejects (default: the owner)."),
) -> None:
    """Reject an action; the twin learns the owner would not have done it."""
    from understudy.agent.approvals import reject

    store = open_configured_store()
    done = reject(store, action_id, _decider(person, action_id), reason)
    console.print(f"Action {action_id}: {done.state}")


def audit(
    person: str = typer.Option(..., "--for", help="Whose audit log."),
    limit: int = typer.Option(50, "--limit", help="How many events."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show who asked what, which items were read and disclosed, and which actions ran."""
    store = open_configured_store()
    who = store.find_person(person).id
    events = store.list_audit(who, limit)
    rows: list[dict[str, Any]] = [
        {
            "id": e.id,
            "at": e.at.isoformat(),
            "actor": e.actor,
            "for": e.on_behalf_of,
            "event": e.event,
            "request": e.request,
            "items": list(e.items_read),
            "disclosed_to": e.disclosed_to,
            "detail": e.detail,
        }
        for e in events
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"Audit log of {who} (newest first)")
    for column in ("at", "actor", "event", "items", "to", "request"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            r["at"][:19],
            r["actor"],
            r["event"],
            ",".join(map(str, r["items"][:8])),
            r["disclosed_to"] or "",
            r["request"][:60],
        )
    console.print(table)


policy_app = typer.Typer(
    help="Show or set an owner's autonomy and sharing policy.", no_args_is_help=True
)


@policy_app.command("show")
def policy_show(person: str = typer.Option(..., "--for", help="Whose policy.")) -> None:
    """Print the owner's policy as JSON."""
    from understudy.agent import load_policy

    store = open_configured_store()
    print_json(load_policy(store, store.find_person(person).id).as_dict())


@policy_app.command("set")
def policy_set(
    person: str = typer.Option(..., "--for", help="Whose policy."),
    file: Path = typer.Argument(
        ..., help="A JSON file with autonomy, sharing, queue_declined, precision."
    ),
) -> None:
    """Replace the owner's policy with the one in a JSON file (checked first)."""
    from understudy.agent import Policy

    store = open_configured_store()
    owner = store.find_person(person).id
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{file}: not a readable JSON policy ({exc})") from None
    try:
        policy = Policy.from_dict(owner, data)
    except InputError as exc:
        raise InputError(f"{file}: {exc}") from None
    store.put_policy(owner, policy.as_dict())
    console.print(f"Policy of {owner} saved.")


def register(app: typer.Typer) -> None:
    """Add the agent commands to ``app``."""
    app.command()(ask)
    app.command()(token)
    app.command()(questions)
    app.command()(audit)
    app.add_typer(approvals_app, name="approvals")
    app.add_typer(policy_app, name="policy")
