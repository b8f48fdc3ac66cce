"""History at scale on PostgreSQL beside SQLite: insert, `%opus history -n 50`, `%opus stats`.

Both stores get the same runs (the rows of `history_load`), and the same work is timed in this
process for each: `Store.save` of new runs one transaction each, and the subcommands' query plus
rendering. PostgreSQL runs in a throwaway cluster on 127.0.0.1 (tests/pg_support.py).
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .harness import median, spread
from .history_load import BATCH, numbered_rows, synthetic_runs

TESTS = Path(__file__).resolve().parent.parent / "tests"


def build_postgres(url: str, count: int) -> float:
    """Seconds to write `count` runs in batches, one transaction each (as build() does for SQLite)."""
    import psycopg

    from opus_magic.store.postgres import PgStore, placeholders
    from opus_magic.store.rows import UPSERT

    PgStore(url).get("migrate")  # creates the tables
    started = time.perf_counter()
    with psycopg.connect(url) as db:
        batch: list[tuple[Any, ...]] = []
        for _, row in numbered_rows(count):
            batch.append(row)
            if len(batch) == BATCH:
                with db.transaction(), db.cursor() as cursor:
                    cursor.executemany(placeholders(UPSERT, row), batch)
                batch.clear()
        if batch:
            with db.transaction(), db.cursor() as cursor:
                cursor.executemany(placeholders(UPSERT, batch[0]), batch)
        db.execute("ANALYZE runs")
    return time.perf_counter() - started


def timed(work: Callable[[], object], rounds: int) -> dict[str, float]:
    first_start = time.perf_counter()
    work()
    first = time.perf_counter() - first_start
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return {"first_s": first, "median_s": median(times), "spread": spread(times)}


def measure_store(store: Any, inserts: int, rounds: int) -> dict[str, Any]:
    """Inserts, then `%opus history -n 50` and `%opus stats` (query and both renderings)."""
    from opus_magic.core.history import totals
    from opus_magic.core.history.select import select
    from opus_magic.view.commands import stats
    from opus_magic.view.commands.history import history_view

    saves = []
    for record in synthetic_runs(inserts, seed=11):
        start = time.perf_counter()
        store.save(record.replace(id=f"new{record.id}"))
        saves.append(time.perf_counter() - start)
    saves.sort()
    return {"insert": {"median_s": median(saves), "p90_s": saves[int(len(saves) * 0.9)],
                       "count": inserts},
            "history": timed(lambda: history_view(select(store, limit=50)), rounds),
            "stats": timed(lambda: stats.stats_view(totals.compute(store)), rounds)}


def measure_backends(work: Path, count: int, inserts: int, rounds: int) -> dict[str, Any]:
    """The same history on both backends; PostgreSQL is skipped, saying why, when not installed."""
    from opus_magic.store.postgres import PgStore
    from opus_magic.store.sqlite import Store

    from .history_load import build

    path = work / "history-backends.sqlite"
    result: dict[str, Any] = {"runs": count, "sqlite": {"build_s": build(path, count)["build_s"]}}
    result["sqlite"].update(measure_store(Store(path), inserts, rounds))
    sys.path.insert(0, str(TESTS))
    from pg_support import PgServer, binaries

    bin_dir = binaries()
    if bin_dir is None:
        result["postgresql"] = {"failed": "no PostgreSQL binaries (apt-get install postgresql)"}
        return result
    root = Path(tempfile.mkdtemp(prefix="opus-bench-pg-"))
    if os.geteuid() == 0:  # the server refuses root: its files belong to the postgres user
        shutil.chown(root, "postgres", "postgres")
    server = PgServer(bin_dir, root)
    server.init()
    server.start()
    try:
        url = server.url()
        result["postgresql"] = {"build_s": build_postgres(url, count)}
        result["postgresql"].update(measure_store(PgStore(url, spool=work / "spool.sqlite"),
                                                  inserts, rounds))
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    return result


def section(results: dict[str, Any]) -> list[str]:
    """RESULTS.md rows: each operation on SQLite and on PostgreSQL."""
    h = results.get("history_pg") or {}
    if not h or "failed" in h:
        return [f"Not measured in this run{': ' + h['failed'] if h.get('failed') else ''}."]
    backends = [name for name in ("sqlite", "postgresql") if "failed" not in h.get(name, {})]
    rows = [["build (bulk, 10,000 runs a transaction), s",
             *(f"{h[b]['build_s']:.1f}" for b in backends)],
            ["insert (`save`, one transaction each), median ms",
             *(f"{h[b]['insert']['median_s'] * 1000:.2f}" for b in backends)]]
    for name, label in (("history", "`%opus history -n 50`"), ("stats", "`%opus stats`")):
        rows.append([f"{label}, median ms (first call)",
                     *(f"{h[b][name]['median_s'] * 1000:.1f} ({h[b][name]['first_s'] * 1000:.0f})"
                       for b in backends)])
    header = "| operation at {:,} runs | {} |".format(h["runs"], " | ".join(backends))
    lines = [header, "| --- |" + " ---: |" * len(backends),
             *("| " + " | ".join(row) + " |" for row in rows)]
    if "failed" in h.get("postgresql", {}):
        lines += ["", f"PostgreSQL not measured: {h['postgresql']['failed']}."]
    return lines
