"""Where language-model backends are found, and which one the settings pick.

Built-ins register through the same mechanism a third party uses: an entry
point in the ``understudy.llm_backends`` group naming a ``LanguageModel``
subclass. The backend is chosen by the scheme of ``llm_url``: an empty URL
means no model (callers fall back to extractive answers and rule-based
drafts), ``http``/``https`` means an OpenAI-compatible server, and a plugin
may claim schemes of its own through ``url_schemes``.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from understudy.errors import ConfigError
from understudy.llm.models import LanguageModel, public_url

if TYPE_CHECKING:
    from understudy.settings import Settings

__all__ = ["BUILTIN_BACKENDS", "backend_class", "backend_for_url", "backend_names", "get_model"]

BUILTIN_BACKENDS: dict[str, str] = {
    "openai": "understudy.llm.openai:OpenAIModel",
}
ENTRY_POINT_GROUP = "understudy.llm_backends"


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    table = dict(BUILTIN_BACKENDS)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        table[entry.name] = entry.value
    return table


def backend_names() -> list[str]:
    """Return the names of the installed language-model backends."""
    return sorted(_table())


def backend_class(name: str) -> type[LanguageModel]:
    """Return the backend class registered as ``name``."""
    target = _table().get(name)
    if target is None:
        raise ConfigError(
            f"unknown language-model backend {name!r}; installed: {', '.join(backend_names())}"
        )
    module_name, _, attribute = target.partition(":")
    loaded = getattr(importlib.import_module(module_name), attribute)
    if not (isinstance(loaded, type) and issubclass(loaded, LanguageModel)):
        raise ConfigError(f"language-model backend {target!r} is not a LanguageModel subclass")
    return loaded


def backend_for_url(url: str) -> type[LanguageModel]:
    """Return the backend that serves ``url``, chosen by its scheme."""
    scheme = urlsplit(url).scheme.lower()
    # Plugins come after the built-ins, so a plugin may take over a scheme.
    chosen: type[LanguageModel] | None = None
    for name in [*BUILTIN_BACKENDS, *(n for n in _table() if n not in BUILTIN_BACKENDS)]:
        backend = backend_class(name)
        if scheme in backend.url_schemes:
            chosen = backend
    if chosen is None:
        known = ", ".join(
            f"{name} ({'/'.join(backend_class(name).url_schemes) or 'no URLs'})"
            for name in backend_names()
        )
        raise ConfigError(
            f"llm_url: no language-model backend serves {public_url(url)!r}; set "
            "UNDERSTUDY_LLM_URL to an OpenAI-compatible base URL such as "
            f"http://localhost:11434/v1, or leave it empty for no model (backends: {known})"
        )
    return chosen


def get_model(settings: Settings) -> LanguageModel | None:
    """Return the language model the settings configure, or None when ``llm_url`` is empty."""
    url = settings.text("llm_url").strip()
    if not url or url.lower() == "none":
        return None
    return backend_for_url(url).from_settings(settings)
