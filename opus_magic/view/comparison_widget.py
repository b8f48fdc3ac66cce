"""A fan-out as live columns, one run panel per model, then a summary row marking cheapest and fastest."""
from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from opus_magic.core.engine import Clock
from opus_magic.core.fanout import Comparison, SummaryRow, execute_all, summarize
from opus_magic.core.session import Session
from opus_magic.cost.pricing import format_usd
from opus_magic.records import RunRecord
from opus_magic.view.comparison_text import model_label, summary_table
from opus_magic.view.run_state import STATUS_COLORS, lines_html, readable
from opus_magic.view.run_widget import MESSAGES_PER_S, VIEW_MIME, RunPanel, part
from opus_magic.view.text import fmt_seconds

SUMMARY_HEADINGS = ("model", "finish", "in", "out", "cost", "TTFT", "time", "tok/s", "")


class ComparisonView:
    """Columns streaming side by side with their own meters and statuses, one Stop for all."""

    def __init__(self, session: Session, runs: Comparison,
                 on_done: Callable[[Sequence[RunRecord]], None], clock: Clock = time.monotonic
                 ) -> None:
        import ipywidgets as w

        self.session, self.runs, self.on_done = session, runs, on_done
        interval = len(runs) / MESSAGES_PER_S  # the columns share one view's message rate
        self.panels = [RunPanel(clock, interval, flex="1 1 0", min_width="16em",
                                padding="0 0.5em") for _ in runs]
        models = ", ".join(plan.request.model for plan, _ in runs)
        self.title = part(w.HTML, "opus-comparison-title", value=(
            f"<b>Comparing {len(runs)} models at once</b> ({html.escape(models)}; comparison "
            f"{runs.comparison_id})" + lines_html(tuple(f"not run: {line}" for line in runs.refused),
                                                  "opus-refused", STATUS_COLORS["error"])))
        self.columns = part(w.HBox, "opus-columns", children=[p.box for p in self.panels],
                            layout=w.Layout(flex_flow="row wrap"))
        self.stop = part(w.Button, "opus-stop", description="Stop all", icon="stop",
                         button_style="danger", disabled=True)
        self.summary = part(w.HTML, "opus-comparison-summary", layout=self.title.layout,
                            style=self.title.style)
        self.box = part(w.VBox, "opus-comparison", children=[
            self.title, self.columns, part(w.HBox, "opus-controls", children=[self.stop]),
            self.summary])
        self.stop.on_click(lambda _: self.cancel())
        self._cancel = threading.Event()
        self._handle: Any = None

    def show(self) -> None:
        """Display the columns; at the end the display also carries the readable answers."""
        from IPython.display import display

        bundle = self.box._repr_mimebundle_()
        bundle["text/plain"] = f"Comparing {len(self.runs)} models (the answers appear here at the end)"
        self._handle = display(bundle, raw=True, display_id=True)

    def run(self) -> list[RunRecord]:
        """Run every model at once into its column; returns the records in the models' order."""
        self.stop.disabled = False
        records = execute_all(self.session, self.runs, self.panels, self._cancel)
        self.stop.disabled = True
        rows = summarize(records)
        self.summary.value = summary_html(rows)
        if self._handle is not None:
            self._handle.update({VIEW_MIME: self.box._repr_mimebundle_()[VIEW_MIME],
                                 **self.readable(rows)}, raw=True)
        self.on_done(records)
        return records

    def cancel(self) -> None:
        """Stop every model still streaming; what arrived is kept and recorded as stopped."""
        self._cancel.set()
        self.stop.disabled = True
        for panel in self.panels:
            if panel.live is not None:
                panel.live.stop()

    def readable(self, rows: Sequence[SummaryRow]) -> dict[str, str]:
        """Each model's answer and the summary table, as text for saved notebooks."""
        plain, markdown = [], []
        for panel in self.panels:
            if panel.live is None or panel.record is None:
                continue
            text = readable(panel.record, panel.live)
            title = model_label(panel.record)
            plain.append(f"── {title} ──\n{text['text/plain']}")
            markdown.append(f"#### {html.escape(title)}\n\n{text['text/markdown']}")
        table = summary_table(rows)
        return {"text/plain": "\n\n".join([*plain, table]),
                "text/markdown": "\n\n".join([*markdown, f"```text\n{table}\n```"])}


def summary_html(rows: Sequence[SummaryRow]) -> str:
    """The summary row of a comparison as a small table, cheapest and fastest marked."""
    head = "".join(f"<th style='padding:0 0.6em;text-align:left'>{h}</th>" for h in SUMMARY_HEADINGS)
    body = []
    for row in rows:
        r = row.record
        marks = " ".join(f'<span class="opus-{name}" style="color:#2da44e">{name}</span>'
                         for name, on in (("cheapest", row.cheapest), ("fastest", row.fastest)) if on)
        cells = (html.escape(model_label(r)), html.escape(r.finish_reason or r.status),
                 f"{r.usage.input_tokens:,}", f"{r.usage.output_tokens:,}",
                 format_usd(r.cost, not r.cost_exact), fmt_seconds(r.ttft_s),
                 fmt_seconds(r.duration_s),
                 "–" if row.tokens_per_s is None else f"{row.tokens_per_s:,.0f}")
        body.append("<tr>" + "".join(f"<td style='padding:0 0.6em'>{c}</td>" for c in cells)
                    + f"<td>{marks}</td></tr>")
    return f"<table class='opus-summary-rows'><tr>{head}</tr>{''.join(body)}</table>"
