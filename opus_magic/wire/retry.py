"""Retrying a request: how long to wait, how many times, and when an endpoint is failing too often."""
from __future__ import annotations

import random as random_module
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from opus_magic.errors import CircuitOpen, RequestError
from opus_magic.wire.explain import short_reason

T = TypeVar("T")
Clock = Callable[[], float]
Sleep = Callable[[float], None]
Tick = Callable[[float], None]  # seconds left of a wait, each second and 0 at its end
Waiting = Callable[[float, str], None]


def hms(timestamp: float) -> str:
    """Local wall-clock time as HH:MM:SS."""
    return time.strftime("%H:%M:%S", time.localtime(timestamp))


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: the server's retry-after when it gives one, else backoff with jitter."""

    max_retries: int = 4
    cap_s: float = 120.0
    base_s: float = 0.5
    ceiling_s: float = 8.0

    def backoff_s(self, retry: int, jitter: float) -> float:
        """Wait before retry number `retry` (from 1): min(base·2^(retry-1), ceiling), less up to 25 %."""
        return min(self.base_s * 2 ** (retry - 1), self.ceiling_s) * (1 - 0.25 * jitter)

    def wait_s(self, error: RequestError, retry: int, jitter: float) -> float:
        if error.retry_after_s is not None:
            return max(error.retry_after_s, 0.0)
        return self.backoff_s(retry, jitter)


class Breaker:
    """A circuit breaker for one endpoint.

    Closed: requests go through and consecutive failures are counted. After `threshold` failures
    in a row it opens: requests fail at once until `cooldown_s` has passed. Then one trial
    request goes through (half-open): success closes it, failure opens it for another cool-down.
    """

    def __init__(self, name: str, threshold: int = 5, cooldown_s: float = 30.0,
                 clock: Clock = time.time) -> None:
        self.name = name
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self.clock = clock
        self.failures = 0
        self.since: float | None = None
        self.retry_at: float | None = None
        self.probing = False
        self.last = ""
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        if self.retry_at is None:
            return "closed"
        return "half-open" if self.probing or self.clock() >= self.retry_at else "open"

    def tune(self, threshold: int, cooldown_s: float) -> None:
        """Apply changed settings to an existing breaker."""
        with self._lock:
            self.threshold, self.cooldown_s = threshold, cooldown_s

    def admit(self) -> None:
        """Return when a request may be sent; raise RequestError while the endpoint is failing."""
        with self._lock:
            if self.retry_at is None:
                return
            if not self.probing and self.clock() >= self.retry_at:
                self.probing = True
                return
            raise CircuitOpen(self._refusal())

    def release(self) -> None:
        """A trial request ended without an answer either way (e.g. interrupted): allow another."""
        with self._lock:
            self.probing = False

    def succeeded(self) -> None:
        with self._lock:
            self.failures, self.since, self.retry_at, self.probing = 0, None, None, False

    def failed(self, reason: str) -> None:
        with self._lock:
            now = self.clock()
            self.failures += 1
            self.since = self.since if self.since is not None else now
            self.last = reason
            if self.probing or self.failures >= self.threshold:
                self.retry_at, self.probing = now + self.cooldown_s, False

    def _refusal(self) -> str:
        assert self.since is not None and self.retry_at is not None
        head = (f"{self.name} failing since {hms(self.since)}, next try at {hms(self.retry_at)} "
                f"({self.failures} failures in a row, last: {self.last}).")
        if self.probing:
            return f"{head} A trial request is under way: run again in a moment."
        return f"{head} Nothing more is sent before then: run again after {hms(self.retry_at)}."


class Breakers:
    """One circuit breaker per endpoint, shared by every run to it in this process."""

    def __init__(self, clock: Clock = time.time) -> None:
        self.clock = clock
        self._by_url: dict[str, Breaker] = {}
        self._lock = threading.Lock()

    def get(self, base_url: str, threshold: int, cooldown_s: float) -> Breaker:
        """The endpoint's breaker, created on first use, tuned to the current settings."""
        with self._lock:
            breaker = self._by_url.get(base_url)
            if breaker is None:
                breaker = self._by_url[base_url] = Breaker(base_url, clock=self.clock)
        breaker.clock = self.clock
        breaker.tune(threshold, cooldown_s)
        return breaker


class Retrier:
    """Sends through a breaker, retrying what retrying can fix and announcing every wait.

    One call's retries of one request count as one failure for the breaker: a cell that retries
    five times is one endpoint failing once, not five.
    """

    def __init__(self, policy: RetryPolicy, breaker: Breaker, sleep: Sleep | None = None,
                 random: Callable[[], float] = random_module.random, clock: Clock = time.time) -> None:
        self.policy = policy
        self.breaker = breaker
        self.sleep = sleep
        self.random = random
        self.clock = clock
        self.log: list[str] = []  # what each wait was, once it is over: "…: waited 2.0 s and retried."

    def call(self, send: Callable[[], T], waiting: Waiting, cancel: threading.Event,
             tick: Tick | None = None) -> T:
        """`send()` until it succeeds, fails for good, the breaker opens or `cancel` is set.

        `waiting(seconds, reason)` hears of each wait before it starts, `tick(left)` of each
        second of it (0 at its end); an interrupt or `cancel` during a wait ends the call with
        the last error, logged as not retried.
        """
        retry, self.log = 0, []
        while True:
            self.breaker.admit()
            try:
                result = send()
            except RequestError as error:
                if cancel.is_set():  # stopped while sending: not the endpoint's failure
                    self.breaker.release()
                    raise error from None
                delay = self._delay(error, retry)
                reason = f"{short_reason(error)} (attempt {retry + 1} of {self.policy.max_retries + 1})"
                waiting(delay, reason)
                self._pause(delay, reason, cancel, error, tick)
                retry += 1
                continue
            except BaseException:
                self.breaker.release()
                raise
            self.breaker.succeeded()
            return result

    def _delay(self, error: RequestError, retry: int) -> float:
        """Seconds to wait before the next attempt; raises when there should be none."""
        if not error.retryable:
            self.breaker.succeeded()  # the endpoint answered; the request itself is at fault
            raise error
        if retry == 0:
            self.breaker.failed(short_reason(error))
        if retry >= self.policy.max_retries:
            attempts = "once" if retry == 0 else f"{retry + 1} times"
            raise error.again(f"{error} Tried {attempts}; giving up.") from None
        delay = self.policy.wait_s(error, retry + 1, self.random())
        if delay > self.policy.cap_s:
            raise error.again(f"{error} The endpoint asks to wait {delay:,.0f} s, longer than "
                                f"retry_cap_s ({self.policy.cap_s:g} s): run again after "
                                f"{hms(self.clock() + delay)}.") from None
        self.breaker.admit()
        return delay

    def _pause(self, seconds: float, reason: str, cancel: threading.Event,
               error: RequestError, tick: Tick | None = None) -> None:
        """Wait before the next attempt, in one-second steps when someone counts down (a given
        `sleep` is asked for the whole wait at once); say afterwards what the wait really was."""
        began = time.monotonic()
        try:
            self._wait(seconds, cancel, tick)
        except KeyboardInterrupt:
            cancel.set()
        if cancel.is_set():
            self.log.append(f"{reason}: stopped after {time.monotonic() - began:.1f} s of a "
                            f"{seconds:.1f} s wait; not retried.")
            raise error from None
        self.log.append(f"{reason}: waited {seconds:.1f} s and retried.")

    def _wait(self, seconds: float, cancel: threading.Event, tick: Tick | None) -> None:
        left = seconds
        if self.sleep is not None:
            self.sleep(seconds)
            left = 0.0
        while tick is not None and left > 1 and not cancel.wait(1.0):
            left -= 1
            tick(left)
        if not cancel.is_set():
            cancel.wait(left)
            if tick is not None:
                tick(0.0)
