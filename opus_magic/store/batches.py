"""Provider batches in the history: submitted, polled and collected from any process."""
from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from opus_magic.errors import StoreError
from opus_magic.records import RunRecord
from opus_magic.store.sqlite import Store

FIELDS = ("id", "provider_batch_id", "api", "endpoint", "profile", "grid_id", "submitted_at",
          "status", "counts", "cells", "collected_at")


@dataclass(frozen=True)
class BatchRow:
    """One submitted batch; `cells` maps each custom_id to what its run record needs."""

    id: str
    provider_batch_id: str
    api: str
    endpoint: str
    profile: str
    grid_id: str | None
    submitted_at: str
    status: str
    counts: dict[str, int] = field(default_factory=dict)
    cells: dict[str, dict[str, Any]] = field(default_factory=dict)
    collected_at: str | None = None


@contextlib.contextmanager
def _writing(store: Store, doing: str) -> Iterator[sqlite3.Connection]:
    """One transaction on the store's connection; database errors as StoreError."""
    db = store.connection()
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"Could not {doing} in {store.path} ({exc}).") from None


def _row(row: sqlite3.Row) -> BatchRow:
    data = {name: row[name] for name in FIELDS}
    data.update(counts=json.loads(data["counts"]), cells=json.loads(data["cells"]))
    return BatchRow(**data)


def add_batch(store: Store, batch: BatchRow) -> None:
    """Remember a batch the moment the provider accepted it."""
    values = {**batch.__dict__, "counts": json.dumps(batch.counts),
              "cells": json.dumps(batch.cells, ensure_ascii=False, default=str)}
    with _writing(store, "record the batch") as db:
        db.execute(f"INSERT INTO batches ({', '.join(FIELDS)}) "
                   f"VALUES ({', '.join('?' for _ in FIELDS)})", [values[f] for f in FIELDS])


def update_status(store: Store, batch_id: str, status: str, counts: dict[str, int]) -> None:
    with _writing(store, "update the batch") as db:
        db.execute("UPDATE batches SET status = ?, counts = ? WHERE id = ?",
                   (status, json.dumps(counts), batch_id))


def mark_collected(store: Store, batch_id: str, when: str) -> None:
    with _writing(store, "update the batch") as db:
        db.execute("UPDATE batches SET collected_at = ? WHERE id = ? AND collected_at IS NULL",
                   (when, batch_id))


def list_batches(store: Store, limit: int | None = None,
                 uncollected: bool = False) -> list[BatchRow]:
    """Batches, newest first; only those not collected yet when `uncollected`."""
    sql = "SELECT * FROM batches" + (" WHERE collected_at IS NULL" if uncollected else "")
    sql += " ORDER BY submitted_at DESC, rowid DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [_row(row) for row in store.iter_rows(sql)]


def find_batch(store: Store, key: str) -> BatchRow | None:
    """A batch by its id, the provider's id, or a unique prefix of either."""
    rows = list(store.iter_rows(
        "SELECT * FROM batches WHERE id = ? OR provider_batch_id = ? OR id LIKE ? || '%' "
        "OR provider_batch_id LIKE ? || '%' LIMIT 2", (key, key, key, key)))
    exact = [row for row in rows if key in (row["id"], row["provider_batch_id"])]
    return _row((exact or rows)[0]) if exact or len(rows) == 1 else None


def record_result(store: Store, batch_id: str, custom_id: str, outcome: str,
                  record: RunRecord) -> bool:
    """Save a request's run unless it was collected before; True when it was new."""
    with _writing(store, "record the batch result") as db:
        claimed = db.execute(
            "INSERT INTO batch_runs (batch_id, custom_id, run_id, outcome) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (batch_id, custom_id) DO NOTHING",
            (batch_id, custom_id, record.id, outcome)).rowcount == 1
        if claimed:
            store.save(record)
    return claimed


def collected(store: Store, batch_id: str) -> dict[str, tuple[str, str]]:
    """custom_id → (outcome, run id) of the results already recorded for a batch."""
    return {row["custom_id"]: (row["outcome"], row["run_id"]) for row in store.iter_rows(
        "SELECT custom_id, outcome, run_id FROM batch_runs WHERE batch_id = ?", (batch_id,))}
