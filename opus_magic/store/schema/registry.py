"""The migration registry: named migrations in the order they were written, and what their SQL
needs to run on both SQLite and PostgreSQL.

Each migration is plain SQL that SQLite and PostgreSQL both run; where the two differ (the
full-text index, the row number) it asks `is_sqlite(db)`. A migration never imports live code:
what it means must not change when the rest of the package does.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

Migration = Callable[[Any], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


def is_sqlite(db: Any) -> bool:
    """SQLite gets its own connection; PostgreSQL a `store.postgres.Schema` with the same calls."""
    return isinstance(db, sqlite3.Connection)


def ddl(db: Any, sql: str) -> None:
    """Run a schema statement; on PostgreSQL, INTEGER and REAL become BIGINT and DOUBLE PRECISION,
    8 bytes wide like SQLite's (picodollar sums overflow 4 bytes)."""
    if not is_sqlite(db):
        sql = sql.replace(" REAL", " DOUBLE PRECISION").replace(" INTEGER", " BIGINT")
    db.execute(sql)
