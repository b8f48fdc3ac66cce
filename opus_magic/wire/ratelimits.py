"""Rate-limit headers (Anthropic's and OpenAI's) read into one structure, by a pure function."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

KINDS = ("requests", "tokens", "input_tokens", "output_tokens")
LOW_FRACTION = 0.2
DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


@dataclass(frozen=True)
class Limit:
    """One limit as a response reported it: its size, what remains, seconds until it is full."""

    limit: int | None
    remaining: int | None
    reset_s: float | None

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
    lowered = {k.lower(): v for k, v in headers.items()}
    now = now or dt.datetime.now(dt.timezone.utc)
    found: dict[str, Limit] = {}
    for kind in KINDS:
        wire = kind.replace("_", "-")
        anthropic = [lowered.get(f"anthropic-ratelimit-{wire}-{part}")
                     for part in ("limit", "remaining", "reset")]
        openai = [lowered.get(f"x-ratelimit-{part}-{wire}")
                  for part in ("limit", "remaining", "reset")]
        if any(v is not None for v in anthropic):
            found[kind] = Limit(_int(anthropic[0]), _int(anthropic[1]), _until(anthropic[2], now))
        elif any(v is not None for v in openai):
            found[kind] = Limit(_int(openai[0]), _int(openai[1]), duration_s(openai[2]))
    return RateLimits(found) if found else None


def duration_s(text: str | None) -> float | None:
    """OpenAI's reset durations (`6m0s`, `1.5s`, `12ms`, `1h2m3s`) in seconds, else None."""
    if not text:
        return None
    text = text.strip()
    parts = DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        try:
            return max(float(text), 0.0)
        except ValueError:
            return None
    return sum(float(number) * UNIT_S[unit] for number, unit in parts)


def _until(text: str | None, now: dt.datetime) -> float | None:
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max((when - now).total_seconds(), 0.0)


def _int(text: str | None) -> int | None:
    try:
        return None if text is None else int(float(text))
    except ValueError:
        return None


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
