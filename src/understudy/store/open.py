"""Choose and open the store the settings ask for."""

from __future__ import annotations

from understudy.errors import ConfigError
from understudy.settings import Settings, ensure_home
from understudy.store.base import Store

__all__ = ["open_store"]


def open_store(settings: Settings) -> Store:
    """Open PostgreSQL when ``database_url`` is set, else the SQLite file in the home."""
    url = settings.database_url
    if url:
        if not url.startswith(("postgresql://", "postgres://")):
            raise ConfigError(
                f"UNDERSTUDY_DATABASE_URL={url.split('@')[-1]!r} is not a postgresql:// URL; "
                "set a PostgreSQL URL, or unset it to use the embedded SQLite store"
            )
        from understudy.store.postgres import PostgresStore

        return PostgresStore.open(url)
    from understudy.store.sqlite import SQLiteStore

    home = ensure_home(settings.home)
    return SQLiteStore.open(home / "understudy.db")
