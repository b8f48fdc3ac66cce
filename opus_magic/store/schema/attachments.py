"""Migration m012: the attachments of each run, one row each, in the order they were sent."""
from __future__ import annotations

from typing import Any

from opus_magic.store.schema.registry import ddl, is_sqlite, migration


@migration
def m012_attachments(db: Any) -> None:
    """What each run attached: name, type, size, hash, pages or pixels, tokens, the Files API id
    and where it came from; the bytes only when kept on purpose. Looked up by run, and by hash
    to reuse an uploaded file."""
    blob = "BLOB" if is_sqlite(db) else "BYTEA"
    ddl(db, f"""
        CREATE TABLE attachments (
            run_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            turn INTEGER NOT NULL DEFAULT 0,
            name TEXT NOT NULL,
            media_type TEXT NOT NULL,
            kind TEXT NOT NULL,
            size INTEGER NOT NULL DEFAULT 0,
            sha256 TEXT,
            width INTEGER,
            height INTEGER,
            pages INTEGER,
            tokens INTEGER,
            tokens_exact INTEGER NOT NULL DEFAULT 0,
            file_id TEXT,
            source TEXT,
            notes TEXT NOT NULL DEFAULT '[]',
            data {blob},
            PRIMARY KEY (run_id, position)
        )""")
    db.execute("CREATE INDEX attachments_sha256 ON attachments(sha256)")
