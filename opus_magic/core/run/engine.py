"""The engine: plan a run, stream it, account for it, record it. No IPython, no widgets."""
from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from opus_magic.config import SIMULATOR
from opus_magic.core.run.live import LiveRun
from opus_magic.core.run.plan import Plan
from opus_magic.core.run.recording import build_record
from opus_magic.cost import tokens
from opus_magic.errors import (
    BudgetStopped,
    NotRecorded,
    RequestError,
    StoreError,
    StreamInterrupted,
)
from opus_magic.records import RunRecord
from opus_magic.store.base import HistoryStore
from opus_magic.wire import client
from opus_magic.wire.anthropic.stream import ThinkingDelta
from opus_magic.wire.client import Response
from opus_magic.wire.explain import Hold
from opus_magic.wire.retry import Breaker, Retrier, RetryPolicy
from opus_magic.wire.stream import TextDelta, malformed

Clock = Callable[[], float]
# What reading an event of an unexpected shape raises (a list where an object was expected, a
# string where a number was): the server's data, not our code, so the answer is cut there.
UNREADABLE = (TypeError, ValueError, AttributeError, KeyError, IndexError, ArithmeticError)


def new_run_id() -> str:
    return secrets.token_hex(6)


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


class Observer:
    """What a view or any other subscriber hears about a run: override what it needs, in the
    order the engine calls them (started, then delta/thinking/waiting as they come,
    stream_closed, finished)."""

    def started(self, live: LiveRun) -> None:
        """The run begins; nothing has been sent yet."""

    def delta(self, live: LiveRun, text: str) -> None:
        """A piece of the answer arrived."""

    def thinking(self, live: LiveRun, text: str) -> None:
        """A piece of thinking text arrived (Claude's native API)."""

    def waiting(self, live: LiveRun, seconds: float, reason: str) -> None:
        """A retry wait of `seconds` begins; then, with the same reason, each second of it (0:
        retrying now)."""

    def stream_closed(self, live: LiveRun) -> None:
        """The stream is over; the record follows (after the tokenizer loads, on a first run)."""

    def finished(self, live: LiveRun, record: RunRecord) -> None:
        """The run's record, saved in the history (or kept in the session when it cannot be)."""


class Guard(Protocol):
    """Watches running costs (the session budget); raises BudgetStopped to stop a run."""

    def enter(self, live: LiveRun) -> None:
        """Register a run and set `live.check_at`: the output token count to call `limit` at."""

    def limit(self, live: LiveRun) -> None:
        """Stop the run, or move the `check_at` of the runs in flight."""

    def leave(self, live: LiveRun, record: RunRecord) -> None: ...


def save(store: HistoryStore, record: RunRecord) -> RunRecord:
    """The record saved; when the history cannot be written, kept in the session by the store
    (written once it can be) and marked with why."""
    try:
        store.save(record)
    except StoreError as exc:
        record.not_recorded = exc.reason if isinstance(exc, NotRecorded) else str(exc)
    return record


class Engine:
    """Runs plans against endpoints and records every outcome in the store; `fields` are set on
    each record before its first write (a grid cell's grid id, row and variant)."""

    def __init__(self, store: HistoryStore | None, clock: Clock = time.monotonic,
                 guard: Guard | None = None, retrier: Retrier | None = None,
                 fields: Mapping[str, Any] | None = None) -> None:
        self.store = store
        self.clock = clock
        self.guard = guard
        self.retrier = retrier or Retrier(RetryPolicy(), Breaker("the endpoint"))
        self.fields = dict(fields or {})

    def connect(self, plan: Plan, live: LiveRun, observer: Observer,
                cancel: threading.Event) -> Response:
        """Open the response, retrying what retrying can fix; the observer hears of every wait."""
        hold = Hold(plan.model_id, plan.input_tokens, plan.max_tokens, plan.info)
        transport = plan.transport
        reason = ""

        def waiting(seconds: float, why: str) -> None:
            nonlocal reason
            reason = why
            observer.waiting(live, seconds, why)

        def send() -> Response:
            live.sent_at = self.clock()
            return transport.open(plan.endpoint, plan.body, plan.timeout_s, hold, live.attach)

        try:
            return self.retrier.call(lambda: live.attempts.run(send), waiting, cancel,
                                     lambda left: observer.waiting(live, left, reason))
        finally:
            live.retries.extend(self.retrier.log)

    def execute(self, plan: Plan, observer: Observer,
                cancel: threading.Event | None = None) -> RunRecord:
        """Stream one plan to the end (or the first failure) and return its record."""
        cancel = cancel or threading.Event()
        live = self._start(plan, cancel)
        observer.started(live)
        error, billed = self._run(live, observer, cancel)
        with contextlib.suppress(BudgetStopped):  # the text held back in case it was the key
            self._emit(live, live.state.close(), observer)
        live.ended = self.clock()
        observer.stream_closed(live)
        live.count_exactly()
        return self._finish(live, observer, build_record(live, error, billed))

    def _run(self, live: LiveRun, observer: Observer,
             cancel: threading.Event) -> tuple[str | None, bool]:
        """Connect and stream, setting how it ended on `live`; the error to show, and whether
        the endpoint may have billed it."""
        error: str | None = None
        billed = True
        response: Response | None = None
        try:
            if self.guard is not None:
                self.guard.enter(live)
            response = live.response = self.connect(live.plan, live, observer, cancel)
            live.simulator = live.simulator or response.simulator
            if cancel.is_set():
                live.status = "stopped"
            else:
                self._consume(live, response, observer, cancel)
        except KeyboardInterrupt:
            live.status = "stopped"
        except BudgetStopped as exc:
            live.status, live.stop_reason, error = "stopped", "budget", str(exc)
        except StreamInterrupted as exc:
            if cancel.is_set():  # Stop ended the stream by closing its connection
                live.status = "stopped"
            else:  # the record says how far it got, once the tokens are counted
                live.status, live.cut = "interrupted", str(exc)
        except RequestError as exc:
            live.status = "stopped" if cancel.is_set() else "error"
            error = None if cancel.is_set() else str(exc)
            billed = exc.billed  # refused, unreachable or never sent: nothing to pay
        except Exception as exc:  # noqa: BLE001 (a fault of ours must not lose a billed run)
            why = live.state.clean(f"Reading the answer failed ({exc!r})")
            live.status, live.cut = "interrupted", why
        finally:
            if response is not None:
                response.close()
        return error, billed

    def _finish(self, live: LiveRun, observer: Observer, record: RunRecord) -> RunRecord:
        """Release the budget, save the record (or keep it in the session while the history
        cannot be written, saying why), tell the view."""
        if self.guard is not None:
            self.guard.leave(live, record)
        if self.store is not None:
            record = save(self.store, record.replace(**self.fields))
        observer.finished(live, record)
        return record

    def _start(self, plan: Plan, cancel: threading.Event) -> LiveRun:
        """A live run with the stream state of the plan's transport, masking the endpoint's key
        wherever the answer echoes it; the connection pool is set up first, since its import and
        set-up are not the model's latency."""
        client.pool(plan.endpoint.base_url)
        state = plan.transport.state()
        key = plan.endpoint.api_key
        state.hide(key.reveal() if key else None)
        return LiveRun(plan, new_run_id(), now_iso(), self.clock(),
                       tokens.TokenCounter(plan.model_id), state=state,
                       cancel=cancel, simulator=plan.endpoint.name == SIMULATOR)

    def _consume(self, live: LiveRun, response: Response, observer: Observer,
                 cancel: threading.Event) -> None:
        for chunk in response.chunks():
            if cancel.is_set():
                break
            self._apply(live, chunk, observer)
        if cancel.is_set() and live.state.finish_reason is None:  # Stop closed the stream early
            live.status = "stopped"

    def _apply(self, live: LiveRun, chunk: dict[str, Any], observer: Observer) -> None:
        try:
            events = live.state.handle_chunk(chunk)
        except UNREADABLE as exc:  # a shape the state does not expect: cut the answer there
            raise malformed(f"{type(exc).__name__}: {exc}") from None
        self._emit(live, events, observer)

    def _emit(self, live: LiveRun, events: Sequence[object], observer: Observer) -> None:
        for event in events:
            if isinstance(event, (TextDelta, ThinkingDelta)):
                if live.first_token_at is None:
                    live.first_token_at = self.clock()
                live.counter.add(event.sent)  # thinking is billed as output too
                if live.check_at is not None and live.counter.tokens >= live.check_at:
                    assert self.guard is not None
                    self.guard.limit(live)
            if isinstance(event, TextDelta):
                if event.text:
                    observer.delta(live, event.text)
                if live.plan.provisional:  # the first words are out: count once it is cheap
                    if tokens.loaded(live.plan.model_id):
                        live.count_exactly()
                    else:
                        tokens.load_soon(live.plan.model_id)
            elif isinstance(event, ThinkingDelta):
                if live.thinking_counter is None:
                    live.thinking_counter = tokens.TokenCounter(live.plan.model_id)
                live.thinking_counter.add(event.sent)
                if event.text:
                    observer.thinking(live, event.text)
