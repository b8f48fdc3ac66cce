"""Requests-per-minute and tokens-per-minute limits for the simulator, with both header styles.

Each limit is a token bucket, as providers describe theirs: it holds `limit` units, refills
continuously at `limit / window_s` a second, and a request takes one request and its input plus
max_tokens of tokens up front; the unused part of max_tokens is given back when the answer ends.
Anthropic-style headers give resets as RFC 3339 times, OpenAI-style ones as durations (`6m0s`).
"""
from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

STYLES = ("anthropic", "openai")


@dataclass(frozen=True)
class LimitSettings:
    """What the simulator enforces; None for a dimension means no limit on it."""

    requests: int | None = None
    tokens: int | None = None
    window_s: float = 60.0
    style: str = "anthropic"
    retry_after: bool = True  # send retry-after with a 429 (else clients must read the resets)

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ValueError(f"style must be one of {', '.join(STYLES)}")
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

    def full_in_s(self) -> float:
        return (self.size - self.level) / self.rate

    def short_in_s(self, amount: float) -> float:
        """Seconds until `amount` is available (0 when it is now)."""
        return max(amount - self.level, 0.0) / self.rate


@dataclass(frozen=True)
class Decision:
    """Whether a request may go ahead, the headers to send, and the wait a 429 asks for."""

    allowed: bool
    headers: dict[str, str]
    retry_after_s: float | None = None


class Limiter:
    """The simulator's buckets, shared by every request thread."""

    def __init__(self, settings: LimitSettings, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.settings, self.clock, self.wall = settings, clock, wall
        now = clock()
        self.buckets = {kind: Bucket(size, settings.window_s, now)
                        for kind, size in (("requests", settings.requests),
                                           ("tokens", settings.tokens)) if size is not None}
        self._lock = threading.Lock()

    def admit(self, tokens: int) -> Decision:
        """Take one request and `tokens` tokens, or refuse with how long to wait."""
        with self._lock:
            now = self.clock()
            needs = {"requests": 1.0, "tokens": float(tokens)}
            for bucket in self.buckets.values():
                bucket.refill(now)
            waits = [b.short_in_s(min(needs[k], b.size)) for k, b in self.buckets.items()]
            wait = max(waits, default=0.0)
            if wait > 0:
                return Decision(False, self._headers(wait), wait)
            for kind, bucket in self.buckets.items():
                bucket.level -= needs[kind]
            return Decision(True, self._headers(None))

    def give_back(self, tokens: int) -> None:
        """Return tokens reserved for output that was not produced."""
        bucket = self.buckets.get("tokens")
        if bucket is None or tokens <= 0:
            return
        with self._lock:
            bucket.refill(self.clock())
            bucket.level = min(bucket.size, bucket.level + tokens)

    def _headers(self, retry_after_s: float | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        for kind, bucket in self.buckets.items():
            remaining, reset = max(int(bucket.level), 0), bucket.full_in_s()
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
