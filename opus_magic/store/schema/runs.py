"""Migrations m001-m010: the runs table as it grew (search, costs, native usage, grids, users,
batches)."""
from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from typing import Any

from opus_magic.store.schema.registry import ddl, is_sqlite, migration


@migration
def m001_runs(db: Any) -> None:
    row_number = "" if is_sqlite(db) else "rowid BIGINT GENERATED ALWAYS AS IDENTITY,"
    ddl(db, f"""
        CREATE TABLE runs ({row_number}
            id TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            model TEXT NOT NULL,
            response_model TEXT,
            endpoint TEXT NOT NULL DEFAULT '',
            prompt TEXT NOT NULL DEFAULT '',
            messages TEXT NOT NULL DEFAULT '[]',
            params TEXT NOT NULL DEFAULT '{{}}',
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


def _sqlite_search_index(db: sqlite3.Connection) -> None:
    """FTS5 over prompt and answer, kept in step by triggers."""
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


@migration
def m002_search_and_stats_indexes(db: Any) -> None:
    """Full-text search over prompt and answer, and indexes for filters and stats."""
    if is_sqlite(db):
        _sqlite_search_index(db)
    else:  # a generated tsvector column, so every write keeps it in step
        db.execute("""
            ALTER TABLE runs ADD COLUMN search tsvector GENERATED ALWAYS AS
                (to_tsvector('simple', prompt || ' ' || text)) STORED""")
        db.execute("CREATE INDEX runs_search ON runs USING gin(search)")
    db.execute("CREATE INDEX runs_response_model ON runs(response_model, created_at)")
    # Covers every column stats aggregates, so they read this index instead of whole rows.
    db.execute("""
        CREATE INDEX runs_stats ON runs(model, tag, cost, cost_exact, input_tokens, output_tokens,
                                        cache_read_tokens, cache_write_tokens, ttft_s, duration_s)""")


@migration
def m003_cache_write_1h_tokens(db: Any) -> None:
    """The part of cache writes made with a one-hour lifetime, which is priced apart."""
    ddl(db, "ALTER TABLE runs ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0")


@migration
def m004_cost_in_picodollars(db: Any) -> None:
    """Cost as whole picodollars beside its text, so totals are exact sums done in the database."""
    ddl(db, "ALTER TABLE runs ADD COLUMN cost_pico INTEGER")
    rows = db.execute("SELECT id, cost FROM runs WHERE cost IS NOT NULL").fetchall()
    # Dollars to picodollars, rounded half-even: written out here, not imported, for good.
    db.executemany("UPDATE runs SET cost_pico = ? WHERE id = ?",
                   [(int((Decimal(cost) * 10**12).to_integral_value()), run_id)
                    for run_id, cost in rows])
    db.execute("DROP INDEX runs_stats")
    db.execute("""
        CREATE INDEX runs_stats ON runs(model, tag, cost_pico, cost_exact, input_tokens,
                                        output_tokens, cache_read_tokens, cache_write_tokens,
                                        ttft_s, duration_s)""")


QUERIED_PARAMS = {"tiktoken_input": "tiktoken_input", "tiktoken_output": "tiktoken_output",
                  "retry_count": "retries", "tool_call_count": "tool_calls",
                  "stop_reason": "stop_reason", "simulator": "simulator"}


def _queried_value(column: str, value: Any) -> Any:
    if column in ("retry_count", "tool_call_count"):
        return len(value) if isinstance(value, list) else None
    if column == "simulator":
        return int(bool(value))
    return value


@migration
def m005_queried_columns(db: Any) -> None:
    """Values other code queries, until now kept in the free-form `params` JSON, as columns."""
    for column in ("tiktoken_input INTEGER", "tiktoken_output INTEGER", "retry_count INTEGER",
                   "tool_call_count INTEGER", "stop_reason TEXT", "simulator INTEGER"):
        ddl(db, f"ALTER TABLE runs ADD COLUMN {column}")
    updates = []
    for run_id, params in db.execute("SELECT id, params FROM runs WHERE params <> '{}'").fetchall():
        data = json.loads(params)
        values = [_queried_value(column, data.get(key)) for column, key in QUERIED_PARAMS.items()]
        updates.append((*values, run_id))
    sets = ", ".join(f"{column} = ?" for column in QUERIED_PARAMS)
    db.executemany(f"UPDATE runs SET {sets} WHERE id = ?", updates)
    db.execute("CREATE INDEX runs_calibration ON runs(model, endpoint, created_at) "
               "WHERE tiktoken_input IS NOT NULL")


@migration
def m006_native_usage(db: Any) -> None:
    """Anthropic's native usage: billed thinking tokens and five-minute cache writes, kept apart.

    Nullable (read back as 0), so rows written by code that does not know them still insert.
    """
    ddl(db, "ALTER TABLE runs ADD COLUMN thinking_tokens INTEGER DEFAULT 0")
    ddl(db, "ALTER TABLE runs ADD COLUMN cache_write_5m_tokens INTEGER DEFAULT 0")


@migration
def m007_grids(db: Any) -> None:
    """Grid cells (grid id, variant, row, check results, reuse key), rate limits, provider batches."""
    for column in ("grid_id TEXT", "variant TEXT", "row_index INTEGER", "checks TEXT",
                   "cell_key TEXT", "rate_limits TEXT", "batch_id TEXT"):
        ddl(db, f"ALTER TABLE runs ADD COLUMN {column}")
    db.execute("CREATE INDEX runs_grid ON runs(grid_id, created_at)")
    db.execute("CREATE INDEX runs_cell_key ON runs(cell_key, status)")


@migration
def m008_user_project(db: Any) -> None:
    """Who ran each run and for which project, to filter and group a shared history by them."""
    ddl(db, "ALTER TABLE runs ADD COLUMN user_name TEXT")
    ddl(db, "ALTER TABLE runs ADD COLUMN project TEXT")
    db.execute("CREATE INDEX runs_user ON runs(user_name, created_at)")
    db.execute("CREATE INDEX runs_project ON runs(project, created_at)")
    db.execute("DROP INDEX runs_stats")
    db.execute("""
        CREATE INDEX runs_stats ON runs(model, tag, user_name, project, cost_pico, cost_exact,
                                        input_tokens, output_tokens, cache_read_tokens,
                                        cache_write_tokens, ttft_s, duration_s)""")


@migration
def m009_batches(db: Any) -> None:
    """Provider batches (so any process can poll and collect them) and which results became runs."""
    db.execute("""
        CREATE TABLE batches (
            id TEXT PRIMARY KEY,
            provider_batch_id TEXT NOT NULL,
            api TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            profile TEXT NOT NULL DEFAULT '',
            grid_id TEXT,
            submitted_at TEXT NOT NULL,
            status TEXT NOT NULL,
            counts TEXT NOT NULL DEFAULT '{}',
            cells TEXT NOT NULL DEFAULT '{}',
            collected_at TEXT
        )""")
    db.execute("CREATE INDEX batches_submitted_at ON batches(submitted_at)")
    db.execute("""
        CREATE TABLE batch_runs (
            batch_id TEXT NOT NULL,
            custom_id TEXT NOT NULL,
            run_id TEXT NOT NULL,
            outcome TEXT NOT NULL,
            PRIMARY KEY (batch_id, custom_id)
        )""")


@migration
def m010_stats_cover_1h_writes(db: Any) -> None:
    """The stats index covers one-hour cache writes too, so savings price them at their own rate
    and stats still read the index alone."""
    db.execute("DROP INDEX runs_stats")
    db.execute("""
        CREATE INDEX runs_stats ON runs(model, tag, user_name, project, cost_pico, cost_exact,
                                        input_tokens, output_tokens, cache_read_tokens,
                                        cache_write_tokens, cache_write_1h_tokens, ttft_s,
                                        duration_s)""")
