"""Commands that serve understudies to others: ``serve`` (HTTP, A2A, MCP) and ``mcp`` (stdio)."""

from __future__ import annotations

import os

import typer

from understudy.errors import InputError
from understudy.settings import Settings

__all__ = ["register"]


def _tracing_installed() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("opentelemetry.sdk") is not None
    except ModuleNotFoundError:
        return False


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8765, "--port", help="Port to listen on."),
    workers: int = typer.Option(
        1, "--workers", help="Server processes (each is stateless; one per core is typical)."
    ),
    log_level: str = typer.Option("warning", "--log-level", help="debug, info, warning or error."),
) -> None:
    """Serve the JSON API, every understudy as an A2A agent, and MCP at /mcp, in one server."""
    import uvicorn

    from understudy.api.workers import can_share_port, serve_processes
    from understudy.store import open_store

    # Fail here, with the store's own message, rather than in every worker.
    open_store(Settings.load()).close()
    if not _tracing_installed():
        # With only the OpenTelemetry API installed, a2a-sdk's spans go nowhere but still
        # cost about a tenth of a request's time; with the SDK installed, tracing stays on.
        os.environ.setdefault("OTEL_INSTRUMENTATION_A2A_SDK_ENABLED", "false")
    app = "understudy.api.app:create_app"
    if workers > 1 and can_share_port():
        # One listening socket per worker, so the kernel spreads connections evenly.
        serve_processes(app, host, port, workers, log_level=log_level.lower(), proxy_headers=True)
        return
    uvicorn.run(
        app,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level.lower(),
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )


def mcp(
    person: str = typer.Option(
        None, "--as", help="Act as this person (id, email or name); default: UNDERSTUDY_TOKEN."
    ),
) -> None:
    """Serve the MCP tools (search, ask, brief, predict, approvals, questions) on stdin/stdout."""
    from understudy.agent.tokens import Caller
    from understudy.relay.deployment import Deployment
    from understudy.relay.mcp_server import run_stdio
    from understudy.relay.operations import find_colleague

    deployment = Deployment.from_settings(pool_size=2)
    token = os.environ.get("UNDERSTUDY_TOKEN", "").strip()
    if person:
        with deployment.store() as store:
            caller = Caller(person=find_colleague(store, person).id)
    elif token:
        caller = deployment.caller(token)
    else:
        raise InputError(
            "say whom the tools act as: --as PERSON, or set UNDERSTUDY_TOKEN to a token "
            "from 'understudy token PERSON'"
        )
    run_stdio(deployment, caller)


def register(app: typer.Typer) -> None:
    """Add the serving commands to ``app``."""
    app.command()(serve)
    app.command("mcp")(mcp)
