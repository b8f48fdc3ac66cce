"""Append-only, named schema migrations, recorded in the database itself."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_runs(db: sqlite3.Connection) -> None:
    db.execute("""
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            model TEXT NOT NULL,
            response_model TEXT,
            endpoint TEXT NOT NULL DEFAULT '',
            prompt TEXT NOT NULL DEFAULT '',
            messages TEXT NOT NULL DEFAULT '[]',
            params TEXT NOT NULL DEFAULT '{}',
            text TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL,
            finish_reason TEXT,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cache_read_tokens INTEGER NOT NULL DEFAULT 0,
            cache_write_tokens INTEGER NOT NULL DEFAULT 0,
            reasoning_tokens INTEGER NOT NULL DEFAULT 0,
            cost TEXT,
            cost_exact INTEGER NOT NULL DEFAULT 0,
            cost_source TEXT NOT NULL DEFAULT 'unknown',
            ttft_s REAL,
            duration_s REAL,
            error TEXT,
            tag TEXT,
            max_tokens INTEGER,
            concise TEXT NOT NULL DEFAULT 'off',
            comparison_id TEXT,
            parent_id TEXT,
            notes TEXT NOT NULL DEFAULT '[]'
        )""")
    db.execute("CREATE INDEX runs_created_at ON runs(created_at)")
    db.execute("CREATE INDEX runs_model ON runs(model, created_at)")
    db.execute("CREATE INDEX runs_tag ON runs(tag, created_at)")
    db.execute("CREATE INDEX runs_comparison ON runs(comparison_id)")


@migration
def m002_search_and_stats_indexes(db: sqlite3.Connection) -> None:
    """Full-text search over prompt and answer (kept in step by triggers), and indexes for filters and stats."""
    db.execute("CREATE VIRTUAL TABLE runs_fts USING fts5(prompt, text, content='runs')")
    db.execute("""
        CREATE TRIGGER runs_fts_insert AFTER INSERT ON runs BEGIN
            INSERT INTO runs_fts(rowid, prompt, text) VALUES (new.rowid, new.prompt, new.text);
        END""")
    db.execute("""
        CREATE TRIGGER runs_fts_delete AFTER DELETE ON runs BEGIN
            INSERT INTO runs_fts(runs_fts, rowid, prompt, text)
            VALUES ('delete', old.rowid, old.prompt, old.text);
        END""")
    db.execute("""
        CREATE TRIGGER runs_fts_update AFTER UPDATE OF prompt, text ON runs BEGIN
            INSERT INTO runs_fts(runs_fts, rowid, prompt, text)
            VALUES ('delete', old.rowid, old.prompt, old.text);
            INSERT INTO runs_fts(rowid, prompt, text) VALUES (new.rowid, new.prompt, new.text);
        END""")
    db.execute("INSERT INTO runs_fts(runs_fts) VALUES ('rebuild')")
    db.execute("CREATE INDEX runs_response_model ON runs(response_model, created_at)")
    # Covers every column stats aggregates, so they read this index instead of whole rows.
    db.execute("""
        CREATE INDEX runs_stats ON runs(model, tag, cost, cost_exact, input_tokens, output_tokens,
                                        cache_read_tokens, cache_write_tokens, ttft_s, duration_s)""")


@migration
def m003_cache_write_1h_tokens(db: sqlite3.Connection) -> None:
    """The part of cache writes made with a one-hour lifetime, which is priced apart."""
    db.execute("ALTER TABLE runs ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0")


@migration
def m004_cost_in_picodollars(db: sqlite3.Connection) -> None:
    """Cost as whole picodollars beside its text, so totals are exact sums done inside SQLite."""
    from decimal import Decimal

    from opus_magic.cost.pricing import to_pico

    db.execute("ALTER TABLE runs ADD COLUMN cost_pico INTEGER")
    rows = db.execute("SELECT rowid, cost FROM runs WHERE cost IS NOT NULL").fetchall()
    db.executemany("UPDATE runs SET cost_pico = ? WHERE rowid = ?",
                   [(to_pico(Decimal(cost)), rowid) for rowid, cost in rows])
    db.execute("DROP INDEX runs_stats")
    db.execute("""
        CREATE INDEX runs_stats ON runs(model, tag, cost_pico, cost_exact, input_tokens,
                                        output_tokens, cache_read_tokens, cache_write_tokens,
                                        ttft_s, duration_s)""")


@migration
def m007_grids(db: sqlite3.Connection) -> None:
    """Grid cells (grid id, variant, row, check results, reuse key), rate limits, provider batches."""
    for column in ("grid_id TEXT", "variant TEXT", "row_index INTEGER", "checks TEXT",
                   "cell_key TEXT", "rate_limits TEXT", "batch_id TEXT"):
        db.execute(f"ALTER TABLE runs ADD COLUMN {column}")
    db.execute("CREATE INDEX runs_grid ON runs(grid_id, created_at)")
    db.execute("CREATE INDEX runs_cell_key ON runs(cell_key, status)")


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply pending migrations in order, under one write lock; return the names applied.

    `db` must be in autocommit mode (isolation_level=None) so the lock spans every step.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
        done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
        applied = []
        for name, fn in MIGRATIONS:
            if name not in done:
                fn(db)
                db.execute("INSERT INTO _migrations VALUES (?, datetime('now'))", (name,))
                applied.append(name)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return applied
