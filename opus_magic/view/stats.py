"""`%opus stats`: totals per model or tag, aggregated in SQL, with a small hand-built SVG chart."""
from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from opus_magic.cost.catalog import Catalog, default_catalog
from opus_magic.cost.pricing import cache_savings, from_pico
from opus_magic.errors import UsageError
from opus_magic.records import Usage
from opus_magic.store.base import HistoryStore
from opus_magic.store.queries import stats_rows
from opus_magic.view import format as fmt
from opus_magic.view.history import run_filter
from opus_magic.view.tables import Rendered, html_table

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


def cost_text(group: GroupStats, amount: Decimal | None) -> str:
    text = fmt.money(amount, estimated=bool(group.estimated_runs))
    return text + (f" (+{group.unknown_cost_runs} unknown)" if group.unknown_cost_runs else "")


def cells(group: GroupStats) -> list[str]:
    """The figures of one group, as shown in both the text and the HTML table."""
    rate = group.cache_hit_rate
    speed = group.tokens_per_s
    return [group.key, f"{group.runs:,}", cost_text(group, group.cost),
            fmt.money(group.mean_cost, estimated=bool(group.estimated_runs)),
            f"{group.output_tokens:,}", "–" if rate is None else f"{rate:.1%}",
            fmt.money(group.cache_saved), fmt.seconds(group.mean_ttft_s),
            "–" if speed is None else f"{speed:.0f}"]


HEADERS = ["group", "runs", "total cost", "mean cost", "output tokens", "cache hit",
           "cache saved", "mean TTFT", "tokens/s"]


def stats_text(groups: list[GroupStats]) -> str:
    """Aligned table plus a bar per group (its share of the total spend)."""
    if groups[-1].runs == 0:
        return "No runs recorded yet."
    lines = [fmt.text_table([HEADERS, *(cells(g) for g in groups)])]
    top = groups[-1].cost
    if top > 0 and len(groups) > 2:
        width = max(len(g.key) for g in groups)
        lines.append("")
        lines.extend(f"{g.key:<{width}}  {'█' * round(30 * g.cost / top)} {fmt.money(g.cost)}"
                     for g in groups[:-1])
    return "\n".join(lines)


def bar_chart(items: Iterable[tuple[str, Decimal]], width: int = 420, bar_height: int = 18) -> str:
    """A horizontal bar chart as inline SVG: one labelled bar per (label, amount)."""
    items = list(items)
    top = max((amount for _, amount in items), default=Decimal(0)) or Decimal(1)
    label_w, gap = 170, 6
    height = len(items) * (bar_height + gap) + gap
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="cost by group" style="font:11px system-ui,sans-serif">']
    for index, (label, amount) in enumerate(items):
        y = gap + index * (bar_height + gap)
        bar = float(amount / top) * (width - label_w - 70)
        parts.append(
            f'<text x="{label_w - 4}" y="{y + bar_height - 5}" text-anchor="end" '
            f'fill="currentColor">'
            f'{html.escape(label[:28])}</text>'
            f'<rect x="{label_w}" y="{y}" width="{bar:.1f}" height="{bar_height}" fill="#5b8def"/>'
            f'<text x="{label_w + bar + 4:.1f}" y="{y + bar_height - 5}" fill="currentColor">'
            f'{html.escape(fmt.money(amount))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def stats_view(groups: list[GroupStats]) -> Rendered:
    """`%opus stats`: table and cost chart in a notebook, the text table elsewhere."""
    text = stats_text(groups)
    if groups[-1].runs == 0:
        return Rendered(f"<p>{text}</p>", text)
    rows = [[html.escape(c) for c in cells(g)] for g in groups]
    rows[-1] = [f"<b>{c}</b>" for c in rows[-1]]
    table = html_table(HEADERS, rows, numeric=set(range(1, len(HEADERS))))
    chart = bar_chart((g.key, g.cost) for g in groups[:-1]) if len(groups) > 2 else ""
    return Rendered(f"<div>{table}<div style='margin-top:8px'>{chart}</div></div>", text)
