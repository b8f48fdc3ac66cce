"""A fan-out as live columns: titles, the summary under them, then one fixed-height column per
model with its meter on top, its own Stop and Run again; static HTML once every column ended."""
from __future__ import annotations

import html
import time
from collections.abc import Callable, Sequence
from typing import Any

from opus_magic.core.comparison import Comparison, RankedRun, rank
from opus_magic.core.run.engine import Clock
from opus_magic.view import format as fmt
from opus_magic.view.live_only import LIVE_ONLY
from opus_magic.view.run.chips import chips_html
from opus_magic.view.run.comparison_text import (
    SUMMARY_HEADINGS,
    cheapest_cost,
    summary_cells,
    summary_table,
)
from opus_magic.view.run.html import lines_html, run_html
from opus_magic.view.run.panel import MESSAGES_PER_S, RunPanel, part
from opus_magic.view.run.state import readable, snapshot
from opus_magic.view.run.widget import HIDDEN, VIEW_MIME, set_buttons, widget_bundle

COLUMN_TEXT_HEIGHT = "22em"


class ComparisonView:
    """Columns streaming side by side; Stop and Run again per column call back into a controller."""

    def __init__(self, runs: Comparison, again: Callable[[int], None],
                 stop: Callable[[int | None], None], handover: bool,
                 clock: Clock = time.monotonic) -> None:
        import ipywidgets as w

        self.runs, self.handover, self.clock = runs, handover, clock
        # each column is pushed as often as a single run: a column that updates in bursts reads
        # as stalled next to one that flows (the pushes are small; the meters redraw rarely)
        self.panels = [RunPanel(clock, 1 / MESSAGES_PER_S, text_height=COLUMN_TEXT_HEIGHT,
                                hands_over=handover, padding="0 0.5em") for _ in runs]
        self.agains: list[Any] = []
        self.stops: list[Any] = []
        fit = w.Layout(width="auto")  # one model for the columns' buttons, as wide as their labels
        columns = [self._column(index, again, stop, fit) for index in range(len(self.panels))]
        self.title = part(w.HTML, "opus-comparison-title", value=self.title_html())
        self.summary = part(w.HTML, "opus-comparison-summary")
        self.columns = part(w.HBox, "opus-columns", children=columns,
                            layout=w.Layout(flex_flow="row nowrap", width="100%"))
        self.stop = part(w.Button, "opus-stop", description="Stop all", icon="stop",
                         button_style="danger", tooltip="end every stream; keep what arrived")
        self.stop.on_click(lambda _: self.cancel(stop))
        self.controls = part(w.HBox, "opus-controls", children=[self.stop])
        self.box = part(w.VBox, "opus-comparison", children=[
            self.title, self.summary, self.columns, self.controls])
        self._main: Any = None
        self._bar: Any = None
        self._again_row: Any = None  # the Run again buttons in a row of their own

    def _column(self, index: int, again: Callable[[int], None],
                stop: Callable[[int | None], None], fit: Any) -> Any:
        """One model's column: its panel, then its own Run again and Stop."""
        import ipywidgets as w

        model = self.runs[index].request.model
        again_one = part(w.Button, "opus-run-again", description=f"Run {model} again",
                         icon="redo", layout=fit,
                         disabled=True, tooltip="send this model the cell again")
        stop_one = part(w.Button, "opus-stop-one", description="Stop", icon="stop", layout=fit,
                        button_style="danger", tooltip="end this model's stream; keep its text")
        again_one.on_click(lambda _: again(index))
        stop_one.on_click(lambda _: stop(index))
        self.agains.append(again_one)
        self.stops.append(stop_one)
        # the column shares the row's width; the panel inside it takes its natural height (a
        # flex basis of 0 in a vertical box would leave it 0 px tall while it streams)
        return part(w.VBox, "opus-column", layout=w.Layout(flex="1 1 0", min_width="14em"),
                    children=[self.panels[index].box,
                              part(w.HBox, "opus-column-controls", children=[again_one, stop_one])])

    def title_html(self) -> str:
        models = ", ".join(plan.request.model for plan in self.runs)
        refused = tuple(f"not run: {line}" for line in self.runs.refused)
        return (f'<div style="color:{fmt.TEXT}"><b>Comparing {len(self.runs)} models at once</b> '
                f'({html.escape(models)}; comparison {self.runs.comparison_id})</div>'
                + lines_html(refused, "opus-refused", fmt.colour("error")))

    def show(self) -> None:
        """Display the columns; at the end the display carries the readable answers instead."""
        from IPython.display import display

        plain = f"Comparing {len(self.runs)} models (the answers appear here at the end)"
        self._main = display(widget_bundle(self.box, plain), raw=True, display_id=True,
                             metadata=LIVE_ONLY if self.handover else None)
        if self.handover:  # the columns' Run again, shown once the columns hand over
            self._bar = display(HIDDEN, raw=True, display_id=True, metadata=LIVE_ONLY)

    def cancel(self, stop: Callable[[int | None], None]) -> None:
        self.stop.disabled, self.stop.button_style = True, ""
        stop(None)

    def begin(self, index: int | None = None) -> None:
        """Runs start (all, or one column again): live widgets in the display, Stops enabled."""
        for i, (again_one, stop_one) in enumerate(zip(self.agains, self.stops)):
            if index in (None, i):
                set_buttons(again_one, stop_one, running=True)
        self.stop.disabled, self.stop.button_style = False, "danger"
        if index is not None and self.handover and self._main is not None:
            self._main.update(widget_bundle(self.box, "running again"), raw=True,
                              metadata=LIVE_ONLY)
            self._show_bar(False)  # the columns carry their own Run again meanwhile

    def _show_bar(self, shown: bool) -> None:
        """The Run again row under the static columns: only while they are static, so a column's
        button never shows twice."""
        if self._bar is None:
            return
        if shown and self._again_row is None:
            self._again_row = part(type(self.controls), "opus-comparison-again",
                                   children=self.agains)
        bundle = widget_bundle(self._again_row, "") if shown else HIDDEN
        self._bar.update(bundle, raw=True, metadata=LIVE_ONLY)

    def end(self) -> None:
        """Once no column streams: the summary, and the display handed over to static HTML."""
        if any(panel.live is not None and panel.record is None for panel in self.panels):
            return
        for again_one, stop_one in zip(self.agains, self.stops):
            set_buttons(again_one, stop_one, running=False)
        self.stop.disabled, self.stop.button_style = True, ""
        records = [panel.record for panel in self.panels if panel.record is not None]
        rows = rank(records)
        self.summary.value = summary_html(rows)
        if self._main is not None:
            self._main.update(self.final_bundle(rows), raw=True)
            if self.handover:
                self._show_bar(True)

    def final_bundle(self, rows: Sequence[RankedRun]) -> dict[str, Any]:
        bundle: dict[str, Any] = self.readable(rows)
        if not self.handover:
            return {VIEW_MIME: self.box._repr_mimebundle_()[VIEW_MIME], **bundle}
        columns = [run_html(snapshot(p.live, self.clock(), p.record), p.record.text,
                            COLUMN_TEXT_HEIGHT, chips_html(p.chips, brief=True))
                   for p in self.panels if p.live and p.record]
        bundle["text/html"] = (
            f'<div class="opus-comparison opus-static" style="color:{fmt.TEXT}">'
            f'{self.title_html()}{summary_html(rows)}'
            f'<div class="opus-columns" style="display:flex;gap:0.5em">{"".join(columns)}</div>'
            '</div>')
        return bundle

    def readable(self, rows: Sequence[RankedRun]) -> dict[str, str]:
        """Each model's answer and the summary table, as text for saved notebooks."""
        plain, markdown = [], []
        for panel in self.panels:
            if panel.live is None or panel.record is None:
                continue
            text = readable(panel.record, panel.live)
            title = fmt.model_label(panel.record)
            plain.append(f"── {title} ──\n{text['text/plain']}")
            markdown.append(f"#### {html.escape(title)}\n\n{text['text/markdown']}")
        table = summary_table(rows)
        return {"text/plain": "\n\n".join([*plain, table]),
                "text/markdown": "\n\n".join([*markdown, f"```text\n{table}\n```"])}

    def retire(self) -> None:
        """Withdraw the Run again buttons (the kernel moves on): a saved notebook holds no widget."""
        if self._bar is not None and all(p.live is None or p.record for p in self.panels):
            self._bar.update(HIDDEN, raw=True, metadata=LIVE_ONLY)
            self._bar = None


WRAPS = (0, 1)  # the model and how it ended wrap at their spaces; the figures never do


def summary_html(rows: Sequence[RankedRun]) -> str:
    """The summary of a comparison as a small table, cheapest and fastest marked; it fits an
    848 px output (names, end states and marks wrap rather than run off the edge)."""
    def cell(i: int) -> str:
        space = "normal" if i in WRAPS else "nowrap"
        return f"padding:0 0.5em;white-space:{space};text-align:{'right' if 1 < i < 9 else 'left'}"

    head = "".join(f"<th style='{cell(i)}'>{h}</th>" for i, h in enumerate(SUMMARY_HEADINGS))
    body, cheapest = [], cheapest_cost(rows)
    for row in rows:
        cells = summary_cells(row, cheapest)
        marks = html.escape(cells[-1])
        for mark in ("cheapest", "fastest"):
            marks = marks.replace(mark, f'<span class="opus-{mark}" '
                                        f'style="color:{fmt.colour("ok")};white-space:nowrap">'
                                        f'{mark}</span>')
        body.append("<tr>" + "".join(f"<td style='{cell(i)}'>{html.escape(c)}</td>"
                                     for i, c in enumerate(cells[:-1]))
                    + f"<td class='opus-marks'>{marks}</td></tr>")
    return (f"<table class='opus-summary-rows' style='color:{fmt.TEXT};font-size:0.95em;"
            f"max-width:100%'><tr>{head}</tr>{''.join(body)}</table>")
