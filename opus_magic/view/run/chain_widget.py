"""A tool loop as live widgets: one run panel per model call, each followed by its tool calls
and their results as they come, the loop's totals with its tools' share, and a Stop button;
with --approve, each call waits for Approve or Decline. Static HTML once the loop is over."""
from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable
from typing import Any

from opus_magic.core.run.engine import Clock, LiveRun
from opus_magic.core.tools.chain import Chain, Step
from opus_magic.core.tools.cost import worst_case_line
from opus_magic.core.tools.loop import ChainObserver
from opus_magic.core.tools.runner import ToolCall, ToolResult
from opus_magic.records import RunRecord
from opus_magic.view import format as fmt
from opus_magic.view.live_only import LIVE_ONLY
from opus_magic.view.run.chain_text import (
    call_line,
    chain_end_lines,
    result_line,
    server_lines,
    step_lines,
)
from opus_magic.view.run.html import lines_html, run_html
from opus_magic.view.run.panel import RunPanel, part
from opus_magic.view.run.state import preview, snapshot
from opus_magic.view.run.widget import HIDDEN, widget_bundle

TOOL_STYLE = "font-family:var(--jp-code-font-family, monospace);font-size:0.92em"


def tools_html(lines: list[str]) -> str:
    """Tool calls and results, one a line, in the code font."""
    return "".join(f'<div class="opus-tool-line" style="{TOOL_STYLE};color:{fmt.TEXT}">'
                   f'{html.escape(line)}</div>' for line in lines)


class ChainView(ChainObserver):
    """The loop's steps as they run; Stop and approval call back into a controller."""

    def __init__(self, stop: Callable[[], None], handover: bool,
                 clock: Clock = time.monotonic) -> None:
        import ipywidgets as w

        self.handover, self.clock, self._stop = handover, clock, stop
        self.header = part(w.HTML, "opus-chain-header")
        self.steps = part(w.VBox, "opus-chain-steps")
        self.totals = part(w.HTML, "opus-chain-totals")
        self.question = part(w.HTML, "opus-approve-question")
        self.approve = part(w.Button, "opus-approve", description="Approve", icon="check",
                            button_style="success", tooltip="run this call")
        self.decline = part(w.Button, "opus-decline", description="Decline", icon="times",
                            tooltip="do not run it; the loop stops")
        self.asking = part(w.HBox, "opus-approval", children=(self.question, self.approve,
                                                               self.decline))
        self.asking.layout.display = "none"
        self.stop = part(w.Button, "opus-stop", description="Stop", icon="stop",
                         button_style="danger", tooltip="end the loop; what arrived is kept")
        self.stop.on_click(lambda _: self.cancel())
        self.approve.on_click(lambda _: self._answer(True))
        self.decline.on_click(lambda _: self._answer(False))
        self.controls = part(w.VBox, "opus-controls", children=(self.asking, self.stop))
        shown = (self.header, self.steps, self.totals) + (() if handover else (self.controls,))
        self.box = part(w.VBox, "opus-view opus-chain", children=shown)
        self.chain: Chain | None = None
        self.panels: list[RunPanel] = []
        self.tool_lines: list[Any] = []
        self._answered = threading.Event()
        self._approved = False
        self._main: Any = None
        self._bar: Any = None

    def show(self) -> None:
        from IPython.display import display

        self._main = display(widget_bundle(self.box, "tool loop: running (the answer appears "
                                                     "here at the end)"),
                             raw=True, display_id=True,
                             metadata=LIVE_ONLY if self.handover else None)
        if self.handover:
            self._bar = display(widget_bundle(self.controls, ""), raw=True, display_id=True,
                                metadata=LIVE_ONLY)

    def cancel(self) -> None:
        """Stop the loop: the step streaming ends, no further call is made."""
        self.stop.disabled, self.stop.button_style = True, ""
        self._answer(False)
        self._stop()

    @property
    def live(self) -> LiveRun | None:
        panel = self.panels[-1] if self.panels else None
        return panel.live if panel is not None and panel.record is None else None

    # the loop's events
    def step(self, chain: Chain, step: Step) -> None:
        import ipywidgets as w

        self.chain = chain
        if step.number == 1:
            notes = [worst_case_line(step.plan, chain.settings.max_steps)]
            self.header.value = (f'<b class="opus-model">{html.escape(step.plan.model_label)}'
                                 f'</b> · tool loop of at most {chain.settings.max_steps} calls'
                                 + lines_html(notes, "opus-warning", fmt.colour("note")))
        panel = RunPanel(self.clock, hands_over=self.handover)
        tools = part(w.HTML, "opus-chain-tools")
        self.panels.append(panel)
        self.tool_lines.append(tools)
        self.steps.children = (*self.steps.children, panel.box, tools)

    def started(self, live: LiveRun) -> None:
        self.panels[-1].started(live)

    def delta(self, live: LiveRun, text: str) -> None:
        self.panels[-1].delta(live, text)

    def thinking(self, live: LiveRun, text: str) -> None:
        self.panels[-1].thinking(live, text)

    def waiting(self, live: LiveRun, seconds: float, reason: str) -> None:
        self.panels[-1].waiting(live, seconds, reason)

    def stream_closed(self, live: LiveRun) -> None:
        self.panels[-1].stream_closed(live)

    def finished(self, live: LiveRun, record: RunRecord) -> None:
        self.panels[-1].finished(live, record)
        self.tool_lines[-1].value = tools_html(server_lines(live.state.content))

    def calls(self, chain: Chain, step: Step) -> None:
        self.tool_lines[-1].value += tools_html([call_line(call) for call in step.calls])

    def result(self, chain: Chain, step: Step, result: ToolResult) -> None:
        self.tool_lines[-1].value += tools_html([result_line(result)])

    def ended(self, chain: Chain) -> None:
        self.asking.layout.display = "none"
        self.totals.value = lines_html(chain_end_lines(chain), "opus-chain-total", fmt.TEXT)
        self.stop.disabled, self.stop.button_style = True, ""
        if self._main is not None:
            self._main.update(self.final_bundle(chain), raw=True)

    # approval, from the loop's thread
    def ask(self, call: ToolCall) -> bool:
        """Show the call with Approve and Decline, and wait for one (Stop declines)."""
        self._answered.clear()
        self.asking.layout.display = None
        self.question.value = (f'<span style="{TOOL_STYLE}">Run '
                               f'{html.escape(call.shown())}?</span>')  # last: the question is up
        self._answered.wait()
        self.asking.layout.display = "none"
        return self._approved

    def _answer(self, approved: bool) -> None:
        self._approved = approved
        self._answered.set()

    def final_bundle(self, chain: Chain) -> dict[str, Any]:
        """The ended loop for saved notebooks: each step as static HTML with its tool lines, the
        totals; the answer as Markdown and the lines as text."""
        steps_html = []
        for step, tools in zip(chain.steps, self.tool_lines):
            if step.live is not None and step.record is not None:
                snap = snapshot(step.live, self.clock(), step.record)
                steps_html.append(run_html(snap, step.record.text) + tools.value)
        end = chain_end_lines(chain)
        page = (f'<div class="opus-view opus-static opus-chain" style="color:{fmt.TEXT}">'
                f'{self.header.value}{"".join(steps_html)}'
                f'{lines_html(end, "opus-chain-total", fmt.TEXT)}</div>')
        final = chain.final
        answer = final.text if final is not None else ""
        plain = [line for step in chain.steps for line in step_lines(step)]
        readable = {"text/plain": "\n".join([*plain, *preview(answer), *end]),
                    "text/markdown": "\n\n".join([answer, *(f"*{html.escape(line)}*"
                                                             for line in end)])}
        if not self.handover:
            return {**widget_bundle(self.box, readable["text/plain"]), **readable}
        return {"text/html": page, **readable}

    def problem(self, message: str) -> None:
        """A loop that could not start (the budget, a refusal): one line in the view."""
        self.totals.value = lines_html((message,), "opus-problem", fmt.colour("error"))
        self.stop.disabled, self.stop.button_style = True, ""

    def retire(self) -> None:
        """Withdraw the controls when the kernel moves on (a saved notebook holds no widget)."""
        if self._bar is not None and self.live is None:
            self._bar.update(HIDDEN, raw=True, metadata=LIVE_ONLY)
            self._bar = None
