"""The engine: plan a run, stream it, account for it, record it. No IPython, no widgets."""
from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from opus_magic.config import SIMULATOR
from opus_magic.core.outcome import interruption
from opus_magic.core.plan import Plan
from opus_magic.cost import pricing, tokens
from opus_magic.errors import RequestError, StoreError, StreamInterrupted, UsageError
from opus_magic.records import RunRecord, Usage
from opus_magic.store.sqlite import Store
from opus_magic.wire.client import Response, open_response, sdk_client
from opus_magic.wire.explain import Hold
from opus_magic.wire.retry import Breaker, Retrier, RetryPolicy
from opus_magic.wire.stream import StreamState, TextDelta

Clock = Callable[[], float]


class BudgetExceeded(UsageError):
    """Raised by a guard to stop a run whose running cost crossed the session budget."""


def new_run_id() -> str:
    return secrets.token_hex(6)


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


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
    sent_at: float | None = None  # when the request that answered was sent (after any back-off)

    def stop(self) -> None:
        """Cancel from any thread: a stream ends at once, what arrived is kept as `stopped`."""
        self.cancel.set()
        if self.response is not None:
            self.response.abort()

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
    def usage(self) -> Usage:
        """The server's usage once it arrived, else the estimate so far."""
        if self.state.usage is not None:
            return self.state.usage
        calibration, output = self.plan.calibration, self.counter.tokens
        return Usage(input_tokens=self.plan.input_tokens,
                     output_tokens=calibration.scale(output) if calibration else output)

    def costs(self) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
        """Input, output and total cost (exact once usage arrived, estimated before)."""
        usage, info = self.usage, self.plan.info
        total = pricing.usage_cost(usage, info)
        output = pricing.output_cost(usage.output_tokens, info, usage.input_tokens)
        if total is None or output is None:
            return None, None, None
        return total - output, output, total


class Observer(Protocol):
    """What a view or any other subscriber hears about a run."""

    def started(self, live: LiveRun) -> None: ...

    def delta(self, live: LiveRun, text: str) -> None: ...

    def waiting(self, live: LiveRun, seconds: float, reason: str) -> None:
        """A retry wait of `seconds` begins; then, with the same reason, each second of it (0:
        retrying now)."""

    def finished(self, live: LiveRun, record: RunRecord) -> None: ...


class Guard(Protocol):
    """Watches running costs (the session budget); raises BudgetExceeded to stop a run."""

    def enter(self, live: LiveRun) -> None:
        """Register a run and set `live.check_at`: the output token count to call `limit` at."""

    def limit(self, live: LiveRun) -> None:
        """Stop the run, or move the `check_at` of the runs in flight."""

    def leave(self, live: LiveRun, record: RunRecord) -> None: ...


class Engine:
    """Runs plans against endpoints and records every outcome in the store."""

    def __init__(self, store: Store | None, clock: Clock = time.monotonic,
                 guard: Guard | None = None, retrier: Retrier | None = None) -> None:
        self.store = store
        self.clock = clock
        self.guard = guard
        self.retrier = retrier or Retrier(RetryPolicy(), Breaker("the endpoint"))

    def connect(self, plan: Plan, live: LiveRun, observer: Observer,
                cancel: threading.Event) -> Response:
        """Open the response, retrying what retrying can fix; the observer hears of every wait,
        as it begins and then each second of it."""
        hold = Hold(plan.model_id, plan.input_tokens, plan.max_tokens, plan.info)
        reason = ""

        def waiting(seconds: float, why: str) -> None:
            nonlocal reason
            reason = why
            live.retries.append(f"{why}: waited {seconds:.1f} s and retried.")
            observer.waiting(live, seconds, why)

        def send() -> Response:
            live.sent_at = self.clock()
            return open_response(plan.endpoint, plan.body, plan.timeout_s, hold)

        return self.retrier.call(send, waiting, cancel,
                                 lambda left: observer.waiting(live, left, reason))

    def execute(self, plan: Plan, observer: Observer,
                cancel: threading.Event | None = None) -> RunRecord:
        """Stream one plan to the end (or the first failure) and return its record."""
        cancel = cancel or threading.Event()
        sdk_client(plan.endpoint, plan.timeout_s)  # SDK import and set-up are not the model's latency
        live = LiveRun(plan, new_run_id(), now_iso(), self.clock(),
                       tokens.TokenCounter(plan.model_id), cancel=cancel,
                       simulator=plan.endpoint.name == SIMULATOR)
        observer.started(live)
        error: str | None = None
        billed = True
        response: Response | None = None
        try:
            if self.guard is not None:
                self.guard.enter(live)
            response = live.response = self.connect(plan, live, observer, cancel)
            live.simulator = live.simulator or response.simulator
            if cancel.is_set():
                live.status = "stopped"
            elif plan.request.stream:
                self._consume(live, response, observer, cancel)
            else:
                self._apply(live, response.json(), observer)
        except KeyboardInterrupt:
            live.status = "stopped"
        except BudgetExceeded as exc:
            live.status, live.stop_reason, error = "stopped", "budget", str(exc)
        except StreamInterrupted as exc:
            if cancel.is_set():  # Stop ended the stream by closing its connection
                live.status = "stopped"
            else:
                live.status, error = "interrupted", interruption(str(exc), live.counter.tokens)
        except RequestError as exc:
            live.status = "stopped" if cancel.is_set() else "error"
            error = None if cancel.is_set() else str(exc)
            billed = exc.code == "timeout"  # refused, unreachable or never sent: nothing to pay
        finally:
            if response is not None:
                response.close()
        live.ended = self.clock()
        record = self._record(live, error, billed)
        if self.guard is not None:
            self.guard.leave(live, record)
        if self.store is not None:
            try:
                self.store.save(record)
            except StoreError as exc:
                record.notes.append(f"{exc} The run is still in opus_magic.last_run().")
        observer.finished(live, record)
        return record

    def _consume(self, live: LiveRun, response: Response, observer: Observer,
                 cancel: threading.Event) -> None:
        for chunk in response.chunks():
            if cancel.is_set():
                break
            self._apply(live, chunk, observer)
        if cancel.is_set() and live.state.finish_reason is None:  # Stop closed the stream early
            live.status = "stopped"

    def _apply(self, live: LiveRun, chunk: dict[str, Any], observer: Observer) -> None:
        for event in live.state.handle_chunk(chunk):
            if isinstance(event, TextDelta):
                if live.first_token_at is None:
                    live.first_token_at = self.clock()
                live.counter.add(event.text)
                if live.check_at is not None and live.counter.tokens >= live.check_at:
                    assert self.guard is not None
                    self.guard.limit(live)
                observer.delta(live, event.text)

    def _record(self, live: LiveRun, error: str | None, billed: bool = True) -> RunRecord:
        plan, state = live.plan, live.state
        status = live.status
        if status == "running":
            cause = (f"The endpoint reported an error mid-stream ({state.error})" if state.error
                     else "The stream ended without a finish reason" if state.finish_reason is None
                     else None)
            status = "ok" if cause is None else "interrupted"
            error = None if cause is None else interruption(cause, live.counter.tokens)
        live.status = status
        usage = live.usage if billed else Usage()
        cost = pricing.usage_cost(usage, plan.info) if billed else Decimal(0)
        source = ("catalog" if live.exact else "estimate") if billed else "not billed"
        if state.provider_cost is not None:
            cost, source = Decimal(str(state.provider_cost)), "provider"
        if cost is None:
            source = "unknown"
        request = plan.request
        return RunRecord(
            id=live.id, created_at=live.created_at, model=request.model, prompt=request.prompt,
            messages=plan.messages, response_model=state.response_model,
            endpoint=plan.endpoint.base_url,
            params=_params(plan, live), text=state.text, status=status,
            finish_reason=state.finish_reason, usage=usage, cost=cost,
            cost_exact=(live.exact or not billed) and cost is not None, cost_source=source,
            ttft_s=live.ttft_s,
            duration_s=(live.ended or live.started) - live.started, error=error, tag=request.tag,
            max_tokens=plan.max_tokens, concise=request.concise,
            comparison_id=request.comparison_id, parent_id=request.parent_id,
            notes=list(plan.warnings))


def _params(plan: Plan, live: LiveRun) -> dict[str, Any]:
    params = {k: v for k, v in plan.body.items() if k not in ("messages", "stream_options", "tools")}
    params.update(profile=plan.endpoint.name, simulator=live.simulator,
                  input_tokens_estimate=plan.input_tokens)
    if live.exact:
        params.update(tiktoken_input=plan.counted_tokens, tiktoken_output=live.counter.tokens)
    if plan.calibration is not None:
        params["calibration"] = str(plan.calibration)
    if plan.tool_tokens:
        params["tool_tokens"] = plan.tool_tokens
    if live.stop_reason:
        params["stop_reason"] = live.stop_reason
    if plan.request.tools:
        params["tools"] = [t.get("function", {}).get("name") for t in plan.request.tools]
    if live.state.tool_calls:
        params["tool_calls"] = live.state.tool_calls
    if live.retries:
        params["retries"] = live.retries
    return params
