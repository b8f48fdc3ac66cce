"""The live view of one cell's runs: a run panel, its controls, and what a saved notebook keeps.

The view observes runs and plans nothing: Run again and Stop call back into a controller.
In an interactive frontend each run's display is handed over to a static rendering (HTML,
Markdown, text) when the run ends, so a notebook reopened without its kernel shows the answers;
the controls sit in a display of their own that is withdrawn when the kernel moves on.
"""
from __future__ import annotations

import dataclasses
import html
import time
from collections.abc import Callable
from typing import Any

from opus_magic.core.run.engine import Clock, LiveRun, Observer
from opus_magic.core.run.plan import Plan
from opus_magic.records import RunRecord
from opus_magic.view import format as fmt
from opus_magic.view.live_only import LIVE_ONLY
from opus_magic.view.run.chips import chips_html
from opus_magic.view.run.html import (
    attempt_html,
    attempt_title,
    lines_html,
    page_html,
    run_html,
)
from opus_magic.view.run.panel import RunPanel, part
from opus_magic.view.run.state import readable, snapshot

CONCISE_OPTIONS = (("off", "off"), ("concise", "concise"), ("code only", "code"))
VIEW_MIME = "application/vnd.jupyter.widget-view+json"
HIDDEN = {VIEW_MIME: {"model_id": "", "version_major": 2, "version_minor": 0}, "text/plain": ""}

Again = Callable[[int, str], None]  # again(max_tokens, concise)
Rewrite = Callable[[int, str], str]  # rewrite(max_tokens, concise): the cell's %%opus line for them


def ceiling_html(value: int, ceiling: int | None) -> str:
    """Beside the max_tokens box: the model's ceiling, and what a rerun will send instead."""
    if value < 1:
        note, colour = "at least 1: Run again refuses this", fmt.colour("error")
    elif ceiling is not None and value > ceiling:
        note = f"above the model's ceiling: Run again sends {ceiling:,}"
        colour = fmt.colour("interrupted")
    else:
        note = f"≤ {ceiling:,}" if ceiling else "ceiling unknown"
        colour = fmt.TEXT
    return (f'<span class="opus-ceiling-note" style="color:{colour};white-space:nowrap" '
            f'title="the model\'s output ceiling">{html.escape(note)}</span>')


def widget_bundle(widget: Any, plain: str) -> dict[str, Any]:
    return {VIEW_MIME: widget._repr_mimebundle_()[VIEW_MIME], "text/plain": plain}


def set_buttons(run_again: Any, stop: Any, running: bool) -> None:
    """Only the button that can act is enabled; a disabled Stop is not red."""
    run_again.disabled, stop.disabled = running, not running
    stop.button_style = "danger" if running else ""


def provenance(cell: Plan, record: RunRecord) -> tuple[str, ...]:
    """What a rerun actually ran with, when the controls changed it from what the cell says."""
    ran, says = (record.max_tokens, record.concise), (cell.max_tokens, cell.request.concise)
    if ran == says:
        return ()
    flags = f"--max-tokens {record.max_tokens}" + {"off": "", "concise": " --concise",
                                                   "code": " --code-only"}[record.concise]
    return (f"Ran with max_tokens {record.max_tokens or 0:,} · {record.concise}; the cell says "
            f"{cell.max_tokens:,} · {cell.request.concise}. To keep these, put {flags} on the "
            f"cell's %%opus line.",)


class RunView(Observer):
    """A run panel with controls (max_tokens, concise mode, Run again, Stop), shown once per cell."""

    def __init__(self, plan: Plan, again: Again, stop: Callable[[], None], handover: bool,
                 clock: Clock = time.monotonic, rewrite: Rewrite | None = None) -> None:
        """`rewrite` lets the view offer to write a rerun's flags into the cell."""
        # Long: it builds the view's controls, each with its own tooltip, in one place.
        import ipywidgets as w

        self.cell, self.handover, self.clock = plan, handover, clock
        self.rewrite = rewrite
        self.write_back: Any = None  # the button is made when first offered
        self.panel = RunPanel(clock, hands_over=handover)
        self.delta = self.panel.delta  # the hot path goes straight to the panel
        self.thinking = self.panel.thinking
        self.stream_closed = self.panel.stream_closed
        self.waiting = self.panel.waiting
        ceiling = plan.info.max_output if plan.info and plan.info.max_output else None
        # one model for every control, each as wide as its content: the row fits 832 px
        layout = w.Layout(width="auto")
        # a plain number box: what the user types stays, and the note beside it says what will
        # be sent (a bounded box would clamp 999999 to the ceiling without a word)
        self.max_tokens = part(w.IntText, "opus-max-tokens", value=plan.max_tokens,
                               description="max_tokens", layout=layout,
                               tooltip="the longest answer to pay for, in tokens")
        self.ceiling = part(w.HTML, "opus-ceiling", layout=layout,
                            value=ceiling_html(plan.max_tokens, ceiling))
        self.max_tokens.observe(
            lambda change: setattr(self.ceiling, "value", ceiling_html(change["new"], ceiling)),
            names="value")
        self.concise = part(w.ToggleButtons, "opus-concise", options=CONCISE_OPTIONS,
                            value=plan.request.concise, style={"button_width": "auto"},
                            layout=layout, tooltips=("as written", "adds a be-brief instruction",
                                                     "adds a code-only instruction"))
        self.run_again = part(w.Button, "opus-run-again", description="Run again", icon="redo",
                              disabled=True, layout=layout,
                              tooltip="send the cell again with these max_tokens and mode")
        self.stop = part(w.Button, "opus-stop", description="Stop", icon="stop",  # a run follows
                         button_style="danger", layout=layout, style=self.run_again.style,
                         tooltip="end the stream now; what arrived is kept")
        self.run_again.on_click(lambda _: again(self.max_tokens.value, self.concise.value))
        self._stop = stop
        self.stop.on_click(lambda _: self.cancel())
        self.controls = part(w.HBox, "opus-controls", layout=layout, children=(
            self.max_tokens, self.ceiling, self.concise, self.run_again, self.stop))
        self.attempts = part(w.HTML, "opus-attempts", layout=layout)
        shown = (self.panel.box, self.attempts) + (() if handover else (self.controls,))
        self.box = part(w.VBox, "opus-view", children=shown, layout=layout)
        self.records: list[RunRecord] = []
        self._live: LiveRun | None = None
        self._main: Any = None
        self._bar: Any = None
        self._offered = (plan.max_tokens, plan.request.concise)  # the flags the button writes

    def show(self) -> None:
        """Display the view (and, when it hands over at the end, its controls apart)."""
        from IPython.display import display

        plain = f"{self.cell.request.model}: running (the answer appears here at the end)"
        self._main = display(widget_bundle(self.box, plain), raw=True, display_id=True,
                             metadata=LIVE_ONLY if self.handover else None)
        if self.handover:
            self._bar = display(widget_bundle(self.controls, ""), raw=True, display_id=True,
                                metadata=LIVE_ONLY)

    @property
    def live(self) -> LiveRun | None:
        """The run streaming into the view, if one is."""
        return self._live

    def hold(self) -> None:
        """A rerun is on its way: Run again waits for it."""
        self.run_again.disabled = True

    def cancel(self) -> None:
        """Stop the run that is streaming; what arrived is kept and recorded as stopped."""
        set_buttons(self.run_again, self.stop, running=False)
        self._stop()

    def started(self, live: LiveRun) -> None:
        if self.records and self.handover and self._main is not None:
            self._main.update(widget_bundle(self.box, "running again"), raw=True,
                              metadata=LIVE_ONLY)
        self._live = live
        set_buttons(self.run_again, self.stop, running=True)
        self.panel.started(live)

    def finished(self, live: LiveRun, record: RunRecord) -> None:
        self.panel.finished(live, record)
        notes = provenance(self.cell, record)
        if notes:
            self.panel.outcome.value += lines_html(notes, "opus-provenance", fmt.colour("note"))
        if self.rewrite is not None:
            self.offer_write_back(self.rewrite, record if notes else None)
        self.attempts.value = "".join(attempt_html(r) for r in reversed(self.records))
        self.records.append(record)
        if self._main is not None:
            self._main.update(self.final_bundle(live, record, notes), raw=True)
        self._live = None
        set_buttons(self.run_again, self.stop, running=False)

    def offer_write_back(self, rewrite: Rewrite, record: RunRecord | None) -> None:
        """Under the controls, offer to write what `record` ran with into the cell (None: hide)."""
        if record is None or record.max_tokens is None:
            if self.write_back is not None:
                self.write_back.layout.display = "none"
            return
        if self.write_back is None:
            self.write_back = self._write_back_button(
                rewrite(self.cell.max_tokens, self.cell.request.concise))
        self.write_back.offer(rewrite(record.max_tokens, record.concise))
        self.write_back.layout.display = None
        self._offered = (record.max_tokens, record.concise)

    def _write_back_button(self, replaces: str) -> Any:
        """The button (for a cell whose first line is `replaces`), from now on under the controls."""
        import ipywidgets as w

        from opus_magic.view.run.write_back import WriteBack

        button = WriteBack(self._written, _dom_classes=("opus-write-back",), layout=w.Layout(),
                           replaces=replaces)
        if self._bar is not None:
            row = w.VBox((self.controls, button), _dom_classes=("opus-bar",))
            self._bar.update(widget_bundle(row, ""), raw=True)
        else:
            self.box.children = (*self.box.children, button)
        return button

    def _written(self) -> None:
        """The frontend wrote the line: the cell now says what was offered."""
        max_tokens, concise = self._offered
        request = dataclasses.replace(self.cell.request, max_tokens=max_tokens, concise=concise)
        self.cell = dataclasses.replace(self.cell, max_tokens=max_tokens, request=request)

    def final_bundle(self, live: LiveRun, record: RunRecord, notes: tuple[str, ...]
                     ) -> dict[str, Any]:
        """The ended run for saved notebooks: static HTML in place of the widgets when handing
        over, else next to them; the whole answer as Markdown, a preview as text."""
        bundle: dict[str, Any] = dict(readable(record, live))
        earlier = [f"{attempt_title(r)}" for r in reversed(self.records[:-1])]
        if notes or earlier:
            bundle["text/plain"] += "".join(f"\n{line}" for line in (*notes, *earlier))
            bundle["text/markdown"] += "".join(
                f"\n\n> {html.escape(note)}" for note in notes) + "".join(
                f"\n\n<details><summary>{html.escape(attempt_title(r))}</summary>\n\n{r.text}\n\n"
                "</details>" for r in reversed(self.records[:-1]))
        if not self.handover:
            return {VIEW_MIME: self.box._repr_mimebundle_()[VIEW_MIME], **bundle}
        snap = snapshot(live, self.clock(), record)
        drawn = chips_html(self.panel.chips)
        bundle["text/html"] = page_html(run_html(snap, record.text, chips=drawn), notes,
                                        self.records[:-1])
        return bundle

    def problem(self, message: str) -> None:
        """A run or rerun that could not be planned: one line in the view, Run again stays."""
        self.panel.show_problem(message)
        set_buttons(self.run_again, self.stop, running=False)

    def retire(self) -> None:
        """Withdraw the controls (the kernel moves on): a saved notebook then holds no widget."""
        if self._bar is not None and self._live is None:
            self._bar.update(HIDDEN, raw=True, metadata=LIVE_ONLY)
            self._bar = None
