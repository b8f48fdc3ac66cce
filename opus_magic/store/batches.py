"""Provider batches in the history: submitted, polled and collected from any process."""
from __future__ import annotations

import json
from typing import Any

from opus_magic.records import BatchRow, RunRecord
from opus_magic.store.base import HistoryStore

FIELDS = ("id", "provider_batch_id", "api", "endpoint", "profile", "grid_id", "submitted_at",
          "status", "counts", "cells", "collected_at")
SELECT_BATCHES = f"SELECT {', '.join(FIELDS)} FROM batches"


def _row(row: tuple[Any, ...]) -> BatchRow:
    data = dict(zip(FIELDS, row))
    data.update(counts=json.loads(data["counts"]), cells=json.loads(data["cells"]))
    return BatchRow(**data)


def add_batch(store: HistoryStore, batch: BatchRow) -> None:
    """Remember a batch the moment the provider accepted it."""
    values = {**batch.__dict__, "counts": json.dumps(batch.counts),
              "cells": json.dumps(batch.cells, ensure_ascii=False, default=str)}
    store._write(f"INSERT INTO batches ({', '.join(FIELDS)}) "
                 f"VALUES ({', '.join('?' for _ in FIELDS)})", [values[f] for f in FIELDS])


STATE_ORDER = {"canceling": 1, "ended": 2}  # every other state (in progress, validating) is 0


def update_status(store: HistoryStore, batch_id: str, status: str, counts: dict[str, int]) -> None:
    """The provider's latest word on a batch. States only move forward (in progress, canceling,
    ended) and a collected batch's final state stays as it is: a late answer, e.g. a poll read
    before a Cancel landed, undoes neither."""
    store._write("UPDATE batches SET status = ?, counts = ? WHERE id = ? AND collected_at IS NULL"
                 " AND (CASE status WHEN 'ended' THEN 2 WHEN 'canceling' THEN 1 ELSE 0 END) <= ?",
                 (status, json.dumps(counts), batch_id, STATE_ORDER.get(status, 0)))


def mark_collected(store: HistoryStore, batch_id: str, when: str) -> None:
    store._write("UPDATE batches SET collected_at = ? WHERE id = ? AND collected_at IS NULL",
                 (when, batch_id))


def mark_lost(store: HistoryStore, batch_id: str, when: str) -> None:
    """A batch whose results can never be read (the simulator that held it has ended): no
    longer polled or collected."""
    store._write("UPDATE batches SET status = 'lost', collected_at = ? WHERE id = ? "
                 "AND collected_at IS NULL", (when, batch_id))


def list_batches(store: HistoryStore, limit: int | None = None,
                 uncollected: bool = False) -> list[BatchRow]:
    """Batches, newest first; only those not collected yet when `uncollected`."""
    sql = SELECT_BATCHES + (" WHERE collected_at IS NULL" if uncollected else "")
    sql += " ORDER BY submitted_at DESC, id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [_row(row) for row in store._rows(sql)]


def find_batch(store: HistoryStore, key: str) -> BatchRow | None:
    """A batch by its id, the provider's id, or a unique prefix of either."""
    rows = store._rows(
        f"{SELECT_BATCHES} WHERE id = ? OR provider_batch_id = ? OR id LIKE ? || '%' "
        "OR provider_batch_id LIKE ? || '%' LIMIT 2", (key, key, key, key))
    exact = [row for row in rows if key in (row[0], row[1])]
    return _row((exact or rows)[0]) if exact or len(rows) == 1 else None


def record_result(store: HistoryStore, batch_id: str, custom_id: str, outcome: str,
                  record: RunRecord) -> bool:
    """Save a request's run unless it was collected before; True when it was new.

    The (batch, custom_id) key is claimed first: of two processes collecting at once, only the
    one whose run id the claim holds saves its run.
    """
    store._write("INSERT INTO batch_runs (batch_id, custom_id, run_id, outcome) VALUES (?, ?, ?, ?) "
                 "ON CONFLICT (batch_id, custom_id) DO NOTHING",
                 (batch_id, custom_id, record.id, outcome))
    owner = store._rows("SELECT run_id FROM batch_runs WHERE batch_id = ? AND custom_id = ?",
                        (batch_id, custom_id))
    if not owner or owner[0][0] != record.id:
        return False
    store.save(record)
    return True


def collected(store: HistoryStore, batch_id: str) -> dict[str, tuple[str, str]]:
    """custom_id → (outcome, run id) of the results already recorded for a batch."""
    return {custom_id: (outcome, run_id) for custom_id, outcome, run_id in store._rows(
        "SELECT custom_id, outcome, run_id FROM batch_runs WHERE batch_id = ?", (batch_id,))}
