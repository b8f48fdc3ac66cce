"""Pacing a grid per endpoint: requests in flight, the rate limits the server reports, the budget.

A `Pacer` mirrors each limit the server reports (requests, tokens) as a bucket that refills at
the rate the headers imply, takes from it before each send and waits while it is short; it
honours retry-after, halves the requests in flight on a 429 and grows them back one at a time
after a run of successes. `Reservations` admits a cell only while what the session spent, what
is running and the worst cases of the admitted cells stay under the budget cap.
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

from opus_magic.core.budget import Budget
from opus_magic.cost.pricing import format_usd
from opus_magic.errors import Cancelled, RequestError
from opus_magic.wire.ratelimits import Limit, RateLimits
from opus_magic.wire.ratelimits import parse as parse_rate_limits
from opus_magic.wire.retry import Retrier, Tick, Waiting

T = TypeVar("T")
Clock = Callable[[], float]
POLL_S = 0.2  # longest single wait, so Stop is noticed promptly
GROW_AFTER = 4  # successes per request in flight before one more is allowed


class Mirror:
    """The client's copy of one server limit: size, refill rate and the level now."""

    def __init__(self) -> None:
        self.size: float | None = None
        self.rate: float | None = None
        self.level = 0.0
        self.at = 0.0
        self._deficit = 0.0

    def refill(self, now: float) -> None:
        if self.size is not None and self.rate:
            self.level = min(self.size, self.level + (now - self.at) * self.rate)
        self.at = now

    def wait_s(self, amount: float) -> float:
        """Seconds until `amount` (at most the whole size) is available; 0 when unknown or now."""
        if self.size is None or not self.rate:
            return 0.0
        return max(min(amount, self.size) - self.level, 0.0) / self.rate

    def learn(self, limit: Limit, level_at_send: float | None, now: float) -> None:
        """Take size and rate from a response; lower the level when others use the same limit."""
        if limit.limit is None or limit.remaining is None:
            return
        first = self.size is None
        self.refill(now)
        self.size = float(limit.limit)
        deficit = limit.limit - limit.remaining
        if limit.reset_s and deficit > 0 and deficit >= self._deficit:
            self.rate, self._deficit = deficit / limit.reset_s, float(deficit)
        if self.rate is None:
            self.rate = self.size / 60.0  # limits are per minute unless a reset says otherwise
        if first:
            self.level = float(limit.remaining)
        elif level_at_send is not None and level_at_send - limit.remaining > 1:
            self.level -= level_at_send - limit.remaining


class Pacer:
    """One endpoint's pacing, shared by every worker of a grid."""

    def __init__(self, concurrency: int, clock: Clock = time.monotonic) -> None:
        self.ceiling = self.allowed = max(concurrency, 1)
        self.clock = clock
        self.in_flight = 0
        self.mirrors = {"requests": Mirror(), "tokens": Mirror()}
        self.paused_until = 0.0
        self.throttled = 0
        self.sending = 0
        self.learned = False
        self._successes = 0
        self._cond = threading.Condition()

    def delay_s(self, tokens: int, now: float) -> float:
        """How long a send of `tokens` (input + max_tokens) must wait now; 0 to go."""
        if now < self.paused_until:
            return self.paused_until - now
        if not self.learned and self.sending:
            return POLL_S  # the first answer tells the limits: send nothing else before it
        needs = {"requests": 1.0, "tokens": float(tokens)}
        waits = []
        for kind, mirror in self.mirrors.items():
            mirror.refill(now)
            waits.append(mirror.wait_s(needs[kind]))
        return max(waits)

    def take(self, tokens: int) -> dict[str, float]:
        """Take a send's share of each limit; the levels right after, to compare with the answer."""
        self.sending += 1
        self.mirrors["requests"].level -= 1
        self.mirrors["tokens"].level -= tokens
        return {kind: mirror.level for kind, mirror in self.mirrors.items()}

    def before_send(self, tokens: int, cancel: threading.Event) -> dict[str, float] | None:
        """Wait until a send fits the limits; None when cancelled first."""
        with self._cond:
            while not cancel.is_set():
                delay = self.delay_s(tokens, self.clock())
                if delay <= 0:
                    return self.take(tokens)
                self._cond.wait(min(delay, POLL_S))  # an answer or Stop wakes it sooner
        return None

    def wake(self) -> None:
        """Let every waiting worker look again (after Stop)."""
        with self._cond:
            self._cond.notify_all()

    def answered(self, limits: RateLimits | None, levels: dict[str, float] | None) -> None:
        """A send got its response headers: learn the limits, count a success."""
        with self._cond:
            self.sending = max(self.sending - 1, 0)
            now = self.clock()
            for kind, mirror in self.mirrors.items():
                limit = limits.get(kind) if limits else None
                if limit is not None:
                    mirror.learn(limit, None if levels is None else levels.get(kind), now)
            self.learned = True
            self._successes += 1
            if self._successes >= GROW_AFTER * self.allowed and self.allowed < self.ceiling:
                self.allowed, self._successes = self.allowed + 1, 0
            self._cond.notify_all()

    def refused(self, retry_after_s: float | None, tokens: int) -> None:
        """A 429: halve the requests in flight and send nothing until the server's wait is over.

        The refused send used none of the limits: what it took is given back.
        """
        with self._cond:
            self.sending = max(self.sending - 1, 0)
            self.mirrors["requests"].level += 1
            self.mirrors["tokens"].level += tokens
            self.throttled += 1
            self.allowed = max(self.allowed // 2, 1)
            self._successes = 0
            wait = retry_after_s if retry_after_s is not None else 1.0
            self.paused_until = max(self.paused_until, self.clock() + wait)
            self._cond.notify_all()

    def failed(self) -> None:
        """A send failed otherwise (no answer to learn from)."""
        with self._cond:
            self.sending = max(self.sending - 1, 0)
            self.learned = self.learned or self.sending == 0
            self._cond.notify_all()

    def give_back(self, tokens: int) -> None:
        """Output tokens reserved (max_tokens) but not produced, as the server returns them."""
        with self._cond:
            mirror = self.mirrors["tokens"]
            if mirror.size is not None and tokens > 0:
                mirror.refill(self.clock())
                mirror.level = min(mirror.size, mirror.level + tokens)
            self._cond.notify_all()

    def describe(self) -> str:
        """'2 of 4 in flight; 12 of 60 requests, 18,000 of 20,000 tokens left' (as mirrored)."""
        with self._cond:
            now = self.clock()
            left = []
            for kind, mirror in self.mirrors.items():
                mirror.refill(now)
                if mirror.size is not None:
                    left.append(f"{max(int(mirror.level), 0):,} of {int(mirror.size):,} {kind}")
            head = f"{self.in_flight} of {self.allowed} in flight"
            return head + (f"; {', '.join(left)} left" if left else "")

    @contextlib.contextmanager
    def slot(self, cancel: threading.Event) -> Iterator[bool]:
        """Hold one of the requests in flight; yields False when cancelled while waiting."""
        with self._cond:
            while self.in_flight >= self.allowed and not cancel.is_set():
                self._cond.wait(POLL_S)
            entered = not cancel.is_set()
            self.in_flight += entered
        if not entered:
            yield False
            return
        try:
            yield True
        finally:
            with self._cond:
                self.in_flight -= 1
                self._cond.notify_all()


class PacedRetrier(Retrier):
    """The session's retries for one cell, with every attempt sent through the endpoint's pacer."""

    def __init__(self, inner: Retrier, pacer: Pacer, tokens: int) -> None:
        super().__init__(inner.policy, inner.breaker, inner.sleep, inner.random, inner.clock)
        self.pacer, self.tokens = pacer, tokens
        self.answered = False  # whether a send got through (and so used the limits)

    def call(self, send: Callable[[], T], waiting: Waiting, cancel: threading.Event,
             tick: Tick | None = None) -> T:
        def paced() -> T:
            levels = self.pacer.before_send(self.tokens, cancel)
            if levels is None:
                raise Cancelled("Stopped before sending.")
            try:
                response: Any = send()
            except RequestError as error:
                if error.status == 429:
                    self.pacer.refused(error.retry_after_s, self.tokens)
                else:
                    self.pacer.failed()
                raise
            except BaseException:
                self.pacer.failed()
                raise
            self.pacer.answered(parse_rate_limits(response.headers), levels)
            self.answered = True
            return response

        return super().call(paced, waiting, cancel, tick)


class Reservations:
    """Budget admission for a grid: spent + running + admitted worst cases never pass the cap."""

    def __init__(self, budget: Budget, cap: Decimal | None) -> None:
        self.budget, self.cap = budget, cap
        self.reserved = Decimal(0)
        self.holding = 0
        self._cond = threading.Condition()

    def admit(self, worst: Decimal | None, cancel: threading.Event) -> str | None:
        """Reserve a cell's worst case, waiting for running cells to end; else why not."""
        if self.cap is None:
            return None
        if worst is None:
            return "its price is unknown, so the budget cannot be kept"
        with self._cond:
            while not cancel.is_set():
                committed = self.budget.committed()
                if committed + self.reserved + worst <= self.cap:
                    self.reserved += worst
                    self.holding += 1
                    return None
                if self.holding == 0:
                    left = max(self.cap - committed, Decimal(0))
                    return (f"over the session budget (worst case {format_usd(worst)}, "
                            f"{format_usd(left)} of {format_usd(self.cap)} left)")
                self._cond.wait(POLL_S)
        return "stopped"

    def release(self, worst: Decimal | None) -> None:
        if self.cap is None or worst is None:
            return
        with self._cond:
            self.reserved -= worst
            self.holding -= 1
            self._cond.notify_all()
