"""Pacing a grid per endpoint: requests in flight, the rate limits the server reports, the budget.

A `Pacer` keeps a `Mirror` of each limit the server reports (requests, tokens, input and output
tokens) and sends only what the mirrors say fits: what a report said is left bounds every send
until its reset passes, and only models that later reports confirmed may add to it (see
`mirror.py`). It honours the longest retry-after in force, halves the requests it lets in flight
after each 429 and grows them back one at a time after a run of successes. A wait longer than
the retry cap ends the cell with the reason instead of holding the grid. (Budget admission is
`admission.py`'s.)
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from opus_magic.core.grid.mirror import POLL_S, Mirror
from opus_magic.errors import Cancelled, RequestError
from opus_magic.records import RunRecord, Usage
from opus_magic.wire.ratelimits import KINDS, RateLimits
from opus_magic.wire.ratelimits import parse as parse_rate_limits
from opus_magic.wire.retry import Retrier, Tick, Waiting, hms

T = TypeVar("T")
Clock = Callable[[], float]
GROW_AFTER = 4  # successes per request in flight before one more is allowed
LONG_WAIT_S = 120.0  # without a retry policy's cap


def needs(input_tokens: int, max_tokens: int) -> dict[str, float]:
    """What one send takes of each limit: a request, its input plus max_tokens, and each part."""
    return {"requests": 1.0, "tokens": float(input_tokens + max_tokens),
            "input_tokens": float(input_tokens), "output_tokens": float(max_tokens)}


class Pacer:
    """One endpoint's pacing, shared by every worker of a grid."""

    def __init__(self, concurrency: int, clock: Clock = time.monotonic) -> None:
        self.ceiling = self.target = max(concurrency, 1)
        self.clock = clock
        self.in_flight = 0  # requests sent whose answers have not ended
        self.working = 0  # cells holding a slot
        self.mirrors = {kind: Mirror() for kind in KINDS}
        self.paused_until = 0.0
        self.throttled = 0
        self.learned = False
        self._seq = self._successes = 0
        self._cond = threading.Condition()

    @property
    def allowed(self) -> int:
        """Requests allowed in flight now: a 429 lowers it as the requests already sent end."""
        return max(self.target, self.in_flight)

    def delay_s(self, need: Mapping[str, float], now: float) -> tuple[float, str]:
        """How long a send of `need` must wait now (0 to go), and why."""
        if now < self.paused_until:
            return self.paused_until - now, "asks to wait (retry-after)"
        if self.in_flight >= self.target or (not self.learned and self.in_flight):
            return POLL_S, "in flight"  # the first answer tells the limits: nothing else before it
        waits = [(mirror.wait_s(need.get(kind, 0.0), now), kind)
                 for kind, mirror in self.mirrors.items()]
        delay, kind = max(waits, default=(0.0, ""))
        return delay, f"reports its {kind.replace('_', ' ')} limit used up"

    def before_send(self, need: Mapping[str, float], cancel: threading.Event,
                    cap_s: float = LONG_WAIT_S) -> int | None:
        """Wait until a send fits; its ticket, or None when cancelled first.

        Raises RequestError when the wait would be longer than `cap_s`.
        """
        with self._cond:
            while not cancel.is_set():
                ticket, delay, why = self.try_take(need)
                if ticket is not None:
                    return ticket
                if delay > cap_s:
                    raise RequestError(
                        f"The endpoint {why}: {delay:,.0f} s, longer than retry_cap_s "
                        f"({cap_s:g} s), so the cell was not sent: run it again after "
                        f"{hms(time.time() + delay)}.")
                self._cond.wait(min(delay, POLL_S))  # an answer or Stop wakes it sooner
        return None

    def try_take(self, need: Mapping[str, float]) -> tuple[int | None, float, str]:
        """Take a send's share now if it fits: (its ticket, 0, ""), else (None, the wait, why)."""
        with self._cond:
            now = self.clock()
            delay, why = self.delay_s(need, now)
            if delay > 0:
                return None, delay, why
            return self._take(need, now), 0.0, ""

    def _take(self, need: Mapping[str, float], now: float) -> int:
        self._seq += 1
        self.in_flight += 1
        for kind, mirror in self.mirrors.items():
            mirror.take(self._seq, now, need.get(kind, 0.0))
        return self._seq

    def wake(self) -> None:
        """Let every waiting worker look again (after Stop)."""
        with self._cond:
            self._cond.notify_all()

    def answered(self, ticket: int, limits: RateLimits | None) -> None:
        """A send got its response headers: learn the limits, count a success."""
        with self._cond:
            now = self.clock()
            for kind, mirror in self.mirrors.items():
                limit = limits.get(kind) if limits else None
                if limit is not None:
                    mirror.read(ticket, now, limit)
                mirror.settle(ticket, now, 1.0 if kind == "requests" else None, ended=False)
            self.learned = True
            self._successes += 1
            if self._successes >= GROW_AFTER * self.target and self.target < self.ceiling:
                self.target, self._successes = self.target + 1, 0
            self._cond.notify_all()

    def refused(self, ticket: int, retry_after_s: float | None) -> None:
        """A 429: the send took nothing; halve the requests in flight and pause the endpoint
        until the longest wait asked of it is over."""
        with self._cond:
            self.in_flight = max(self.in_flight - 1, 0)
            for mirror in self.mirrors.values():
                mirror.drop(ticket)
            self.throttled += 1
            self.target = max(self.target // 2, 1)
            self._successes = 0
            wait = retry_after_s if retry_after_s is not None else 1.0
            self.paused_until = max(self.paused_until, self.clock() + wait)
            self._cond.notify_all()

    def failed(self, ticket: int) -> None:
        """A send failed otherwise: it may have counted, so it stays taken until it would leave."""
        with self._cond:
            self.in_flight = max(self.in_flight - 1, 0)
            now = self.clock()
            for mirror in self.mirrors.values():
                send = mirror.sends.get(ticket)
                mirror.settle(ticket, now, None if send is None else send.need, ended=True)
            self.learned = self.learned or self.in_flight == 0
            self._cond.notify_all()

    def ended(self, ticket: int | None, usage: Usage | None, max_tokens: int,
              at: float | None = None) -> None:
        """An answered send's answer ended (`at`, else now): what it used (the server's usage)."""
        if ticket is None:
            return
        with self._cond:
            self.in_flight = max(self.in_flight - 1, 0)
            now = self.clock() if at is None else min(at, self.clock())
            for kind, mirror in self.mirrors.items():
                used, need = _usage(kind, usage, max_tokens)
                mirror.settle(ticket, now, used, ended=True, need=need)
            self._cond.notify_all()

    @contextlib.contextmanager
    def slot(self, cancel: threading.Event) -> Iterator[bool]:
        """Hold one of the `concurrency` cells worked on at once (a cell waiting to retry keeps
        it; its sends count in flight only while sent); False when cancelled while waiting."""
        with self._cond:
            while self.working >= self.ceiling and not cancel.is_set():
                self._cond.wait(POLL_S)
            entered = not cancel.is_set()
            self.working += entered
        if not entered:
            yield False
            return
        try:
            yield True
        finally:
            with self._cond:
                self.working -= 1
                self._cond.notify_all()

    def describe(self) -> str:
        """'2 of 4 in flight; 12 of 60 requests, 18,000 of 20,000 tokens left' (as mirrored)."""
        with self._cond:
            now = self.clock()
            left = [f"{max(int(min(m.level(now), m.size)), 0):,} of {int(m.size):,} "
                    f"{kind.replace('_', ' ')}" for kind, m in self.mirrors.items()
                    if m.size is not None]
            head = f"{self.in_flight} of {self.allowed} in flight"
            if self.target < self.ceiling:
                head += f" (lowered from {self.ceiling} after 429s)"
            return head + (f"; {', '.join(left)} left" if left else "")


def _usage(kind: str, usage: Usage | None, max_tokens: int) -> tuple[float | None, float | None]:
    """(used, taken) of one limit by the server's usage of an answer; None where unknown."""
    if usage is None or not (usage.input_tokens or usage.output_tokens):
        return (1.0, None) if kind == "requests" else (None, None)
    by_kind = {"requests": (1.0, None),
               "tokens": (usage.input_tokens + usage.output_tokens,
                          usage.input_tokens + max_tokens),
               "input_tokens": (usage.input_tokens, usage.input_tokens),
               "output_tokens": (usage.output_tokens, None)}
    used, need = by_kind[kind]
    return float(used) if used is not None else None, None if need is None else float(need)


class PacedRetrier(Retrier):
    """The session's retries for one cell, with every attempt sent through the endpoint's pacer.

    `on_retry` hears of each response retried (once per retry, not per second of its wait).
    """

    def __init__(self, inner: Retrier, pacer: Pacer, need: Mapping[str, float],
                 on_retry: Callable[[], None] | None = None) -> None:
        super().__init__(inner.policy, inner.breaker, inner.sleep, inner.random, inner.clock)
        self.pacer, self.need, self.on_retry = pacer, need, on_retry
        self.ticket: int | None = None  # the send that got through (and so used the limits)
        self.notes: list[str] = []  # rate-limit header values ignored, one line each

    def take_ticket(self) -> int | None:
        """The send that got through since the last asked (a tool loop sends several)."""
        ticket, self.ticket = self.ticket, None
        return ticket

    def execute(self, run: Callable[[], RunRecord], max_tokens: int,
                closed_at: Callable[[], float | None]) -> RunRecord:
        """`run()` one request of a cell, then tell the pacer what its answer used and when it
        ended (the server gives back what it reserved and did not use); notes go on the record."""
        record: RunRecord | None = None
        try:
            record = run()
        finally:
            self.pacer.ended(self.take_ticket(), None if record is None else record.usage,
                             max_tokens, closed_at())
        notes = [note for note in self.notes if note not in record.notes]
        return record.replace(notes=[*record.notes, *notes]) if notes else record

    def call(self, send: Callable[[], T], waiting: Waiting, cancel: threading.Event,
             tick: Tick | None = None) -> T:
        def counted(seconds: float, reason: str) -> None:
            if self.on_retry is not None:
                self.on_retry()
            waiting(seconds, reason)

        return super().call(lambda: self._paced(send, cancel), counted, cancel, tick)

    def _paced(self, send: Callable[[], T], cancel: threading.Event) -> T:
        ticket = self.pacer.before_send(self.need, cancel, self.policy.cap_s)
        if ticket is None:
            raise Cancelled("Stopped before sending.")
        try:
            response: Any = send()
        except RequestError as error:
            if error.status == 429:
                self.pacer.refused(ticket, error.retry_after_s)
            else:
                self.pacer.failed(ticket)
            raise
        except BaseException:
            self.pacer.failed(ticket)
            raise
        limits = parse_rate_limits(response.headers)
        self.notes += [] if limits is None else [n for n in limits.notes if n not in self.notes]
        self.pacer.answered(ticket, limits)
        self.ticket = ticket
        return response
