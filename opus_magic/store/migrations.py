"""Append-only, named schema migrations, recorded in the database itself, applied under a lock.

The migrations are in `store/schema/`, applied by name (m001, m002, ...; a new one goes in a
module imported below); see `store/schema/registry.py` for the rules each one follows.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from opus_magic.store.schema import (  # noqa: F401  (they register themselves)
    attachments,
    cascade,
    claims,
    columns,
    facts,
    registry,
    reports,
    runs,
    samples,
    tools,
)
from opus_magic.store.schema.registry import is_sqlite

LOCK_KEY = 0x6F707573  # "opus": the advisory lock PostgreSQL kernels take while migrating
MIGRATIONS = sorted(registry.MIGRATIONS)  # by name: m001, m002, ... as they were written
__all__ = ["MIGRATIONS", "migrate"]


def migrate(db: Any) -> list[str]:
    """Apply pending migrations in order, under one lock; return the names applied.

    `db` must be in autocommit mode (isolation_level=None) so the lock spans every step; on
    PostgreSQL the lock is an advisory lock held until the transaction ends.
    """
    db.execute("BEGIN IMMEDIATE" if is_sqlite(db) else "BEGIN")
    try:
        if not is_sqlite(db):
            db.execute(f"SELECT pg_advisory_xact_lock({LOCK_KEY})")
        db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
        done = {row[0] for row in db.execute("SELECT name FROM _migrations").fetchall()}
        applied = []
        for name, fn in MIGRATIONS:
            if name not in done:
                fn(db)
                now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
                db.execute("INSERT INTO _migrations VALUES (?, ?)", (name, now))
                applied.append(name)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return applied
