"""`%opus stats` as tables: totals per group in text, and in HTML with a hand-built SVG chart."""
from __future__ import annotations

import html
from collections.abc import Iterable
from decimal import Decimal

from opus_magic.core.history.totals import GroupStats
from opus_magic.view import format as fmt
from opus_magic.view.tables import Rendered, html_table


def cost_text(group: GroupStats, amount: Decimal | None) -> str:
    text = fmt.money(amount, estimated=bool(group.estimated_runs))
    return text + (f" (+{group.unknown_cost_runs} unknown)" if group.unknown_cost_runs else "")


def cells(group: GroupStats) -> list[str]:
    """The figures of one group, as shown in both the text and the HTML table."""
    rate = group.cache_hit_rate
    return [group.key, f"{group.runs:,}", cost_text(group, group.cost),
            fmt.money(group.mean_cost, estimated=bool(group.estimated_runs)),
            f"{group.output_tokens:,}", "–" if rate is None else f"{rate:.1%}",
            fmt.money(group.cache_saved), fmt.seconds(group.mean_ttft_s),
            fmt.speed(group.tokens_per_s)]


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
