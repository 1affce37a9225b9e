"""The HTTP server: the JSON API, every understudy as an A2A agent, and MCP, in one app.

``create_app()`` reads the settings (``UNDERSTUDY_HOME`` or
``UNDERSTUDY_DATABASE_URL``); nothing about a request is kept in the process,
so ``uvicorn --workers N`` or any number of machines behind a load balancer
serve one deployment. ``understudy serve`` runs it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI

from understudy import __version__
from understudy.api.error_shape import install_error_handlers
from understudy.api.middleware import MAX_BODY, BearerAuth, BodyLimit
from understudy.api.routes import router
from understudy.relay.a2a_server import A2AService
from understudy.relay.a2a_tasks import ensure_task_table
from understudy.relay.deployment import Deployment
from understudy.relay.mcp_server import build_mcp, http_caller, mcp_routes
from understudy.settings import Settings

__all__ = ["create_app"]

DESCRIPTION = (
    "Every person's understudy, over HTTP. Send `Authorization: Bearer <token>` with a token "
    "from `understudy token PERSON` (a person) or `understudy token PERSON --agent` (that "
    "person's understudy). Besides this JSON API: each understudy is an A2A agent at "
    "`/a2a/<person>/` (card at `/a2a/<person>/.well-known/agent-card.json`, directory at "
    "`/a2a/`), and MCP tools are served at `/mcp` (streamable HTTP). Every error has the shape "
    '`{"error": {"code": ..., "status": ..., "message": ...}}`.'
)


def _prepare(deployment: Deployment) -> None:
    with deployment.store() as store:
        ensure_task_table(store.db)


def create_app(
    settings: Settings | None = None,
    deployment: Deployment | None = None,
    max_body: int = MAX_BODY,
) -> FastAPI:
    """Return the server app for the deployment the settings describe."""
    deployment = deployment or Deployment.from_settings(settings)
    if not logging.getLogger().handlers:
        # A worker process of `uvicorn --workers N` starts with no logging set up.
        level = deployment.settings.text("log_level").upper()
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    agents = A2AService(deployment)
    tools = build_mcp(deployment, http_caller)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(_prepare, deployment)
        async with tools.session_manager.run():
            yield
        await agents.aclose()
        deployment.close()

    app = FastAPI(
        title="Understudy",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.deployment = deployment
    install_error_handlers(app)
    app.include_router(router)
    app.router.routes.extend(agents.routes())
    app.router.routes.extend(mcp_routes(tools, max_body))

    @app.get("/health", tags=["Server"], summary="Is the server up")
    def health() -> dict[str, Any]:
        """Return ok; needs no token."""
        return {"status": "ok", "version": __version__}

    app.add_middleware(BodyLimit, max_bytes=max_body)
    app.add_middleware(BearerAuth, deployment=deployment)
    return app
