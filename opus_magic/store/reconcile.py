"""What reconciling with a provider's bill asks of the history: the runs' sums per UTC day, and
the reports already fetched (kept per day in `report_days`)."""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from opus_magic.store.base import HistoryStore

# Grouped by everything a reconciliation tells apart, so the caller folds rows as it shows them.
RECORDED = """
SELECT substr(created_at, 1, 10), model, response_model, user_name, project,
       CASE WHEN batch_id IS NULL THEN 0 ELSE 1 END, cost_source, cost_exact,
       CASE WHEN api = 'anthropic' THEN 1 ELSE 0 END, count(*), sum(input_tokens),
       sum(cache_read_tokens), sum(cache_write_tokens), sum(cache_write_1h_tokens),
       sum(output_tokens), sum(cost_pico), sum(CASE WHEN cost_pico IS NULL THEN 1 ELSE 0 END)
FROM runs
WHERE created_at >= ? AND created_at < ? AND (endpoint = ? OR substr(endpoint, 1, ?) = ?)
GROUP BY substr(created_at, 1, 10), model, response_model, user_name, project,
         CASE WHEN batch_id IS NULL THEN 0 ELSE 1 END, cost_source, cost_exact,
         CASE WHEN api = 'anthropic' THEN 1 ELSE 0 END"""


@dataclass(frozen=True)
class RecordedRow:
    """Sums over the runs of one UTC day that share every field before `runs`."""

    day: str
    model: str
    response_model: str | None
    user: str | None
    project: str | None
    batch: bool
    cost_source: str
    exact: bool
    native: bool  # Claude's Messages API, where input is exact from the first event on
    runs: int
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int
    output_tokens: int
    cost_pico: int
    unknown_cost_runs: int


def recorded_rows(store: HistoryStore, first_day: str, end_day: str,
                  origin: str) -> list[RecordedRow]:
    """Sums of the runs sent to `origin` (scheme://host[:port]) from the start of `first_day` to
    the start of `end_day`, both UTC."""
    args = (first_day, end_day, origin, len(origin) + 1, origin + "/")
    rows = store._read(lambda backend: backend._rows(RECORDED, args))
    found = []
    for row in rows:
        values = [int(v) if isinstance(v, Decimal) else v for v in row]  # PostgreSQL's sums
        found.append(RecordedRow(*values[:5], bool(values[5]), values[6], bool(values[7]),
                                 bool(values[8]), *(value or 0 for value in values[9:])))
    return found


@dataclass(frozen=True)
class CachedDay:
    """A provider's reports for one day as the history keeps them."""

    day: str
    report: dict[str, Any]
    fetched_at: str
    complete: bool


def cached_days(store: HistoryStore, source: str, days: Sequence[str]) -> dict[str, CachedDay]:
    """The days of `days` whose reports from `source` the history holds."""
    if not days:
        return {}
    marks = ", ".join("?" for _ in days)
    sql = (f"SELECT day, report, fetched_at, complete FROM report_days "
           f"WHERE source = ? AND day IN ({marks})")
    rows = store._read(lambda backend: backend._rows(sql, (source, *days)))
    return {day: CachedDay(day, json.loads(report), fetched_at, bool(complete))
            for day, report, fetched_at, complete in rows}


def keep_days(store: HistoryStore, source: str, days: Sequence[CachedDay]) -> None:
    """Keep fetched reports, replacing what was kept for the same days (on PostgreSQL, in the
    local spool while the server is away)."""
    sql = ("INSERT INTO report_days (source, day, report, fetched_at, complete) "
           "VALUES (?, ?, ?, ?, ?) ON CONFLICT (source, day) DO UPDATE SET "
           "report = excluded.report, fetched_at = excluded.fetched_at, "
           "complete = excluded.complete")

    def write(backend: HistoryStore) -> None:
        for day in days:
            backend._write(sql, (source, day.day, json.dumps(day.report), day.fetched_at,
                                 int(day.complete)))

    store._read(write)
