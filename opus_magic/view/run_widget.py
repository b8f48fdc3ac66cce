"""The live widget view of a run: streaming text, cost meter, status, and the controls to rerun it."""
from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

from opus_magic.config import Settings
from opus_magic.core.engine import Clock, LiveRun
from opus_magic.core.plan import Plan
from opus_magic.core.session import Session
from opus_magic.errors import OpusError
from opus_magic.records import RunRecord
from opus_magic.view.run_state import (
    STATUS_COLORS,
    Snapshot,
    Throttle,
    header_html,
    lines_html,
    meter_html,
    readable,
    snapshot,
    stream_html,
)
from opus_magic.view.segments import Segments

MESSAGES_PER_S = 8  # widget messages a streaming view sends per second, on average
METER_INTERVAL_S = 0.5  # while streaming the meter is redrawn at most this often
UNBOUNDED_MAX_TOKENS = 10_000_000
CONCISE_OPTIONS = (("off", "off"), ("concise", "concise"), ("code only", "code"))
VIEW_MIME = "application/vnd.jupyter.widget-view+json"

Launch = Callable[[Callable[[], Any], Callable[[], None]], None]  # launch(work, stop)


def part(kind: Callable[..., Any], css: str, **traits: Any) -> Any:
    """A widget whose opening message carries its CSS class (`add_class` would send one more)."""
    return kind(_dom_classes=(css,), **traits)


def assign(widget: Any, value: str) -> int:
    """Set a widget's value; returns how many messages that sent (none when it is unchanged)."""
    if widget.value == value:
        return 0
    widget.value = value
    return 1


def border(status: str) -> str:
    """The run box's left border, in its status's colour."""
    return f"3px solid {STATUS_COLORS[status]}"


class RunPanel:
    """One run as widgets (header, warnings, text, retry line, meter, outcome): an engine Observer.

    Per chunk `delta` only appends to a list. A push sends what arrived to the plain `tail`; as
    Markdown blocks complete (`Segments`) they move into a new widget rendered as Markdown, so the
    answer reaches the frontend about once, and the end sends only what was still in the tail.
    Pushes are spaced by the messages they send (`Throttle`), the meter is redrawn at most every
    `METER_INTERVAL_S`, and unchanged values are not sent. The parts share one layout and style.
    """

    def __init__(self, clock: Clock = time.monotonic, interval_s: float = 1 / MESSAGES_PER_S,
                 **box_layout: str) -> None:
        import ipywidgets as w

        self.clock = clock
        self.throttle = Throttle(interval_s, clock)
        self.header = part(w.HTML, "opus-header")
        shared = {"layout": self.header.layout, "style": self.header.style}
        self.warnings = part(w.HTML, "opus-warnings", **shared)
        self.tail = part(w.HTML, "opus-text-stream", **shared)
        self.text = part(w.VBox, "opus-text", children=(self.tail,), layout=self.header.layout)
        self.retry = part(w.HTML, "opus-retry", **shared)
        self.meter = part(w.HTML, "opus-meter", **shared)
        self.outcome = part(w.HTML, "opus-outcome", **shared)
        self._status = "running"
        self.box = w.VBox([self.header, self.warnings, self.text, self.retry, self.meter,
                           self.outcome], _dom_classes=("opus-run", "opus-status-running"),
                          layout=w.Layout(border_left=border("running"), **box_layout))
        self.live: LiveRun | None = None
        self.record: RunRecord | None = None
        self.segments = Segments()
        self._pending: list[str] = []
        self._label = ""
        self._redraw_at = 0.0
        self._countdown = threading.Event()
        self._lock = threading.Lock()

    def started(self, live: LiveRun) -> None:
        self.live, self.record = live, None
        self.segments, self._pending = Segments(), []
        old = [widget for widget in self.text.children if widget is not self.tail]
        self.text.children = (self.tail,)
        for widget in old:
            widget.close()
        self.throttle.mark()
        now = self.clock()
        self.throttle.spent(assign(self.tail, "") + self.render(snapshot(live, now)))
        self._redraw_at = now + METER_INTERVAL_S

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
        """The rest of the answer as Markdown in place of the tail, and the final state."""
        self.record = record
        rest = self.segments.tail + "".join(self._pending)
        self._pending = []
        self._end_countdown()
        done = tuple(widget for widget in self.text.children if widget is not self.tail)
        self.text.children = (*done, self._rendered(rest)) if rest else done
        self.throttle.mark()
        self.render(snapshot(live, self.clock(), record))

    def push(self) -> None:
        """Send what arrived since the last push (and the meter when due); tell the throttle."""
        if self.live is None:
            return
        sent = self._append("".join(self._pending)) if self._pending else 0
        self._pending = []
        if self.retry.value:
            sent += self._end_countdown()
        now = self.clock()
        snap = snapshot(self.live, now)
        if now >= self._redraw_at:
            sent += self.render(snap)
            self._redraw_at = now + METER_INTERVAL_S
        elif snap.label != self._label:  # the first token: the header says so at once
            sent += assign(self.header, header_html(snap))
            self._label = snap.label
        self.throttle.spent(sent)

    def _append(self, text: str) -> int:
        done = self.segments.add(text)
        sent = 0
        if done:
            self.text.children = (*self.text.children[:-1], self._rendered(done), self.tail)
            sent = 1
        return sent + assign(self.tail, stream_html(self.segments.tail))

    def _rendered(self, markdown: str) -> Any:
        """A finished part of the answer, rendered once by the frontend's Markdown renderer."""
        import ipywidgets as w

        return part(w.Output, "opus-text-final", layout=self.header.layout, outputs=(
            {"output_type": "display_data", "metadata": {}, "data": {"text/markdown": markdown}},))

    def _end_countdown(self) -> int:
        with self._lock:
            self._countdown.set()
            return assign(self.retry, "")

    def render(self, snap: Snapshot) -> int:
        """Map one snapshot onto the widgets; returns how many messages that sent."""
        color = "#24292f" if snap.status == "ok" else STATUS_COLORS[snap.status]
        summary = (snap.summary,) if snap.summary else ()
        sent = (assign(self.header, header_html(snap))
                + assign(self.warnings, lines_html(snap.warnings, "opus-warning",
                                                   STATUS_COLORS["interrupted"]))
                + assign(self.meter, meter_html(snap.meter))
                + assign(self.outcome, lines_html(snap.outcome, "opus-outcome-line", color)
                         + lines_html(summary, "opus-summary", "#57606a")))
        self._label = snap.label
        return sent + self._show_status(snap.status)

    def _show_status(self, status: str) -> int:
        if status == self._status:
            return 0
        with self.box.hold_sync():  # both class changes in one message
            self.box.remove_class(f"opus-status-{self._status}")
            self.box.add_class(f"opus-status-{status}")
        self.box.layout.border_left = border(status)
        self._status = status
        return 2

    def show_problem(self, message: str) -> None:
        """A one-line message in the outcome area (a run or rerun that could not be planned)."""
        self.outcome.value = lines_html((message,), "opus-problem", STATUS_COLORS["error"])
        if self.live is None:  # nothing ran in this panel yet
            self._show_status("error")


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
        layout = w.Layout()  # one model for every control
        self.max_tokens = part(
            w.BoundedIntText, "opus-max-tokens", value=plan.max_tokens, min=1,
            max=ceiling or UNBOUNDED_MAX_TOKENS, description="max_tokens", layout=layout,
            tooltip=f"at most {ceiling:,} for {plan.model_id}" if ceiling
            else "the model's ceiling is unknown")
        self.concise = part(w.ToggleButtons, "opus-concise", options=CONCISE_OPTIONS,
                            value=plan.request.concise, style={"button_width": "auto"},
                            layout=layout)
        self.run_again = part(w.Button, "opus-run-again", description="Run again", icon="redo",
                              disabled=True, layout=layout)
        self.stop = part(w.Button, "opus-stop", description="Stop", icon="stop",  # a run follows
                         button_style="danger", layout=layout, style=self.run_again.style)
        self.run_again.on_click(lambda _: self.again())
        self.stop.on_click(lambda _: self.cancel())
        self.controls = part(w.HBox, "opus-controls", layout=layout, children=(
            self.max_tokens, self.concise, self.run_again, self.stop))
        self.box = part(w.VBox, "opus-view", children=(self.panel.box, self.controls),
                        layout=layout)
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
        self._cancel = threading.Event()
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
