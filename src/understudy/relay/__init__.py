"""Understudies talking to the world: A2A agents and client (a2a-sdk), and MCP tools (mcp)."""

from understudy.relay.a2a_client import A2ARelay
from understudy.relay.a2a_server import A2AService
from understudy.relay.deployment import Deployment
from understudy.relay.mcp_server import build_mcp, run_stdio

__all__ = ["A2ARelay", "A2AService", "Deployment", "build_mcp", "run_stdio"]
