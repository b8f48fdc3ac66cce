"""`%opus reconcile` as tables: what the history recorded beside what the provider billed, per
model (× UTC day), the difference and its reasons, a total line, and (in HTML) a chart."""
from __future__ import annotations

import html
from decimal import Decimal

from opus_magic.core.reconcile.reasons import ROUNDING
from opus_magic.core.reconcile.table import Part, Reconciliation, Row, tokens_of
from opus_magic.view import format as fmt
from opus_magic.view.tables import Rendered, html_table
from opus_magic.wire.reports.day import Tokens

SHORT = {"outside": "runs outside this history", "ttl": "cache TTL", "batch": "batch discount",
         "estimate": "estimated runs", "unbilled": "not billed (yet)", "price": "catalog price",
         "markup": "uniform markup", "other": "other charges", "proxy": "proxy's margin",
         "history": "history's prices", "unpriced": "no catalog price",
         "unexplained": "unexplained"}
RECORDED, REPORTED = "#5b8def", "#e8913a"


def headers(result: Reconciliation) -> list[str]:
    return [*result.cells, "recorded in / out", "recorded", "reported in / out", "reported",
            "difference", "%", "why"]


def in_out(tokens: Tokens) -> str:
    return f"{tokens.input:,} / {tokens.output:,}"


def difference(row: Row) -> str:
    if abs(row.difference) < ROUNDING:
        return "$0.00"
    return ("+" if row.difference > 0 else "") + fmt.money(row.difference, row.at_catalog)


def percent(row: Row) -> str:
    share = row.percent
    return fmt.NONE if share is None or abs(row.difference) < ROUNDING else f"{share:+.1f} %"


def why(row: Row) -> str:
    if abs(row.difference) < ROUNDING and not row.reasons:
        return "matches"
    return ", ".join(dict.fromkeys(SHORT.get(r.kind, r.kind) for r in row.reasons)) or fmt.NONE


def cells(row: Row, width: int) -> list[str]:
    """One row's figures, as the text and the HTML table show them."""
    key = list(row.key) + [""] * (width - len(row.key))
    estimated = bool(row.recorded.estimated_runs)
    return [*key, in_out(tokens_of(row.recorded)), fmt.money(row.recorded.dollars, estimated),
            in_out(tokens_of(row.reported)), fmt.money(row.reported_dollars, row.at_catalog),
            difference(row), percent(row), why(row)]


def share_cells(part: Part, width: int) -> list[str]:
    """A user's or project's share (recorded), or an API key's (reported, at catalog prices)."""
    label = [f"  {part.dimension} {part.name}"] + [""] * (width - 1)
    figures = [in_out(part.tokens), fmt.money(part.dollars, part.dimension == "key")]
    blank = ["", ""]
    side = blank + figures if part.dimension == "key" else figures + blank
    runs = "" if part.runs is None else f"{part.runs:,} run" + ("" if part.runs == 1 else "s")
    return [*label, *side, "", "", runs]


def body(result: Reconciliation) -> list[tuple[list[str], bool]]:
    """The table's rows, each marked whether it is a share (indented) or not."""
    width = len(result.cells)
    rows: list[tuple[list[str], bool]] = []
    for row in result.rows:
        rows.append((cells(row, width), False))
        rows.extend((share_cells(part, width), True) for part in row.parts)
    return rows


def title(result: Reconciliation) -> str:
    days = result.days[0] if len(result.days) == 1 else f"{result.days[0]} … {result.days[-1]}"
    return (f"{result.provider}'s usage and cost reports beside this history · {result.where} · "
            f"{days} (UTC days, as the provider counts them) · {result.fetched}")


def reasons_text(result: Reconciliation) -> list[str]:
    """Every reason in full, under the row it belongs to."""
    lines = []
    for row in result.rows:
        for reason in row.reasons:
            lines.append(f"{' '.join(row.key)}: {reason.text}")
    return lines


def reconcile_text(result: Reconciliation) -> str:
    """The reconciliation as aligned text: title, table, total line, the reasons."""
    if not result.rows:
        return f"{title(result)}\nNo runs recorded and nothing billed on these days."
    width = len(result.cells)
    table = [headers(result), *(row for row, _ in body(result)), cells(result.total, width)]
    left = {*range(width), len(table[0]) - 1}
    lines = [title(result), "", fmt.text_table(table, left)]
    explained = reasons_text(result)
    if explained:
        lines += ["", "Why:", *(f"  {line}" for line in explained)]
    return "\n".join(lines)


def chart(result: Reconciliation, width: int = 460, bar: int = 9) -> str:
    """Recorded and reported dollars per row, side by side, as inline SVG."""
    top = max([max(r.recorded.dollars, r.reported_dollars) for r in result.rows]
              + [Decimal(0)]) or Decimal(1)
    label_w, gap = 220, 8
    height = len(result.rows) * (2 * bar + gap) + gap + 16
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="recorded and reported cost" '
             f'style="font:11px system-ui,sans-serif">']
    for index, row in enumerate(result.rows):
        y = gap + index * (2 * bar + gap)
        parts.append(f'<text x="{label_w - 4}" y="{y + bar + 4}" text-anchor="end" '
                     f'fill="currentColor">{html.escape(" ".join(row.key)[:36])}</text>')
        for offset, amount, fill in ((0, row.recorded.dollars, RECORDED),
                                     (bar, row.reported_dollars, REPORTED)):
            length = float(amount / top) * (width - label_w - 80)
            parts.append(f'<rect x="{label_w}" y="{y + offset}" width="{length:.1f}" '
                         f'height="{bar - 1}" fill="{fill}"/><text x="{label_w + length + 4:.1f}" '
                         f'y="{y + offset + bar - 1}" fill="currentColor">'
                         f'{html.escape(fmt.money(amount))}</text>')
    parts.append(f'<text x="{label_w}" y="{height - 4}" fill="{RECORDED}">■ recorded</text>'
                 f'<text x="{label_w + 80}" y="{height - 4}" fill="{REPORTED}">■ reported</text>'
                 "</svg>")
    return "".join(parts)


def reconcile_view(result: Reconciliation) -> Rendered:
    """`%opus reconcile`: the table, the reasons and a chart in a notebook, text elsewhere."""
    text = reconcile_text(result)
    if not result.rows:
        return Rendered(f"<p>{html.escape(text)}</p>", text)
    width = len(result.cells)
    rows = [[("&nbsp;&nbsp;" if indented and i == 0 else "") + html.escape(c.strip())
             for i, c in enumerate(row)] for row, indented in body(result)]
    rows.append([f"<b>{html.escape(c)}</b>" for c in cells(result.total, width)])
    names = headers(result)
    table = html_table(names, rows, numeric=set(range(width, len(names) - 1)))
    reasons = "".join(f"<li>{html.escape(line)}</li>" for line in reasons_text(result))
    return Rendered(f"<div><p>{html.escape(title(result))}</p>{table}"
                    f"<ul style='font-size:12px'>{reasons}</ul>"
                    f"<div style='margin-top:8px'>{chart(result)}</div></div>", text)
