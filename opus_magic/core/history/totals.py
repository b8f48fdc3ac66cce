"""`%opus stats` figures: totals per model, tag, user or project, summed by the store in SQL,
with cache savings priced per model and price tier."""
from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from opus_magic.core.history.select import run_filter
from opus_magic.cost.catalog import Catalog, default_catalog
from opus_magic.cost.pricing import cache_savings, from_pico
from opus_magic.errors import UsageError
from opus_magic.records import Usage
from opus_magic.store.base import HistoryStore
from opus_magic.store.queries import stats_rows

GROUPINGS = ("model", "tag", "user", "project")
UNGROUPED = {"model": "(no model)", "tag": "(no tag)", "user": "(no user)",
             "project": "(no project)"}
TOTAL = "all runs"


@dataclass(frozen=True)
class GroupStats:
    """Sums for one group of runs; the means and rates are derived from them."""

    key: str
    runs: int = 0
    cost: Decimal = Decimal(0)
    unknown_cost_runs: int = 0
    estimated_runs: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_saved: Decimal = Decimal(0)
    ttft_sum: float = 0.0
    ttft_runs: int = 0
    rate_sum: float = 0.0
    rate_runs: int = 0

    def __add__(self, other: GroupStats) -> GroupStats:
        return GroupStats(self.key, *(getattr(self, f.name) + getattr(other, f.name)
                                      for f in fields(self)[1:]))

    @property
    def mean_cost(self) -> Decimal | None:
        priced = self.runs - self.unknown_cost_runs
        return self.cost / priced if priced else None

    @property
    def cache_hit_rate(self) -> float | None:
        """Share of input tokens read from the cache."""
        return self.cache_read_tokens / self.input_tokens if self.input_tokens else None

    @property
    def mean_ttft_s(self) -> float | None:
        return self.ttft_sum / self.ttft_runs if self.ttft_runs else None

    @property
    def tokens_per_s(self) -> float | None:
        """Mean over runs of output tokens per second after the first token."""
        return self.rate_sum / self.rate_runs if self.rate_runs else None


def thresholds(catalog: Catalog) -> list[int]:
    """The long-context thresholds in the catalog, lowest first."""
    return sorted({info.long_context_threshold for info in catalog.models.values()
                   if info.long_context_threshold is not None})


def cache_saved(model: str, spent: tuple[int, int, int], above: list[int], limits: list[int],
                catalog: Catalog) -> Decimal:
    """Savings priced per tier: `spent` is (read, written, written for an hour) over all runs,
    `above` the same three sums over each threshold in turn."""
    info = catalog.get(model)
    bounds = [(0, *spent)] + [(t + 1, *above[3 * i:3 * i + 3]) for i, t in enumerate(limits)]
    total = Decimal(0)
    for i, (tier_input, read, write, write_1h) in enumerate(bounds):
        upper = bounds[i + 1][1:] if i + 1 < len(bounds) else (0, 0, 0)
        usage = Usage(tier_input, 0, read - upper[0], write - upper[1],
                      cache_write_1h_tokens=write_1h - upper[2])
        total += cache_savings(usage, info) or 0
    return total


def compute(store: HistoryStore, by: str = "model", catalog: Catalog | None = None,
            **filters: Any) -> list[GroupStats]:
    """One GroupStats per model id (or tag, user, project), biggest spend first, then the total.

    Cache savings are linear in the tokens read and written, so they are priced per model and
    price tier from the sums; costs are summed exactly in integer picodollars by the store.
    """
    if by not in GROUPINGS:
        raise UsageError(f"--by {by}: group by one of {', '.join(GROUPINGS)}.")
    catalog = catalog or default_catalog()
    limits = thresholds(catalog)
    merged: dict[str, GroupStats] = {}
    for row in stats_rows(store, run_filter(catalog=catalog, **filters), limits):
        model = row.keys["model"] or ""
        key = (catalog.resolve(model) if by == "model" else row.keys[by]) or UNGROUPED[by]
        saved = cache_saved(model, (row.cache_read_tokens, row.cache_write_tokens,
                                    row.cache_write_1h_tokens), list(row.above), limits, catalog)
        group = GroupStats(key, row.runs, from_pico(row.cost_pico), row.unknown_cost_runs,
                           row.estimated_runs, row.input_tokens, row.output_tokens,
                           row.cache_read_tokens, saved, row.ttft_sum, row.ttft_runs,
                           row.rate_sum, row.rate_runs)
        merged[key] = merged[key] + group if key in merged else group
    groups = sorted(merged.values(), key=lambda g: (-g.cost, -g.runs, g.key))
    return [*groups, sum(groups, GroupStats(TOTAL))]
