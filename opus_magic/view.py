"""The live widget view of a run: streaming text, cost meter, status, and the controls to rerun it."""
from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

from .config import Settings
from .engine import Clock, LiveRun
from .plan import Plan
from .errors import OpusError
from .records import RunRecord
from .session import Session
from .view_state import (STATUS_COLORS, Snapshot, Throttle, header_html, lines_html, meter_html,
                         readable, snapshot, stream_html)

SEGMENT_CHARS = 4_096  # a streamed segment is frozen at the first line end past this size
HARD_SEGMENT_CHARS = 65_536  # …or here, when a line never ends
UNBOUNDED_MAX_TOKENS = 10_000_000
CONCISE_OPTIONS = (("off", "off"), ("concise", "concise"), ("code only", "code"))
VIEW_MIME = "application/vnd.jupyter.widget-view+json"

Launch = Callable[[Callable[[], Any], Callable[[], None]], None]  # launch(work, stop)


class RunPanel:
    """One run as widgets (header, warnings, text, retry line, meter, outcome): an engine Observer.

    Per chunk `delta` only appends to a list; at most once per `interval_s` the new text goes to
    the current text segment (segments are frozen as they fill, so a push costs the same at the
    end of a long answer as at its start) and the meter is redrawn. The end renders Markdown once.
    """

    def __init__(self, clock: Clock = time.monotonic, interval_s: float = 0.05) -> None:
        import ipywidgets as w

        self.clock = clock
        self.throttle = Throttle(interval_s, clock)
        self.header = w.HTML().add_class("opus-header")
        self.warnings = w.HTML().add_class("opus-warnings")
        self.text = w.VBox().add_class("opus-text")
        self.retry = w.HTML().add_class("opus-retry")
        self.meter = w.HTML().add_class("opus-meter")
        self.outcome = w.HTML().add_class("opus-outcome")
        self.box = w.VBox([self.header, self.warnings, self.text, self.retry, self.meter,
                           self.outcome]).add_class("opus-run")
        self.live: LiveRun | None = None
        self.record: RunRecord | None = None
        self._pending: list[str] = []
        self._tail = ""
        self._segment: Any = None
        self._countdown = threading.Event()
        self._lock = threading.Lock()
        self._status = ""

    def started(self, live: LiveRun) -> None:
        import ipywidgets as w

        self.live, self.record = live, None
        self._pending, self._tail = [], ""
        for old in self.text.children:
            old.close()
        self._segment = w.HTML().add_class("opus-text-stream")
        self.text.children = (self._segment,)
        self.throttle.mark()
        self.render(snapshot(live, self.clock()))

    def delta(self, live: LiveRun, text: str) -> None:
        self._pending.append(text)
        if self.throttle.due():
            self.push()

    def waiting(self, live: LiveRun, seconds: float, reason: str) -> None:
        self.push()
        self._countdown.set()
        self._countdown = stop = threading.Event()
        deadline = self.clock() + seconds

        def tick() -> None:
            while True:
                left = max(deadline - self.clock(), 0.0)
                with self._lock:
                    if stop.is_set():
                        return
                    self.retry.value = lines_html((f"… {reason}: retrying in {left:.0f} s",),
                                                  "opus-retry-line", STATUS_COLORS["interrupted"])
                if left <= 0 or stop.wait(min(1.0, left)):
                    return

        threading.Thread(target=tick, name="opus-retry-countdown", daemon=True).start()

    def finished(self, live: LiveRun, record: RunRecord) -> None:
        import ipywidgets as w

        self.record = record
        self._pending.clear()
        self._end_countdown()
        rendered = w.Output().add_class("opus-text-final")
        if record.text:  # rendered once, by the frontend's Markdown renderer
            rendered.outputs = ({"output_type": "display_data", "metadata": {},
                                 "data": {"text/markdown": record.text, "text/plain": record.text}},)
        old = self.text.children
        self.text.children = (rendered,)
        for widget in old:
            widget.close()
        self.throttle.mark()
        self.render(snapshot(live, self.clock(), record))

    def push(self) -> None:
        """Send what arrived since the last push, and redraw the meter."""
        if self.live is None:
            return
        if self._pending:
            self._append("".join(self._pending))
            self._pending.clear()
        if self.retry.value:
            self._end_countdown()
        self.render(snapshot(self.live, self.clock()))

    def _append(self, text: str) -> None:
        import ipywidgets as w

        tail = self._tail + text
        if len(tail) > SEGMENT_CHARS:
            cut = tail.rfind("\n") + 1 or (len(tail) if len(tail) > HARD_SEGMENT_CHARS else 0)
            if cut:
                self._segment.value = stream_html(tail[:cut])
                tail = tail[cut:]
                self._segment = w.HTML().add_class("opus-text-stream")
                self.text.children = (*self.text.children, self._segment)
        self._tail = tail
        self._segment.value = stream_html(tail)

    def _end_countdown(self) -> None:
        with self._lock:
            self._countdown.set()
            self.retry.value = ""

    def render(self, snap: Snapshot) -> None:
        """Map one snapshot onto the widgets (unchanged values are not resent)."""
        self.header.value = header_html(snap)
        self.warnings.value = lines_html(snap.warnings, "opus-warning", STATUS_COLORS["interrupted"])
        self.meter.value = meter_html(snap.meter)
        color = "#24292f" if snap.status == "ok" else STATUS_COLORS[snap.status]
        summary = (snap.summary,) if snap.summary else ()
        self.outcome.value = (lines_html(snap.outcome, "opus-outcome-line", color)
                              + lines_html(summary, "opus-summary", "#57606a"))
        if snap.status != self._status:
            if self._status:
                self.box.remove_class(f"opus-status-{self._status}")
            self.box.add_class(f"opus-status-{snap.status}")
            self.box.layout.border_left = f"3px solid {STATUS_COLORS[snap.status]}"
            self._status = snap.status

    def show_problem(self, message: str) -> None:
        """A one-line message in the outcome area (a rerun that could not be planned)."""
        self.outcome.value = lines_html((message,), "opus-problem", STATUS_COLORS["error"])


class RunView:
    """A run panel with controls (max_tokens, concise mode, Run again, Stop), shown once per cell.

    Run again re-plans the cell's request with the controls' values and streams the new run,
    a new history record, into the same view; `on_record` hears of every record.
    """

    def __init__(self, session: Session, settings: Settings, plan: Plan, launch: Launch,
                 on_record: Callable[[RunRecord], None], clock: Clock = time.monotonic) -> None:
        import ipywidgets as w

        self.session, self.settings, self.request = session, settings, plan.request
        self.launch, self.on_record = launch, on_record
        self.panel = RunPanel(clock)
        self.delta = self.panel.delta  # the hot path goes straight to the panel
        self.waiting = self.panel.waiting
        ceiling = plan.info.max_output if plan.info and plan.info.max_output else None
        self.max_tokens = w.BoundedIntText(
            value=plan.max_tokens, min=1, max=ceiling or UNBOUNDED_MAX_TOKENS,
            description="max_tokens", tooltip=f"at most {ceiling:,} for {plan.model_id}"
            if ceiling else "the model's ceiling is unknown").add_class("opus-max-tokens")
        self.concise = w.ToggleButtons(options=CONCISE_OPTIONS, value=plan.request.concise,
                                       style={"button_width": "auto"}).add_class("opus-concise")
        self.run_again = w.Button(description="Run again", icon="redo",
                                  disabled=True).add_class("opus-run-again")
        self.stop = w.Button(description="Stop", icon="stop", button_style="danger",
                             disabled=True).add_class("opus-stop")
        self.run_again.on_click(lambda _: self.again())
        self.stop.on_click(lambda _: self.cancel())
        self.controls = w.HBox([self.max_tokens, self.concise, self.run_again, self.stop]
                               ).add_class("opus-controls")
        self.box = w.VBox([self.panel.box, self.controls]).add_class("opus-view")
        self.records: list[RunRecord] = []
        self._handle: Any = None
        self._live: LiveRun | None = None
        self._cancel = threading.Event()

    def show(self) -> None:
        """Display the view; the display is updated with the readable final text at each end."""
        from IPython.display import display

        bundle = self.box._repr_mimebundle_()
        bundle["text/plain"] = f"{self.request.model}: running (the answer appears here at the end)"
        self._handle = display(bundle, raw=True, display_id=True)

    def run(self, plan: Plan) -> RunRecord | None:
        """Stream one plan into the view until it ends; a refusal before sending shows in the view."""
        self._cancel = threading.Event()
        try:
            return self.session.execute(plan, self.settings, self, self._cancel)
        except OpusError as exc:
            self.panel.show_problem(str(exc))
            self.run_again.disabled, self.stop.disabled = False, True
            return None

    def again(self) -> None:
        """Run again with the controls' max_tokens and concise mode."""
        request = dataclasses.replace(self.request, max_tokens=self.max_tokens.value,
                                      concise=self.concise.value)
        try:
            plan = self.session.plan(request, self.settings)
        except OpusError as exc:
            self.panel.show_problem(str(exc))
            return
        self.run_again.disabled = True
        self.launch(lambda: self.run(plan), self.cancel)

    def cancel(self) -> None:
        """Stop the run that is streaming; what arrived is kept and recorded as stopped."""
        self._cancel.set()
        self.stop.disabled = True
        if self._live is not None:
            self._live.stop()

    def started(self, live: LiveRun) -> None:
        self._live = live
        self.run_again.disabled, self.stop.disabled = True, False
        self.panel.started(live)

    def finished(self, live: LiveRun, record: RunRecord) -> None:
        self.panel.finished(live, record)
        self.records.append(record)
        if self._handle is not None:
            bundle = {VIEW_MIME: self.box._repr_mimebundle_()[VIEW_MIME], **readable(record, live)}
            self._handle.update(bundle, raw=True)
        self.on_record(record)
        self._live = None
        self.run_again.disabled, self.stop.disabled = False, True
