"""A run as HTML: the parts the widgets show while streaming, and the whole run once it ended.

The finished form is what a saved notebook keeps (no widget needed to show it), so it carries
the same CSS classes as the live widgets and the theme's colours.
"""
from __future__ import annotations

import html
from collections.abc import Sequence
from functools import cache
from typing import Any

from opus_magic.records import RunRecord
from opus_magic.view import format as fmt
from opus_magic.view.run.state import Meter, Snapshot

LINE = "line-height:1.45"
BADGE = ("padding:0 5px;border-radius:3px;font-size:0.9em;"
         f"background:{fmt.tint('estimate')};color:{fmt.colour('estimate', 80)}")


def header_html(snap: Snapshot) -> str:
    parts = [f'<b class="opus-model">{html.escape(snap.model)}</b>',
             f'<span class="opus-status opus-status-{snap.status}" '
             f'style="color:{fmt.STATUS_COLOURS[snap.status]}">● {html.escape(snap.label)}</span>']
    if snap.simulator:
        parts.append(f'<span class="opus-simulator opus-badge" style="{BADGE}">simulator</span>')
    return f'<div style="{LINE}">{" ".join(parts)}</div>'


def meter_html(m: Meter, compact: bool = False) -> str:
    """The meter's figures; `compact` (a column) keeps two lines of the same height for all."""
    # one line at 832 px, and no clipped badge in a column: an estimate's basis shows on hover;
    # short labels, the class names say them whole
    hover = f' title="estimated: {html.escape(m.basis)}"' if m.basis else ""
    badge = (f'<span class="opus-exact" style="color:{fmt.colour("ok")}">exact</span>' if m.exact
             else f'<span class="opus-estimate" style="color:{fmt.colour("estimate")}"{hover}>'
                  f'≈ estimated</span>')
    cells = [("input", "in", m.input_cost), ("output", "out", m.output_cost),
             ("total", "total", m.total_cost), ("tokens", "tokens", m.tokens),
             ("speed", "" if m.rate.endswith("tok/s") else "speed", m.rate),  # says tok/s
             ("ttft", "TTFT", m.ttft)]
    spans = [f'<span class="opus-meter-{name}" style="white-space:nowrap">'
             f'{label + " " if label else ""}<b>{html.escape(value)}</b></span>'
             for name, label, value in cells]
    if compact:
        lines = [" · ".join([spans[2], badge]), " · ".join([spans[3]]),
                 " · ".join([spans[4], spans[5]])]
        return (f'<div style="line-height:1.5;height:4.5em;overflow:hidden;color:{fmt.TEXT}">'
                + "".join(f'<div style="white-space:nowrap;overflow:hidden;'
                          f'text-overflow:ellipsis">{line}</div>' for line in lines) + "</div>")
    return f'<div style="line-height:1.6;color:{fmt.TEXT}">{" · ".join(spans)} · {badge}</div>'


def notes_html(snap: Snapshot) -> str:
    """Above the answer: the pre-flight notes (the cache's), then the plan's warnings."""
    return (lines_html(snap.notes, "opus-note", fmt.colour("note"))
            + lines_html(snap.warnings, "opus-warning", fmt.colour("interrupted")))


def lines_html(lines: Sequence[str], css: str, colour: str) -> str:
    return "".join(f'<div class="{css}" style="color:{colour};{LINE}">{html.escape(line)}</div>'
                   for line in lines)


def stream_html(text: str, settled: str = "") -> str:
    """The streaming tail: blocks that ended rendered as Markdown, the block in progress plain."""
    rendered = f'<div class="jp-RenderedHTMLCommon" style="padding:0">{markdown_html(settled)}</div>'
    return ((rendered if settled else "") + f'<div style="white-space:pre-wrap;{LINE};margin:0">'
            f'{html.escape(text, quote=False)}</div>')


@cache
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("js-default", {"html": False})  # raw HTML in an answer shows as text


def markdown_html(text: str) -> str:
    """An answer's Markdown as HTML (tables and strikethrough too), for the saved output."""
    return str(_markdown().render(text))


def outcome_html(snap: Snapshot, compact: bool = False) -> str:
    """Explanations, then the summary line (a column leaves all but the run id to the table)."""
    colour = fmt.TEXT if snap.status == "ok" else fmt.STATUS_COLOURS[snap.status]
    summary = () if not snap.summary else (
        (snap.summary.rsplit(" · ", 1)[-1],) if compact else (snap.summary,))
    return (lines_html(snap.outcome, "opus-outcome-line", colour)
            + lines_html(summary, "opus-summary", fmt.TEXT))


def thinking_html(text: str) -> str:
    """The thinking text, as plain wrapped text (it is a summary, not the answer)."""
    return (f'<div class="opus-thinking-text" style="white-space:pre-wrap;{LINE};'
            f'color:{fmt.colour("estimate")}">{html.escape(text, quote=False)}</div>')


def thinking_details(snap: Snapshot) -> str:
    """The thinking part of a finished run: collapsed, its title saying what was billed."""
    if snap.thinking is None:
        return ""
    title, text = snap.thinking
    return (f'<details class="opus-thinking"><summary style="color:{fmt.TEXT}">'
            f'{html.escape(title)}</summary>{thinking_html(text)}</details>')


def run_html(snap: Snapshot, text: str, text_height: str | None = None, chips: str = "") -> str:
    """One finished run with the classes of the live view: header, attachments (`chips`, as
    drawn), notes, answer, meter, outcome.

    With `text_height` it is a column as in a comparison: meter on top, the answer scrolling.
    """
    colour = fmt.STATUS_COLOURS[snap.status]
    header = (f'<div class="opus-header">{header_html(snap)}</div>'
              f'<div class="opus-attachments">{chips}</div>')
    notes = notes_html(snap)
    meter = f'<div class="opus-meter">{meter_html(snap.meter, text_height is not None)}</div>'
    answer = (f'<div class="opus-text jp-RenderedHTMLCommon" style="padding:0">'
              f'{markdown_html(text)}</div>')
    outcome = f'<div class="opus-outcome">{outcome_html(snap, text_height is not None)}</div>'
    parts = [header, f'<div class="opus-warnings">{notes}</div>', thinking_details(snap), answer,
             meter, outcome]
    if text_height is not None:
        scroller = (f'<div class="opus-scroll" style="height:{text_height};overflow:auto">'
                    f'{thinking_details(snap)}{answer}</div>')
        parts = [header, meter, scroller, f'<div class="opus-warnings">{notes}</div>', outcome]
    return (f'<div class="opus-run opus-status-{snap.status}" style="border-left:3px solid '
            f'{colour};padding-left:8px;margin:2px 0;min-width:0;flex:1 1 0">'
            f'{"".join(parts)}</div>')


def attempt_title(record: RunRecord) -> str:
    return (f"Earlier attempt: max_tokens {record.max_tokens or 0:,} · {record.concise} · "
            f"{fmt.end_state(record)} · {fmt.run_cost(record)} · run {record.id}")


def attempt_html(record: RunRecord) -> str:
    """An earlier attempt of the same cell, collapsed: what it ran with, how it ended, its answer."""
    title = attempt_title(record)
    return (f'<details class="opus-attempt" style="color:{fmt.TEXT};{LINE}">'
            f'<summary>{html.escape(title)}</summary>'
            f'<div class="jp-RenderedHTMLCommon">{markdown_html(record.text)}</div></details>')


def page_html(run: str, notes: Sequence[str], attempts: Sequence[RunRecord]) -> str:
    """The whole view once it ended: the latest run, notes on what ran, earlier attempts."""
    shown = lines_html(notes, "opus-provenance", fmt.colour("note"))
    return (f'<div class="opus-view opus-static" style="color:{fmt.TEXT}">{run}{shown}'
            f'{"".join(attempt_html(r) for r in reversed(attempts))}</div>')
