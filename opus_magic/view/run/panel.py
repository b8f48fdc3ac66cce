"""One run as live widgets: header, notes, streaming text, retry line, meter and outcome."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from opus_magic.core.run.attach.report import Chip, plan_chips
from opus_magic.core.run.engine import Clock, LiveRun, Observer
from opus_magic.records import RunRecord
from opus_magic.view import format as fmt
from opus_magic.view.run.chips import chips_html
from opus_magic.view.run.html import (
    header_html,
    lines_html,
    meter_html,
    notes_html,
    outcome_html,
    stream_html,
    thinking_html,
)
from opus_magic.view.run.segments import Segments
from opus_magic.view.run.state import Snapshot, Throttle, snapshot

MESSAGES_PER_S = 8  # widget messages a streaming view sends per second, on average
METER_INTERVAL_S = 0.5  # while streaming the meter is redrawn at most this often


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
    return f"3px solid {fmt.STATUS_COLOURS[status]}"


class RunPanel(Observer):
    """One run as widgets (header, warnings, text, retry line, meter, outcome): an engine Observer.

    Per chunk `delta` only appends to a list. A push sends what arrived to the plain `tail`; as
    Markdown blocks complete (`Segments`) they move into a new widget rendered as Markdown, so the
    answer reaches the frontend about once, and the end sends only what was still in the tail.
    Pushes are spaced by the messages they send (`Throttle`), the meter is redrawn at most every
    `METER_INTERVAL_S`, and unchanged values are not sent. The parts share one layout and style.
    The run's attachments show as chips above its warnings.
    """

    chips: tuple[Chip, ...] = ()  # the attachments of the run shown

    def __init__(self, clock: Clock = time.monotonic, interval_s: float = 1 / MESSAGES_PER_S,
                 text_height: str | None = None, hands_over: bool = False,
                 **box_layout: str) -> None:
        """`text_height` makes a column: meter on top, the text scrolling at that height;
        `hands_over` says a static rendering replaces the widgets when a run ends."""
        import ipywidgets as w

        self.clock, self.hands_over = clock, hands_over
        self.throttle = Throttle(interval_s, clock)
        self.header = part(w.HTML, "opus-header")
        shared = {"layout": self.header.layout, "style": self.header.style}
        self.warnings = part(w.HTML, "opus-warnings", **shared)
        self.tail = part(w.HTML, "opus-text-stream", **shared)
        # finished parts in a box of their own: appending one leaves the tail's view in place
        self.text = part(w.VBox, "opus-text", layout=self.header.layout)
        self.retry = part(w.HTML, "opus-retry", **shared)
        # Claude's thinking, collapsed: made when some arrives (native API only)
        self.thinking_text: Any = None
        self.thinking_part: Any = None
        self.meter = part(w.HTML, "opus-meter", **shared)
        self.outcome = part(w.HTML, "opus-outcome", **shared)
        self._status = "running"
        self.compact = text_height is not None
        parts = [self.header, self.warnings, self.text, self.tail, self.retry, self.meter,
                 self.outcome]
        self._answer: Any = None
        if text_height is not None:  # column-reverse keeps the scroll at the newest text
            answer = self._answer = part(w.VBox, "opus-answer", children=(self.text, self.tail))
            scroller = part(w.VBox, "opus-scroll", children=(answer,), layout=w.Layout(
                height=text_height, overflow="auto", flex_flow="column-reverse"))
            parts = [self.header, self.meter, scroller, self.warnings, self.retry, self.outcome]
        self.box = w.VBox(parts, _dom_classes=("opus-run", "opus-status-running"),
                          layout=w.Layout(border_left=border("running"), **box_layout))
        self.live: LiveRun | None = None
        self.record: RunRecord | None = None
        self.segments = Segments()
        self._pending: list[str] = []
        self._label, self._redraw_at = "", 0.0
        self._thought = False  # thinking arrived since the last push
        self._answering = False  # some of the answer was shown

    def started(self, live: LiveRun) -> None:
        self.live, self.record = live, None
        self.segments, self._pending, self._answering = Segments(), [], False
        old = self.text.children
        self.text.children = ()
        for widget in old:
            widget.close()
        if self.thinking_part is not None:  # a rerun thinks afresh
            home = self._answer if self._answer is not None else self.box
            home.children = tuple(c for c in home.children if c is not self.thinking_part)
            self.thinking_part.close()
            self.thinking_part = self.thinking_text = None
        self.throttle.mark()
        now = self.clock()
        self.chips = plan_chips(live.plan)
        self.throttle.spent(assign(self.tail, "") + self.render(snapshot(live, now)))
        self._redraw_at = now + METER_INTERVAL_S

    def delta(self, live: LiveRun, text: str) -> None:
        self._pending.append(text)
        if not self._answering:  # the first words show at once, ahead of the throttle's turn
            self._answering = True
            self.throttle.owe(self.push())
        elif self.throttle.due():
            self.throttle.spent(self.push())

    def stream_closed(self, live: LiveRun) -> None:
        """The stream is over: when the record must wait for the tokenizer (a first run), show now
        what the throttle held back; otherwise the record follows at once and shows it all."""
        if self._pending and not live.counted:
            self.throttle.mark()
            self.throttle.spent(self.push())

    def thinking(self, live: LiveRun, text: str) -> None:
        """A piece of thinking: shown on the next push, like the answer's text."""
        self._thought = True
        if self.throttle.due():
            self.throttle.spent(self.push())

    def _show_thinking(self, snap: Snapshot) -> int:
        """The thinking part's title (tokens so far, then billed) and text; sent when changed."""
        self._thought = False
        if snap.thinking is None:
            return 0
        title, text = snap.thinking
        sent = 0
        if self.thinking_part is None:
            self._add_thinking_part()
            sent += 3
        if tuple(self.thinking_part.titles) != (title,):
            self.thinking_part.titles = (title,)
            sent += 1
        return sent + assign(self.thinking_text, thinking_html(text))

    def _add_thinking_part(self) -> None:
        """The collapsed thinking part, above the answer (in a column, atop its scroller)."""
        import ipywidgets as w

        self.thinking_text = part(w.HTML, "opus-thinking-text", layout=self.header.layout,
                                  style=self.header.style)
        self.thinking_part = part(w.Accordion, "opus-thinking", children=(self.thinking_text,),
                                  selected_index=None, layout=self.header.layout)
        home = self._answer if self._answer is not None else self.box
        place = 0 if self._answer is not None else list(home.children).index(self.text)
        children = list(home.children)
        children.insert(place, self.thinking_part)
        home.children = tuple(children)

    def waiting(self, live: LiveRun, seconds: float, reason: str) -> None:
        """A retry wait begins or goes on: the engine says so each second, the line counts down."""
        if not self.retry.value:
            self.throttle.spent(self.push())
        when = f"retrying in {seconds:.0f} s" if seconds >= 0.5 else "retrying now"
        assign(self.retry, lines_html((f"… {reason}: {when}",), "opus-retry-line",
                                      fmt.colour("interrupted")))

    def finished(self, live: LiveRun, record: RunRecord) -> None:
        """The rest of the answer as Markdown in place of the tail, and the final state.

        When the view hands over, the text stays as it stands: the static rendering is about to
        replace the widgets, and re-rendering the last part first would blank it for a moment.
        """
        self.record = record
        rest = self.segments.tail + "".join(self._pending)
        self._pending = []
        assign(self.retry, "")
        if rest and not self.hands_over:
            self.text.children = (*self.text.children, self._rendered(rest))
            assign(self.tail, "")
        self.throttle.mark()
        snap = snapshot(live, self.clock(), record)
        self._show_thinking(snap)
        self.render(snap)

    def push(self) -> int:
        """Send what arrived since the last push (and the meter when due); how many messages."""
        if self.live is None:
            return 0
        sent = self._append("".join(self._pending)) if self._pending else 0
        self._pending = []
        if self.retry.value:
            sent += assign(self.retry, "")
        now = self.clock()
        snap = snapshot(self.live, now)
        if self._thought:
            sent += self._show_thinking(snap)
        if now >= self._redraw_at:
            sent += self.render(snap)
            self._redraw_at = now + METER_INTERVAL_S
        elif snap.label != self._label:  # the first token: the header says so at once
            sent += assign(self.header, header_html(snap))
            self._label = snap.label
        return sent

    def _append(self, text: str) -> int:
        done = self.segments.add(text)
        sent = 0
        if done:
            self.text.children = (*self.text.children, self._rendered(done))
            sent = 1
        return sent + assign(self.tail, stream_html(self.segments.open, self.segments.settled))

    def _rendered(self, markdown: str) -> Any:
        """A finished part of the answer, rendered once by the frontend's Markdown renderer."""
        import ipywidgets as w

        return part(w.Output, "opus-text-final", layout=self.header.layout, outputs=(
            {"output_type": "display_data", "metadata": {}, "data": {"text/markdown": markdown}},))

    def render(self, snap: Snapshot) -> int:
        """Map one snapshot onto the widgets; returns how many messages that sent."""
        sent = (assign(self.header, header_html(snap))
                + assign(self.warnings, chips_html(self.chips, brief=self.compact)
                         + notes_html(snap))
                + assign(self.meter, meter_html(snap.meter, self.compact))
                + assign(self.outcome, outcome_html(snap, self.compact)))
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
        self.outcome.value = lines_html((message,), "opus-problem", fmt.colour("error"))
        if self.live is None:  # nothing ran in this panel yet
            self._show_status("error")


