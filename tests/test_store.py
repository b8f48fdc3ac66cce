"""The history store: exact schema from migrations, persistence, refusal of foreign files."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from opus_magic.errors import StoreError
from opus_magic.records import RunRecord, Usage
from opus_magic.store.migrations import MIGRATIONS, migrate
from opus_magic.store.sqlite import COLUMNS, Store


def test_migrations_on_an_in_memory_database_give_the_exact_columns() -> None:
    db = sqlite3.connect(":memory:", isolation_level=None)
    assert migrate(db) == [name for name, _ in MIGRATIONS]
    columns = [row[1] for row in db.execute("PRAGMA table_info(runs)")]
    assert tuple(columns) == COLUMNS
    assert migrate(db) == []
    indexes = {row[1] for row in db.execute("PRAGMA index_list(runs)")}
    assert {"runs_created_at", "runs_model", "runs_tag", "runs_comparison"} <= indexes


def record(run_id: str = "a1b2c3d4e5f6") -> RunRecord:
    return RunRecord(id=run_id, created_at="2026-11-23T10:00:00.000+00:00", model="opus",
                     prompt="Say hi", messages=[{"role": "user", "content": "Say hi"}],
                     text="Hi ✓", usage=Usage(10, 2, 3, 4, 1, cache_write_1h_tokens=2),
                     cost=Decimal("0.0000123"),
                     cost_exact=True, cost_source="catalog", notes=["a note"])


def test_history_survives_a_new_process(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    Store(path).save(record())
    code = ("import sys; from opus_magic.store.sqlite import Store; r = Store(sys.argv[1]).get('a1b2'); "
            "print(r.text, r.cost, r.usage.cache_write_tokens, r.usage.cache_write_1h_tokens, r.notes[0])")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "Hi ✓ 0.0000123 4 2 a note"
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_foreign_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_text("my precious notes, not a database")
    with pytest.raises(StoreError, match="notes.sqlite.*left untouched"):
        Store(path)
    assert path.read_text() == "my precious notes, not a database"


def test_cost_in_picodollars_is_backfilled_for_runs_recorded_before_it_existed() -> None:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    for name, fn in MIGRATIONS[:3]:
        fn(db)
        db.execute("INSERT INTO _migrations VALUES (?, datetime('now'))", (name,))
    db.execute("INSERT INTO runs (id, created_at, model, status, cost) VALUES "
               "('a', '2026-01-01', 'opus', 'ok', '0.0031'), ('b', '2026-01-01', 'x', 'ok', NULL)")
    assert migrate(db)[0] == "m004_cost_in_picodollars"  # later migrations follow it
    rows = dict(db.execute("SELECT id, cost_pico FROM runs").fetchall())
    assert rows == {"a": 3_100_000_000, "b": None}
