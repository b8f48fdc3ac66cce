"""Requests-per-minute and tokens-per-minute limits for the simulator, with both header styles and
both meanings of "reset" that servers use.

`limiter="bucket"` (the default) is a token bucket, as OpenAI describes its limits: it holds
`limit` units and refills continuously at `limit / window_s` a second; its reset is the time
until it is full again. `limiter="window"` is a sliding window: a request counts for `window_s`
after it was admitted; its reset is the time until the oldest request leaves the window. Either
way a request takes one request and its input plus max_tokens of tokens up front, and the unused
part of max_tokens is given back when the answer ends. Anthropic-style headers give resets as
RFC 3339 times, OpenAI-style ones as durations (`6m0s`).
"""
from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

STYLES = ("anthropic", "openai")
LIMITERS = ("bucket", "window")


@dataclass(frozen=True)
class LimitSettings:
    """What the simulator enforces; None for a dimension means no limit on it."""

    requests: int | None = None
    tokens: int | None = None
    window_s: float = 60.0
    style: str = "anthropic"
    retry_after: bool = True  # send retry-after with a 429 (else clients must read the resets)
    limiter: str = "bucket"  # what a reset means: "bucket" (until full) or "window" (oldest leaves)

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ValueError(f"style must be one of {', '.join(STYLES)}")
        if self.limiter not in LIMITERS:
            raise ValueError(f"limiter must be one of {', '.join(LIMITERS)}")
        if any(v is not None and v < 1 for v in (self.requests, self.tokens)):
            raise ValueError("requests and tokens limits must be at least 1")
        if self.window_s <= 0:
            raise ValueError("window_s must be positive")


class Bucket:
    """One limit: `size` units refilling at `size / window_s` per second."""

    def __init__(self, size: int, window_s: float, now: float) -> None:
        self.size, self.rate = size, size / window_s
        self.level, self.at = float(size), now

    def refill(self, now: float) -> None:
        self.level = min(self.size, self.level + (now - self.at) * self.rate)
        self.at = now

    def reset_in_s(self) -> float:
        """Until the bucket is full again."""
        return (self.size - self.level) / self.rate

    def short_in_s(self, amount: float) -> float:
        """Seconds until `amount` is available (0 when it is now)."""
        return max(amount - self.level, 0.0) / self.rate

    def take(self, amount: float, now: float) -> list[float]:
        self.level -= amount
        return [amount]

    def give_back(self, amount: float, ticket: list[float] | None) -> None:
        self.level = min(self.size, self.level + amount)


@dataclass
class Window:
    """One limit as a sliding window: each admitted request holds its units for `window_s`."""

    size: int
    window_s: float
    at: float
    entries: deque[tuple[float, list[float]]] = field(default_factory=deque)

    @property
    def level(self) -> float:
        return self.size - sum(units[0] for _, units in self.entries)

    def refill(self, now: float) -> None:
        while self.entries and self.entries[0][0] + self.window_s <= now:
            self.entries.popleft()
        self.at = now

    def reset_in_s(self) -> float:
        """Until the oldest request leaves the window (0 when it is empty)."""
        return self.entries[0][0] + self.window_s - self.at if self.entries else 0.0

    def short_in_s(self, amount: float) -> float:
        """Seconds until enough requests left the window for `amount` to fit (0 when it fits)."""
        missing = amount - self.level
        if missing <= 0:
            return 0.0
        for admitted, units in self.entries:
            missing -= units[0]
            if missing <= 0:
                return admitted + self.window_s - self.at
        return 0.0  # only when `amount` exceeds the size, which callers never ask

    def take(self, amount: float, now: float) -> list[float]:
        units = [amount]
        self.entries.append((now, units))
        return units

    def give_back(self, amount: float, ticket: list[float] | None) -> None:
        if ticket is not None:
            ticket[0] = max(ticket[0] - amount, 0.0)


@dataclass(frozen=True)
class Decision:
    """Whether a request may go ahead, the headers to send, the wait a 429 asks for, and the
    ticket that gives back unused tokens."""

    allowed: bool
    headers: dict[str, str]
    retry_after_s: float | None = None
    ticket: list[float] | None = None


class Limiter:
    """The simulator's limits, shared by every request thread."""

    def __init__(self, settings: LimitSettings, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.settings, self.clock, self.wall = settings, clock, wall
        now = clock()
        make = Window if settings.limiter == "window" else Bucket
        self.buckets: dict[str, Bucket | Window] = {
            kind: make(size, settings.window_s, now)
            for kind, size in (("requests", settings.requests), ("tokens", settings.tokens))
            if size is not None}
        self._lock = threading.Lock()

    def wait_s(self, tokens: int) -> float:
        """Seconds until a request of `tokens` would be admitted (0: now); takes nothing."""
        with self._lock:
            return self._wait(tokens, self.clock())

    def _wait(self, tokens: int, now: float) -> float:
        needs = {"requests": 1.0, "tokens": float(tokens)}
        for bucket in self.buckets.values():
            bucket.refill(now)
        return max((b.short_in_s(min(needs[k], b.size)) for k, b in self.buckets.items()),
                   default=0.0)

    def admit(self, tokens: int) -> Decision:
        """Take one request and `tokens` tokens, or refuse with how long to wait."""
        with self._lock:
            now = self.clock()
            wait = self._wait(tokens, now)
            if wait > 0:
                return Decision(False, self._headers(wait), wait)
            taken = {kind: bucket.take(1.0 if kind == "requests" else float(tokens), now)
                     for kind, bucket in self.buckets.items()}
            return Decision(True, self._headers(None), ticket=taken.get("tokens"))

    def give_back(self, tokens: int, ticket: list[float] | None = None) -> None:
        """Return tokens reserved for output that was not produced (`ticket`: the admission's)."""
        bucket = self.buckets.get("tokens")
        if bucket is None or tokens <= 0:
            return
        with self._lock:
            bucket.refill(self.clock())
            bucket.give_back(float(tokens), ticket)

    def _headers(self, retry_after_s: float | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        for kind, bucket in self.buckets.items():
            remaining, reset = max(int(bucket.level), 0), bucket.reset_in_s()
            if self.settings.style == "anthropic":
                prefix = f"anthropic-ratelimit-{kind}"
                headers.update({f"{prefix}-limit": str(bucket.size),
                                f"{prefix}-remaining": str(remaining),
                                f"{prefix}-reset": rfc3339(self.wall() + reset)})
            else:
                headers.update({f"x-ratelimit-limit-{kind}": str(bucket.size),
                                f"x-ratelimit-remaining-{kind}": str(remaining),
                                f"x-ratelimit-reset-{kind}": duration(reset)})
        if retry_after_s is not None and self.settings.retry_after:
            headers["retry-after"] = str(max(math.ceil(retry_after_s), 1))
        return headers


def rfc3339(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).isoformat(timespec="milliseconds")


def duration(seconds: float) -> str:
    """OpenAI's form: `12ms` under a second, else `1m30.5s` / `6m0s` / `2.25s`."""
    if seconds < 1:
        return f"{max(round(seconds * 1000), 0)}ms"
    minutes, rest = divmod(seconds, 60)
    text = f"{rest:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{int(minutes)}m{text}" if minutes else text
