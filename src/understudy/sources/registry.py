"""Where connectors are found: built-ins and ``understudy.connectors`` entry points.

Built-ins register through the same mechanism a third party uses: an entry
point naming a ``Connector`` subclass. The table of built-ins below is the
fallback when the package metadata is not installed (a source checkout).
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from importlib.metadata import entry_points

from understudy.errors import InputError
from understudy.sources.base import Connector

__all__ = ["BUILTIN_CONNECTORS", "connector_class", "connector_kinds"]

BUILTIN_CONNECTORS: dict[str, str] = {
    "maildir": "understudy.sources.maildir:MaildirConnector",
    "mbox": "understudy.sources.mbox:MboxConnector",
    "eml": "understudy.sources.eml:EmlConnector",
    "files": "understudy.sources.files:FilesConnector",
    "tasks": "understudy.sources.tasks:TasksConnector",
    "sql": "understudy.sources.sql:SQLConnector",
    "ics": "understudy.sources.ics:IcsConnector",
    "caldav": "understudy.sources.caldav:CaldavConnector",
    "imap": "understudy.sources.imap:ImapConnector",
    "slack": "understudy.sources.slack:SlackConnector",
}


def _load(target: str) -> type[Connector]:
    module_name, _, attribute = target.partition(":")
    loaded = getattr(importlib.import_module(module_name), attribute)
    if not (isinstance(loaded, type) and issubclass(loaded, Connector)):
        raise InputError(f"connector {target!r} is not a Connector subclass")
    return loaded


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    table = dict(BUILTIN_CONNECTORS)
    for entry in entry_points(group="understudy.connectors"):
        table[entry.name] = entry.value
    return table


def connector_kinds() -> list[str]:
    """Return the kinds of source that can be ingested."""
    return sorted(_table())


def connector_class(kind: str) -> type[Connector]:
    """Return the connector class for ``kind``."""
    target = _table().get(kind)
    if target is None:
        known = ", ".join(connector_kinds())
        raise InputError(f"unknown source kind {kind!r}; use one of: {known}")
    return _load(target)
