"""What a run view shows, computed from the live run (pure), and the throttle on pushing it."""
from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass

from opus_magic.core.run.attach.report import record_chips
from opus_magic.core.run.caching import cache_line
from opus_magic.core.run.engine import LiveRun
from opus_magic.core.run.outcome import outcome_lines
from opus_magic.core.run.plan import Plan
from opus_magic.records import RunRecord
from opus_magic.view import format as fmt
from opus_magic.view.run.chips import chips_lines
from opus_magic.view.run.text import summary_line

PREVIEW_LINES = 8  # of a long answer's start, in the short text/plain kept for saved notebooks
PREVIEW_CHARS = 600


@dataclass(frozen=True)
class Meter:
    """The cost meter's figures, already formatted; `exact` once the server's usage arrived."""

    input_cost: str
    output_cost: str
    total_cost: str
    tokens: str
    rate: str
    ttft: str
    exact: bool
    basis: str = ""  # what an estimate rests on where tiktoken is scaled: `tiktoken × 1.3`


@dataclass(frozen=True)
class Snapshot:
    """Everything one render shows, except the answer text (which is pushed incrementally)."""

    model: str
    status: str
    label: str
    simulator: bool
    meter: Meter
    warnings: tuple[str, ...]
    outcome: tuple[str, ...] = ()
    summary: str | None = None
    thinking: tuple[str, str] | None = None  # (title, text) of the thinking Claude showed
    notes: tuple[str, ...] = ()  # pre-flight lines worth a glance: what the cache marks


def plan_notes(plan: Plan) -> tuple[str, ...]:
    """The pre-flight caching line of a run that marks a prompt cache: what is marked, what the
    write costs above plain input, and from which call it pays off."""
    cache = plan.cache
    if cache is None or not cache.breakpoints:
        return ()
    return (cache_line(cache, plan.info, plan.input_tokens),)


def snapshot(live: LiveRun, now: float, record: RunRecord | None = None) -> Snapshot:
    """The view's state: while streaming from the live run at `now`, at the end from the record."""
    model = live.state.response_model or live.plan.model_id
    model = f"{model} ({live.plan.legacy})" if live.plan.legacy else model
    if record is None:
        status = "running"
        label = "waiting for the first token" if live.first_token_at is None else "streaming"
        outcome: tuple[str, ...] = ()
        summary = None
    else:
        status = record.status
        label = fmt.end_state(record)
        outcome = tuple(outcome_lines(record, live.plan.info))
        summary = summary_line(record)
    return Snapshot(model, status, label, live.simulator, meter(live, now, record),
                    live.plan.warnings, outcome, summary, thinking(live, record),
                    plan_notes(live.plan))


def thinking(live: LiveRun, record: RunRecord | None = None) -> tuple[str, str] | None:
    """The thinking part's title and text: tokens shown so far, then (once usage arrived) the
    tokens billed, which the summary Claude shows can be far shorter than."""
    if not live.thinking_text:
        return None
    shown = live.thinking_counter.tokens if live.thinking_counter else 0
    billed = (record.usage if record is not None else live.usage).thinking_tokens
    if billed:
        title = (f"thinking · {billed:,} tokens billed as output ({shown:,} shown: a summary)")
    else:
        title = f"thinking · {shown:,} tokens so far (a summary; the billed count comes at the end)"
    return title, live.thinking_text


def meter(live: LiveRun, now: float, record: RunRecord | None = None) -> Meter:
    """Input, output and total cost, tokens, tokens/s (over half a second at least) and TTFT."""
    usage = live.usage
    input_cost, output_cost, total = live.costs()
    exact, source = live.exact, None
    if record is not None:  # the tokens and cost the summary and the history give, once ended
        usage = record.usage
        total, exact, source = record.cost, record.cost_exact, record.cost_source
    estimated = not exact
    end = now if live.ended is None else live.ended
    window = None if live.first_token_at is None else end - live.first_token_at
    return Meter(input_cost=fmt.money(input_cost, estimated, source),
                 output_cost=fmt.money(output_cost, estimated, source),
                 total_cost=fmt.money(total, estimated, source),
                 tokens=f"{usage.input_tokens:,} in · {usage.output_tokens:,} out"
                 + (f" ({usage.thinking_tokens:,} thinking)" if usage.thinking_tokens else ""),
                 rate=fmt.rate(usage.output_tokens, window), ttft=fmt.seconds(live.ttft_s),
                 exact=exact, basis=_basis(live) if estimated else "")


def _basis(live: LiveRun) -> str:
    calibration = live.plan.calibration
    return calibration.basis if calibration is not None else ""


def readable(record: RunRecord, live: LiveRun) -> dict[str, str]:
    """For saved notebooks: all of the answer as text/markdown, a short preview as text/plain."""
    first = model_line(record, live)
    legacy = [first] if first else []
    notes = [*chips_lines(record_chips(record, live.plan.info)), *plan_notes(live.plan),
             *(f"! {w}" for w in live.plan.warnings)]
    ends = [f"! {line}" for line in outcome_lines(record, live.plan.info)]
    summary = summary_line(record)
    shown = thinking(live, record)
    title = [f"▸ {shown[0]}"] if shown else []
    plain = "\n".join([*legacy, *notes, *title, *preview(record.text), "", *ends,
                       summary]).strip("\n")
    folded = (f"<details><summary>{html.escape(shown[0])}</summary>\n\n"
              f"{html.escape(shown[1], quote=False)}\n\n</details>") if shown else ""
    markdown = "\n\n".join(part for part in (
        f"**{_markdown_safe(first)}**" if first else "", _quote(notes), folded, record.text,
        _quote(ends), f"*{_markdown_safe(summary)}*") if part)
    return {"text/plain": plain, "text/markdown": markdown}


def model_line(record: RunRecord, live: LiveRun) -> str | None:
    """The model with its legacy note, for a run on a model a newer one replaces; else None."""
    legacy = live.plan.legacy
    return f"{record.response_model or record.model} ({legacy})" if legacy else None


def preview(text: str, lines: int = PREVIEW_LINES, chars: int = PREVIEW_CHARS) -> list[str]:
    """A long answer's first lines and its last, with how much lies between (a short one whole)."""
    if len(text) <= 2 * chars:
        return text.splitlines()
    head = text[:chars].splitlines()[:lines]
    last = text.rstrip("\n").rsplit("\n", 1)[-1][-chars:]
    left = max(len(text) - sum(len(line) + 1 for line in head) - len(last), 0)
    return [*head, f"… {left:,} more characters …", last]


def _quote(lines: list[str]) -> str:
    return "\n>\n".join(f"> {_markdown_safe(line)}" for line in lines)


def _markdown_safe(text: str) -> str:
    """Our own lines in Markdown: `$` would start maths, `*`/`_` emphasis."""
    for char in "\\`*_$<>[]":
        text = text.replace(char, "\\" + char)
    return text


class Throttle:
    """Says when to push the view: pushes are spaced by `interval_s` per message they sent.

    So a view sends about one message per interval however fast tokens arrive and however many
    widgets a push touches; the final push is always made. `due()` runs once per chunk, so it
    checks a call counter before reading the clock; while pushes are refused the clock is read
    ever less often (every 1, 2, 4 … `max_stride` calls).
    """

    def __init__(self, interval_s: float = 0.1, clock: Callable[[], float] = time.monotonic,
                 max_stride: int = 8) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self.max_stride = max_stride
        self.pushes = 0
        self._last = 0.0
        self._next: float | None = None
        self._calls = 0
        self._stride = 1

    def due(self) -> bool:
        self._calls += 1
        if self._calls < self._stride:
            return False
        self._calls = 0
        now = self.clock()
        if self._next is not None and now < self._next:
            self._stride = min(self._stride * 2, self.max_stride)
            return False
        self.mark(now)
        return True

    def mark(self, now: float | None = None) -> None:
        """Record a push made now (the final one, or one `due()` allowed)."""
        self._last = self.clock() if now is None else now
        self._next = self._last + self.interval_s
        self._stride = 1
        self._calls = 0
        self.pushes += 1

    def owe(self, messages: int) -> None:
        """A push made ahead of its turn (the first words of an answer): the next one waits for
        that turn plus the messages this one sent, so the rate stays what it was."""
        now = self.clock()
        turn = now if self._next is None else max(self._next, now)
        self._last, self._next = now, turn + max(messages, 1) * self.interval_s
        self._stride, self._calls = 1, 0
        self.pushes += 1

    def spent(self, messages: int) -> None:
        """The push just made sent this many messages: the next waits as many intervals."""
        self._next = self._last + max(messages, 1) * self.interval_s
