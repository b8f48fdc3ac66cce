"""Every question the rest of the package asks the history, as named functions over any backend."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from opus_magic.records import SPEED_MIN_STREAM_S, SPEED_MIN_TOKENS, RunRecord
from opus_magic.store.attachments import with_attachments
from opus_magic.store.base import HistoryStore
from opus_magic.store.rows import SELECT, from_row

NEWEST_FIRST = "created_at DESC, rowid DESC"
OLDEST_FIRST = "created_at, rowid"


@dataclass(frozen=True)
class RunFilter:
    """Which runs: any of these model names (requested or answered), a tag, words, a start time
    (UTC ISO), who ran them, for which project and in which grid. Empty fields do not filter."""

    models: tuple[str, ...] = ()
    tag: str | None = None
    words: tuple[str, ...] = ()
    since: str | None = None
    user: str | None = None
    project: str | None = None
    grid: str | None = None  # a grid id, or the start of one


def match_query(words: Sequence[str], dialect: str) -> str:
    """Every word must appear, each also as a prefix: FTS5 syntax, or a PostgreSQL tsquery."""
    if dialect == "sqlite":
        return " ".join('"' + word.replace('"', '""') + '"*' for word in words)
    return " & ".join(f"{token}:*" for token in re.findall(r"\w+", " ".join(words)))


def conditions(filters: RunFilter, dialect: str) -> tuple[str, list[Any]]:
    """A WHERE clause (or nothing) and its arguments; values are always passed as arguments."""
    where: list[str] = []
    args: list[Any] = []
    if filters.models:
        marks = ", ".join("?" for _ in filters.models)
        where.append(f"(model IN ({marks}) OR response_model IN ({marks}))")
        args += list(filters.models) * 2
    for column, value in (("tag", filters.tag), ("user_name", filters.user),
                          ("project", filters.project)):
        if value:
            where.append(f"{column} = ?")
            args.append(value)
    if filters.words:
        where.append("rowid IN (SELECT rowid FROM runs_fts WHERE runs_fts MATCH ?)"
                     if dialect == "sqlite" else "search @@ to_tsquery('simple', ?)")
        args.append(match_query(filters.words, dialect))
    if filters.since:
        where.append("created_at >= ?")
        args.append(filters.since)
    if filters.grid:
        where.append("grid_id LIKE ? || '%'")
        args.append(filters.grid)
    return (" WHERE " + " AND ".join(where) if where else ""), args


def select_runs(store: HistoryStore, filters: RunFilter = RunFilter(), limit: int | None = None,
                oldest_first: bool = False) -> list[RunRecord]:
    """Runs matching the filters, newest first (or oldest first), at most `limit` of them."""
    def query(backend: HistoryStore) -> list[RunRecord]:
        where, args = conditions(filters, backend.dialect)
        sql = f"{SELECT}{where} ORDER BY {OLDEST_FIRST if oldest_first else NEWEST_FIRST}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return with_attachments(backend, [from_row(row) for row in backend._rows(sql, args)])

    return store._read(query)


def runs_of_comparison(store: HistoryStore, comparison_id: str) -> list[RunRecord]:
    """The runs of one comparison (a fan-out), in the order they were started."""
    return store._read(lambda backend: with_attachments(backend, [from_row(row) for row in (
        backend._rows(f"{SELECT} WHERE comparison_id = ? ORDER BY {OLDEST_FIRST}",
                      (comparison_id,)))]))


def runs_of_chain(store: HistoryStore, chain_id: str) -> list[RunRecord]:
    """The model calls of one tool loop, step by step."""
    return store._read(lambda backend: [from_row(row) for row in backend._rows(
        f"{SELECT} WHERE chain_id = ? ORDER BY step, {OLDEST_FIRST}", (chain_id,))])


def calibration_counts(store: HistoryStore, names: Sequence[str], endpoint: str,
                       window: int) -> tuple[int, int | None, int | None]:
    """Over the latest `window` runs of `names` on `endpoint` with server usage: how many, the
    server's input + output tokens, and tiktoken's count of the same (one indexed lookup)."""
    if not names:
        return 0, None, None
    marks = ", ".join("?" for _ in names)
    sql = f"""
        SELECT count(*), sum(input_tokens + output_tokens), sum(tiktoken_input + tiktoken_output)
        FROM (SELECT input_tokens, output_tokens, tiktoken_input, tiktoken_output FROM runs
              WHERE model IN ({marks}) AND endpoint = ? AND tiktoken_input IS NOT NULL
              ORDER BY created_at DESC LIMIT ?) AS recent"""
    runs, served, counted = store._read(
        lambda backend: backend._rows(sql, (*names, endpoint, window)))[0]
    return int(runs), _plain(served), _plain(counted)


# records.tokens_per_s in SQL: a run's speed counts only where it means something
RATE = (f"CASE WHEN output_tokens >= {SPEED_MIN_TOKENS} "
        f"AND duration_s - ttft_s >= {SPEED_MIN_STREAM_S} "
        f"THEN output_tokens / (duration_s - ttft_s) END")
# Grouped by the leading columns of the covering index runs_stats, so the database reads the index
# in order with no sort; the caller merges rows by the grouping it shows.
STATS = f"""
SELECT model, tag, user_name, project, count(*), sum(cost_pico),
       sum(CASE WHEN cost_pico IS NULL THEN 1 ELSE 0 END),
       sum(CASE WHEN cost_pico IS NOT NULL AND cost_exact = 0 THEN 1 ELSE 0 END),
       sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens),
       sum(cache_write_1h_tokens), sum(ttft_s), count(ttft_s), sum({RATE}), count({RATE}){{tiers}}
FROM runs{{where}} GROUP BY model, tag, user_name, project"""
STATS_KEYS = ("model", "tag", "user", "project")


@dataclass(frozen=True)
class StatsRow:
    """Sums over the runs of one (model, tag, user, project); `above` holds the cache tokens read,
    written and written for an hour by runs over each long-context threshold in turn."""

    keys: dict[str, str | None]
    runs: int
    cost_pico: int
    unknown_cost_runs: int
    estimated_runs: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int
    ttft_sum: float
    ttft_runs: int
    rate_sum: float
    rate_runs: int
    above: tuple[int, ...]


def _plain(value: Any) -> Any:
    """PostgreSQL sums integers as numeric; every such sum here is a whole number."""
    return int(value) if isinstance(value, Decimal) else value


def stats_rows(store: HistoryStore, filters: RunFilter = RunFilter(),
               thresholds: Sequence[int] = ()) -> list[StatsRow]:
    """Sums per (model, tag, user, project), money in exact integer picodollars."""
    tiers = "".join(f", sum(CASE WHEN input_tokens > {int(t)} THEN {column} ELSE 0 END)"
                    for t in thresholds
                    for column in ("cache_read_tokens", "cache_write_tokens",
                                   "cache_write_1h_tokens"))

    def query(backend: HistoryStore) -> list[tuple[Any, ...]]:
        where, args = conditions(filters, backend.dialect)
        return backend._rows(STATS.format(tiers=tiers, where=where), args)

    rows = []
    for row in store._read(query):
        row = [_plain(value) for value in row]
        sums = [value or 0 for value in row[4:17]]
        rows.append(StatsRow(dict(zip(STATS_KEYS, row[:4])), *sums,
                             above=tuple(value or 0 for value in row[17:])))
    return rows
