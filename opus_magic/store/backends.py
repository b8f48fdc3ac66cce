"""Which history backend a setting names: a PostgreSQL URL, else an SQLite file."""
from __future__ import annotations

from pathlib import Path

from opus_magic.secret import is_server_url
from opus_magic.store.base import HistoryStore


def open_store(location: str | Path, user: str | None = None,
               project: str | None = None) -> HistoryStore:
    """A PostgreSQL store for a `postgresql://` URL (a str that may carry a password), an SQLite
    store for a path."""
    if isinstance(location, str) and is_server_url(location):
        from opus_magic.store.postgres import PgStore

        return PgStore(location, user, project)
    from opus_magic.store.sqlite import Store

    return Store(location, user, project)
