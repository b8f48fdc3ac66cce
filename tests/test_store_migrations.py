"""Histories written by earlier versions: migrated in place, their values moved to columns."""
from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

import opus_magic
from opus_magic.cost import calibration
from opus_magic.records import RunRecord, Usage
from opus_magic.store.queries import calibration_counts
from opus_magic.store.sqlite import Store

# The schema as m001 wrote it, before any later migration: copied here so that this test keeps
# describing the old file even when the migrations are edited.
M001 = """
CREATE TABLE runs (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, model TEXT NOT NULL,
    response_model TEXT, endpoint TEXT NOT NULL DEFAULT '', prompt TEXT NOT NULL DEFAULT '',
    messages TEXT NOT NULL DEFAULT '[]', params TEXT NOT NULL DEFAULT '{}',
    text TEXT NOT NULL DEFAULT '', status TEXT NOT NULL, finish_reason TEXT,
    input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0, cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens INTEGER NOT NULL DEFAULT 0, cost TEXT, cost_exact INTEGER NOT NULL DEFAULT 0,
    cost_source TEXT NOT NULL DEFAULT 'unknown', ttft_s REAL, duration_s REAL, error TEXT,
    tag TEXT, max_tokens INTEGER, concise TEXT NOT NULL DEFAULT 'off', comparison_id TEXT,
    parent_id TEXT, notes TEXT NOT NULL DEFAULT '[]');
CREATE INDEX runs_created_at ON runs(created_at);
CREATE INDEX runs_model ON runs(model, created_at);
CREATE INDEX runs_tag ON runs(tag, created_at);
CREATE INDEX runs_comparison ON runs(comparison_id);
"""
M002_TO_M004 = """
CREATE VIRTUAL TABLE runs_fts USING fts5(prompt, text, content='runs');
CREATE TRIGGER runs_fts_insert AFTER INSERT ON runs BEGIN
    INSERT INTO runs_fts(rowid, prompt, text) VALUES (new.rowid, new.prompt, new.text); END;
CREATE TRIGGER runs_fts_delete AFTER DELETE ON runs BEGIN
    INSERT INTO runs_fts(runs_fts, rowid, prompt, text)
    VALUES ('delete', old.rowid, old.prompt, old.text); END;
CREATE TRIGGER runs_fts_update AFTER UPDATE OF prompt, text ON runs BEGIN
    INSERT INTO runs_fts(runs_fts, rowid, prompt, text)
    VALUES ('delete', old.rowid, old.prompt, old.text);
    INSERT INTO runs_fts(rowid, prompt, text) VALUES (new.rowid, new.prompt, new.text); END;
CREATE INDEX runs_response_model ON runs(response_model, created_at);
ALTER TABLE runs ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN cost_pico INTEGER;
CREATE INDEX runs_stats ON runs(model, tag, cost_pico, cost_exact, input_tokens, output_tokens,
                                cache_read_tokens, cache_write_tokens, ttft_s, duration_s);
"""
ENDPOINT = "http://127.0.0.1:9/v1"


def old_history(path: Path, migrations: list[str], schema: str,
                runs: list[tuple[str, str, str, dict]]) -> None:
    """A history file as an earlier version left it: (id, prompt, text, params) per run."""
    db = sqlite3.connect(path)
    db.executescript(schema)
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    db.executemany("INSERT INTO _migrations VALUES (?, '2026-01-01')", [(m,) for m in migrations])
    for index, (run_id, prompt, text, params) in enumerate(runs):
        db.execute("INSERT INTO runs (id, created_at, model, endpoint, prompt, text, params, status,"
                   " input_tokens, output_tokens, cost) VALUES (?, ?, 'gpt-4o', ?, ?, ?, ?, 'ok',"
                   " 120, 30, '0.0031')",
                   (run_id, f"2026-01-0{index + 1}T10:00:00.000+00:00", ENDPOINT, prompt, text,
                    json.dumps(params)))
    db.commit()
    db.close()


OLD_PARAMS = {"temperature": 0.2, "simulator": True, "tiktoken_input": 100,
              "tiktoken_output": 25, "stop_reason": "budget",
              "retries": ["HTTP 429: waited 1.0 s and retried.", "HTTP 503: waited 2.0 s."],
              "tool_calls": [{"name": "get_weather", "arguments": "{}"}]}


def test_params_of_a_m004_history_move_into_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    old_history(path, ["m001_runs", "m002_search_and_stats_indexes",
                       "m003_cache_write_1h_tokens", "m004_cost_in_picodollars"],
                M001 + M002_TO_M004,
                [("r1", "first", "one", OLD_PARAMS), ("r2", "second", "two", {"temperature": 1})])
    store = Store(path)
    moved, plain = store.get("r1"), store.get("r2")
    assert (moved.tiktoken_input, moved.tiktoken_output) == (100, 25)
    assert (moved.retry_count, moved.tool_call_count) == (2, 1)
    assert moved.stop_reason == "budget" and moved.simulator is True
    assert moved.params == {"temperature": 0.2}             # only what was sent stays there
    assert moved.retries == OLD_PARAMS["retries"] and moved.tool_calls == OLD_PARAMS["tool_calls"]
    assert (plain.tiktoken_input, plain.retry_count, plain.simulator) == (None, 0, False)
    assert calibration_counts(store, ["gpt-4o"], ENDPOINT, 20) == (1, 150, 125)


M010_PARAMS = {"model": "claude-opus-4-6", "max_tokens": 300, "profile": "sim",
               "simulator": True, "input_tokens_estimate": 4210, "price_source": "catalog.json",
               "calibration": "calibrated from 3 runs: ×1.100", "tool_tokens": 180,
               "tools": ["get_weather"], "api": "anthropic", "api_version": "2026-10-21",
               "input_count": "exact", "cache_breakpoints": ["system"], "cache_ttl": "1h",
               "thinking_text": "First, the manual.", "thinking_shown_tokens": 5,
               "refused": True, "usage_implausible": True, "reused_from": "abc123",
               "custom_id": "g7", "batch": "msgbatch_1", "stop_reason": "budget",
               "legacy": "legacy: Opus 5.5 is current, 20 % cheaper", "speed": "fast",
               "inference_geo": "us"}


def test_facts_kept_in_params_until_m010_move_into_typed_fields(tmp_path: Path) -> None:
    path = tmp_path / "m010.sqlite"
    store = Store(path)  # today's schema, then a row written the way m010's code wrote it
    store.connection().execute("DELETE FROM _migrations WHERE name = 'm011_typed_facts'")
    for column in ("profile", "tools", "tool_tokens", "input_estimate", "input_exact",
                   "price_source", "calibration", "api", "api_version", "cache_breakpoints",
                   "cache_ttl", "thinking_text", "thinking_shown_tokens", "refused",
                   "usage_implausible", "reused_from", "custom_id", "retries", "tool_calls",
                   "legacy", "speed", "inference_geo"):
        store.connection().execute(f"ALTER TABLE runs DROP COLUMN {column}")
    store.connection().execute(
        "INSERT INTO runs (id, created_at, model, params, status) VALUES "
        "('old', '2026-11-01T10:00:00+00:00', 'opus', ?, 'ok')", (json.dumps(M010_PARAMS),))
    store.close()
    record = Store(path).get("old")
    assert record.params == {"model": "claude-opus-4-6", "max_tokens": 300}
    assert (record.profile, record.input_estimate, record.input_exact) == ("sim", 4210, True)
    assert (record.price_source, record.tool_tokens, record.tools) == (
        "catalog.json", 180, ["get_weather"])
    assert (record.api, record.api_version, record.cache_breakpoints, record.cache_ttl) == (
        "anthropic", "2026-10-21", ["system"], "1h")
    assert (record.thinking_text, record.thinking_shown_tokens) == ("First, the manual.", 5)
    assert record.refused and record.usage_implausible
    assert (record.reused_from, record.custom_id) == ("abc123", "g7")
    assert record.calibration == "calibrated from 3 runs: ×1.100"
    assert (record.speed, record.inference_geo) == ("fast", "us") and record.legacy


def test_a_history_from_before_the_search_index_is_searchable(isolated_dirs: Path) -> None:
    from opus_magic.core.history import totals

    path = isolated_dirs / "history.sqlite"                  # the file the session opens
    old_history(path, ["m001_runs"], M001,
                [("s1", "Explain write-ahead logging", "Readers continue.", {}),
                 ("s2", "Name three primes", "Two, three, five.", {})])
    assert [r.id for r in opus_magic.history(search="logg")] == ["s1"]
    assert [r.id for r in opus_magic.history(search="five primes")] == ["s2"]
    assert totals.compute(Store(path))[-1].cost == Decimal("0.0062")   # cost_pico back-filled


def saved_with_usage(store: Store, count: int, model: str = "gpt-4o") -> None:
    for index in range(count):
        store.save(RunRecord(id=f"c{index}", created_at=f"2026-02-0{index + 1}T00:00:00+00:00",
                             model=model, prompt="p", endpoint=ENDPOINT, usage=Usage(110, 22),
                             tiktoken_input=100, tiktoken_output=20))


@pytest.mark.parametrize("runs, expected", [(2, None), (3, calibration.Calibration(1.1, 3))])
def test_calibration_reads_the_columns(tmp_path: Path, runs: int, expected: object) -> None:
    store = Store(tmp_path / "c.sqlite")
    saved_with_usage(store, runs)
    store.save(RunRecord(id="no-usage", created_at="2026-03-01T00:00:00+00:00", model="gpt-4o",
                         prompt="p", endpoint=ENDPOINT, params={"tiktoken_input": 999}))
    learned = calibration.learn(*calibration_counts(store, ["gpt-4o"], ENDPOINT,
                                                    calibration.WINDOW))
    assert learned == (None if expected is None else
                       calibration.Calibration(pytest.approx(1.1), 3))
    row = store.connection().execute("SELECT params FROM runs WHERE id = 'c0'").fetchone()[0]
    assert "tiktoken" not in row                             # counted from the columns alone


def test_stats_read_the_covering_index_not_the_rows(tmp_path: Path) -> None:
    from opus_magic.core.history import totals

    store = Store(tmp_path / "plan.sqlite")
    saved_with_usage(store, 3)
    statements: list[str] = []
    store.connection().set_trace_callback(statements.append)
    try:
        totals.compute(store, "user")
    finally:
        store.connection().set_trace_callback(None)
    query = next(s for s in statements if "FROM runs" in s)
    steps = [row[3] for row in store.connection().execute("EXPLAIN QUERY PLAN " + query)]
    assert steps == ["SCAN runs USING COVERING INDEX runs_stats"], steps
