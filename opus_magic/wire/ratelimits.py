"""Rate-limit headers (Anthropic's and OpenAI's) read into one structure, by a pure function.

Numbers from a server are not trusted: a value that is not a finite, non-negative number (`inf`,
`1e309`, `nan`, `-3`, text) is ignored and named in `RateLimits.notes`; waits are capped at
`MAX_WAIT_S`, so no later arithmetic on them can overflow.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = ("requests", "tokens", "input_tokens", "output_tokens")
# each kind's (limit, remaining, reset) headers: Anthropic's names, then OpenAI's
HEADER_NAMES = tuple(
    (kind, [f"anthropic-ratelimit-{wire}-{part}" for part in ("limit", "remaining", "reset")],
     [f"x-ratelimit-{part}-{wire}" for part in ("limit", "remaining", "reset")])
    for kind, wire in ((kind, kind.replace("_", "-")) for kind in KINDS))
LOW_FRACTION = 0.2
DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
MAX_WAIT_S = 366 * 86400.0  # a wait longer than a year is read as a year


@dataclass(frozen=True)
class Limit:
    """One limit as a response reported it: its size, what remains, seconds until it is full."""

    limit: int | None
    remaining: int | None
    reset_s: float | None
    precision_s: float = field(default=0.001, compare=False)  # the reset's resolution

    @property
    def fraction(self) -> float | None:
        """Remaining over limit, when both are known."""
        if self.limit is None or self.remaining is None or self.limit <= 0:
            return None
        return self.remaining / self.limit


@dataclass(frozen=True)
class RateLimits:
    """The limits one response reported, by kind (requests, tokens, input and output tokens)."""

    limits: Mapping[str, Limit]
    notes: tuple[str, ...] = field(default=(), compare=False)  # values ignored, one line each

    def get(self, kind: str) -> Limit | None:
        return self.limits.get(kind)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain data for the run record and the history."""
        return {kind: {"limit": lim.limit, "remaining": lim.remaining, "reset_s": lim.reset_s}
                for kind, lim in self.limits.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> RateLimits | None:
        if not data:
            return None
        return cls({kind: Limit(v.get("limit"), v.get("remaining"), v.get("reset_s"))
                    for kind, v in data.items() if kind in KINDS and isinstance(v, Mapping)})

    def exhausted_wait_s(self) -> float | None:
        """Seconds until the first used-up limit refills; None when none is used up."""
        waits = [lim.reset_s for lim in self.limits.values()
                 if lim.remaining == 0 and lim.reset_s is not None]
        return max(waits) if waits else None

    def low(self) -> list[tuple[str, Limit]]:
        """The limits under 20 % of their size, lowest first."""
        found = [(kind, lim) for kind, lim in self.limits.items()
                 if lim.fraction is not None and lim.fraction < LOW_FRACTION]
        return sorted(found, key=lambda item: item[1].fraction or 0.0)


def parse(headers: Mapping[str, str], now: dt.datetime | None = None) -> RateLimits | None:
    """Read `anthropic-ratelimit-*` or `x-ratelimit-*` headers; None when there are none.

    Anthropic's resets are RFC 3339 times (read against `now`), OpenAI's durations like `6m0s`.
    """
    lowered = {name: v for k, v in headers.items() if "ratelimit" in (name := k.lower())}
    if not lowered:
        return None
    now = now or dt.datetime.now(dt.timezone.utc)
    found: dict[str, Limit] = {}
    notes: list[str] = []
    for kind, anthropic, openai in HEADER_NAMES:
        for names, reset in ((anthropic, lambda t: _until(t, now)), (openai, duration_s)):
            values = [lowered.get(name) for name in names]
            if any(v is not None for v in values):
                found[kind] = _limit(names, values, reset, notes)
                break
    return RateLimits(found, tuple(notes)) if found else None


def _limit(names: list[str], values: list[str | None], reset: Any, notes: list[str]) -> Limit:
    size, remaining = (_count(name, value, notes) for name, value in zip(names[:2], values[:2]))
    reset_s = None if values[2] is None else reset(values[2])
    if values[2] is not None and reset_s is None:
        notes.append(ignored(names[2], values[2]))
    return Limit(size, remaining, reset_s, _precision(values[2]))


def ignored(name: str, value: str) -> str:
    """The note for a header value that is not a usable number."""
    return f"{name}: {value[:40]!r} is not a finite, non-negative number; ignored."


def _precision(text: str | None) -> float:
    """The resolution of a reset as written: `2026-…T12:00:12Z` or `6m0s` 1 s, `1.5s` 0.1 s."""
    if not text:
        return 1.0
    text = text.strip()
    if text.endswith("ms"):
        return 0.001
    digits = re.search(r"[.,](\d+)", text)
    return 10.0 ** -len(digits.group(1)) if digits else 1.0


def duration_s(text: str | None) -> float | None:
    """OpenAI's reset durations (`6m0s`, `1.5s`, `12ms`, `1h2m3s`) in seconds, else None."""
    if not text:
        return None
    text = text.strip()
    parts = DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return _seconds(text)
    return min(sum(float(number) * UNIT_S[unit] for number, unit in parts), MAX_WAIT_S)


def _seconds(text: str) -> float | None:
    """A plain number of seconds, capped at MAX_WAIT_S; None unless finite and not negative."""
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return min(value, MAX_WAIT_S)


def _until(text: str | None, now: dt.datetime) -> float | None:
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        seconds = (when - now).total_seconds()
    except (ValueError, OverflowError):
        return None
    return min(max(seconds, 0.0), MAX_WAIT_S)


def _count(name: str, text: str | None, notes: list[str]) -> int | None:
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        notes.append(ignored(name, text))
        return None
    return int(value)


def low_line(data: Mapping[str, Any] | None) -> str | None:
    """'Rate limit: 4 of 50 requests left (full again in 12 s)' when a limit is under 20 %."""
    limits = RateLimits.from_dict(data)
    low = limits.low() if limits else []
    if not low:
        return None
    parts = []
    for kind, lim in low:
        reset = "" if lim.reset_s is None else f" (full again in {lim.reset_s:.0f} s)"
        parts.append(f"{lim.remaining:,} of {lim.limit:,} {kind.replace('_', ' ')} left{reset}")
    return "Rate limit: " + "; ".join(parts) + "."
