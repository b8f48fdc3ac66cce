"""A tool loop as text: each step's calls, results and summary line as it ends, then the
loop's totals and what its tools cost it; the same lines for saved notebooks and `%opus show`."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

from opus_magic.core.run.engine import LiveRun
from opus_magic.core.run.outcome import outcome_lines
from opus_magic.core.run.preflight import preflight_lines
from opus_magic.core.tools.chain import Chain, Step, total_cost, total_usage
from opus_magic.core.tools.cost import Overhead, overhead, worst_case_line
from opus_magic.core.tools.loop import ChainObserver
from opus_magic.core.tools.runner import ToolCall, ToolResult, calls_of
from opus_magic.records import RunRecord
from opus_magic.view import format as fmt
from opus_magic.view.run.text import summary_line

RESULT_CHARS = 160  # of a result, on its line
MARKS = {"ok": "←", "error": "✗", "timeout": "⏱", "declined": "⊘", "not run": "–", "shown": "–"}


def call_line(call: ToolCall) -> str:
    return f"→ {call.shown()}"


def result_line(result: ToolResult) -> str:
    """`← get_weather: Lisbon: 18 °C (0.01 s)`; a failure says how it failed."""
    text = " ".join(result.content.split())
    text = text if len(text) <= RESULT_CHARS else text[:RESULT_CHARS - 1] + "…"
    took = f" ({fmt.seconds(result.duration_s)})" if result.duration_s is not None else ""
    how = {"error": " raised", "timeout": " timed out"}.get(result.status, "")
    return f"{MARKS.get(result.status, '←')} {result.name}{how}: {text or '(nothing)'}{took}"


def server_lines(content: Sequence[dict[str, Any]]) -> list[str]:
    """The server's own tool calls in an answer: `⌕ web_search(query='…') → 3 results`."""
    lines = []
    for block in content:
        if block.get("type") == "server_tool_use":
            given = ", ".join(f"{k}={v!r}" for k, v in (block.get("input") or {}).items())
            lines.append(f"⌕ {block.get('name')}({given}) on the server")
        elif str(block.get("type", "")).endswith("_tool_result") and block.get("type") != (
                "tool_result"):
            found = block.get("content")
            lines.append(f"  → {len(found)} results" if isinstance(found, list) else
                         "  → fetched" if isinstance(found, dict) and "error_code" not in found
                         else f"  → failed: {(found or {}).get('error_code', 'error')}")
    return lines


def step_lines(step: Step) -> list[str]:
    """A finished step: its summary, the server's tool calls, its calls and their results."""
    record = step.record
    if record is None:
        return []
    content = step.live.state.content if step.live is not None else []
    lines = [f"step {step.number}: {summary_line(record)}", *server_lines(content)]
    results = {result.id: result for result in step.results}
    for call in step.calls:
        lines.append(call_line(call))
        if call.id in results:
            lines.append(result_line(results[call.id]))
    return lines


def totals_line(chain: Chain) -> str:
    """The loop's calls, tokens and cost, and its tools' share of the cost."""
    records = chain.records
    usage, cost = total_usage(records), total_cost(records)
    exact = all(record.cost_exact for record in records)
    calls = sum(len(step.calls) for step in chain.steps)
    line = (f"Tool loop {chain.id}: {len(records)} model calls, {calls} tool calls · "
            f"{usage.input_tokens:,} in / {usage.output_tokens:,} out · "
            f"{fmt.money(cost, not exact)}")
    shares = overhead([(step.plan.tool_tokens, step.plan.info, step.record)
                       for step in chain.steps if step.record])
    return line + (f" · {shares.line()}" if shares else "")


def chain_end_lines(chain: Chain) -> list[str]:
    """Why the loop stopped early (if it did), then its totals."""
    stop = [f"! Stopped: {chain.stop}."] if chain.stop else []
    return [*stop, totals_line(chain)]


class ChainTextView(ChainObserver):
    """Streams each step's text, prints its calls and results as they come, then the totals."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self._wrote = False

    def _print(self, *lines: str) -> None:
        self.out.write("".join(f"{line}\n" for line in lines))
        self.out.flush()

    def step(self, chain: Chain, step: Step) -> None:
        if step.number == 1:
            self._print(*preflight_lines(step.plan),
                        worst_case_line(step.plan, chain.settings.max_steps),
                        *(f"! {warning}" for warning in step.plan.warnings))
        self._print(f"── step {step.number} of at most {chain.settings.max_steps}")

    def delta(self, live: LiveRun, text: str) -> None:
        if live.plan.request.stream:
            self.out.write(text)
            self._wrote = True

    def finished(self, live: LiveRun, record: RunRecord) -> None:
        if not self._wrote and record.text:
            self.out.write(record.text)
            self._wrote = True
        if self._wrote:
            self.out.write("\n")
        self._wrote = False
        self._print(*server_lines(live.state.content),
                    *(f"! {line}" for line in outcome_lines(record, live.plan.info)),
                    f"step {record.step}: {summary_line(record)}")

    def calls(self, chain: Chain, step: Step) -> None:
        self._print(*(call_line(call) for call in step.calls))

    def result(self, chain: Chain, step: Step, result: ToolResult) -> None:
        self._print(result_line(result))

    def ended(self, chain: Chain) -> None:
        self._print(*chain_end_lines(chain))


def show_lines(steps: Sequence[RunRecord], shares: Overhead | None) -> list[str]:
    """`%opus show` of a run in a tool loop: the prompt, every step with its calls and results,
    the answer, the totals."""
    first, last = steps[0], steps[-1]
    lines = [f"Tool loop {first.chain_id}: {len(steps)} model calls"]
    lines += [f"--- {m['role']}\n{m.get('content')}" for m in first.messages]
    for record in steps:
        results = {str(r.get("id")): ToolResult.from_dict(r) for r in record.tool_results}
        lines.append(f"--- step {record.step}: {summary_line(record)}")
        if record.text and record is not last:
            lines.append(record.text)
        for call in calls_of(record.tool_calls):
            lines.append(call_line(call))
            if call.id in results:
                lines.append(result_line(results[call.id]))
    lines.append(f"--- assistant ({last.response_model or last.model})\n{last.text}")
    usage, cost = total_usage(steps), total_cost(steps)
    lines.append(f"Total: {usage.input_tokens:,} in / {usage.output_tokens:,} out · "
                 f"{fmt.money(cost, not all(r.cost_exact for r in steps))}"
                 + (f" · {shares.line()}" if shares else ""))
    return lines
