"""The HTTP server: a JSON API, every understudy as an A2A agent, and MCP, in one app."""

from understudy.api.app import create_app
from understudy.api.error_shape import error_body

__all__ = ["create_app", "error_body"]
