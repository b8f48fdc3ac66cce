"""A run in flight: the stream so far, timings, the cost meter; what views read while it streams."""
from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from decimal import Decimal

from opus_magic.core.run.plan import Plan, counted_now
from opus_magic.cost import pricing, tokens
from opus_magic.records import Usage
from opus_magic.wire.attempt import Stoppable
from opus_magic.wire.client import Response
from opus_magic.wire.stream import StreamState


@dataclass
class LiveRun:
    """The running state the views read: the stream so far, timings and the cost meter."""

    plan: Plan
    id: str
    created_at: str
    started: float
    counter: tokens.TokenCounter
    state: StreamState = field(default_factory=StreamState)
    first_token_at: float | None = None
    ended: float | None = None
    status: str = "running"
    simulator: bool = False
    check_at: int | None = None
    stop_reason: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    response: Response | None = None
    retries: list[str] = field(default_factory=list)
    thinking_counter: tokens.TokenCounter | None = None  # thinking shown so far, if any
    attempts: Stoppable = field(default_factory=Stoppable)
    sent_at: float | None = None  # when the request that answered was sent (after any back-off)
    cut: str | None = None  # why the stream ended early, when it was interrupted

    def stop(self) -> None:
        """Cancel from any thread: a stream ends at once, what arrived is kept as `stopped`; a
        request still waiting for the endpoint is abandoned."""
        self.cancel.set()
        self.attempts.stop()
        if self.response is not None:
            self.response.abort()

    def attach(self, response: Response) -> None:
        """The response whose headers just arrived; a Stop pressed meanwhile ends it now."""
        self.response = response
        if self.cancel.is_set():
            response.abort()

    @property
    def counted(self) -> bool:
        """Whether every count is tiktoken's already (nothing waits for the encoding)."""
        return not self.plan.provisional and all(
            c is None or c.counted_all for c in (self.counter, self.thinking_counter))

    def count_exactly(self) -> None:
        """Count with tiktoken what was guessed so the first words came sooner (the input of a
        provisional plan, output that arrived before the encoding was loaded)."""
        if self.plan.provisional:
            self.plan = counted_now(self.plan)
        self.counter.exact()
        if self.thinking_counter is not None:
            self.thinking_counter.exact()

    @property
    def ttft_s(self) -> float | None:
        """Time to first token from the request that answered: retry back-off is not latency."""
        if self.first_token_at is None:
            return None
        return self.first_token_at - (self.started if self.sent_at is None else self.sent_at)

    @property
    def exact(self) -> bool:
        return self.state.usage is not None

    @property
    def input_exact(self) -> bool:
        """The input side is the server's: on the native API from the first event on."""
        return self.exact or self.state.input_usage is not None

    @property
    def thinking_text(self) -> str:
        """The thinking Claude showed so far: a summary of what it billed as thinking tokens."""
        return self.state.thinking_text

    @property
    def usage(self) -> Usage:
        """The server's usage once it arrived, else the estimate so far (its input side exact
        once the server reported it). The output estimate never passes max_tokens: no server
        bills more, and the budget admitted the run at that worst case."""
        if self.state.usage is not None:
            return self.state.usage
        calibration, output = self.plan.calibration, self.counter.tokens
        base = self.state.input_usage or Usage(input_tokens=self.plan.input_tokens)
        scaled = calibration.scale(output) if calibration else output
        return dataclasses.replace(base, output_tokens=min(scaled, self.plan.max_tokens))

    def costs(self) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
        """Input, output and total cost (exact once usage arrived, estimated before)."""
        usage, info = self.usage, self.plan.info
        mode = pricing.served_mode(self.state.served)
        total = pricing.usage_cost(usage, info, mode)
        output = pricing.output_cost(usage.output_tokens, info, usage.input_tokens, mode)
        if total is None or output is None:
            return None, None, None
        return total - output, output, total
