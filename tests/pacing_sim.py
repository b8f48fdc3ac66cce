"""A grid's pacer against the simulator's limiter on one fake clock, without threads or sleeps:
each send reaches the server a moment later, its headers come back, its answer ends, and the
pacer is asked again whenever something happened or the wait it named is over."""
from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fakes import Clock

from opus_magic.core.grid.pacing import POLL_S, Pacer, needs
from opus_magic.records import Usage
from opus_magic.sim.limits import Limiter, LimitSettings
from opus_magic.wire.ratelimits import parse

LATENCY_S = 0.002  # one way, client to server
EPOCH = 1_800_000_000.0  # the wall clock of the fake server (for RFC 3339 resets)


@dataclass
class Outcome:
    """What a simulated grid did: requests sent, 429s, when its last answer ended."""

    sent: int = 0
    refused: int = 0
    finished_s: float = 0.0
    calls: list[tuple[int, int, float]] = field(default_factory=list)  # (tokens, back, seconds)


@dataclass(frozen=True)
class Cells:
    """The grid's cells: how many, their sizes and how long each answer takes."""

    count: int
    input_tokens: int = 20
    max_tokens: int = 30
    output_tokens: int = 20
    answer_s: float = 0.3


def run(settings: LimitSettings, cells: Cells, concurrency: int = 4,
        on_headers: Callable[[dict[str, str]], dict[str, str]] | None = None) -> Outcome:
    """Run `cells` through a Pacer against a Limiter with `settings`; see Outcome."""
    clock = Clock(0.0)
    limiter = Limiter(settings, clock, lambda: EPOCH + clock.now)
    pacer = Pacer(concurrency, clock)
    need = needs(cells.input_tokens, cells.max_tokens)
    events: list[tuple[float, int, Callable[[], None]]] = []
    outcome, waiting, order = Outcome(), [cells.count], [0]

    def later(delay: float, action: Callable[[], None]) -> None:
        order[0] += 1
        heapq.heappush(events, (clock.now + delay, order[0], action))

    def send(ticket: int) -> None:
        decision = limiter.admit(cells.input_tokens + cells.max_tokens)
        headers = decision.headers if on_headers is None else on_headers(decision.headers)
        outcome.sent += 1
        if not decision.allowed:
            outcome.refused += 1
            waiting[0] += 1
            later(LATENCY_S, lambda: pacer.refused(ticket, decision.retry_after_s))
            return
        later(LATENCY_S, lambda: pacer.answered(ticket, _parse(headers, clock.now)))
        later(cells.answer_s, lambda: finish(ticket, decision.ticket))

    def finish(ticket: int, share: Any) -> None:
        limiter.give_back(cells.max_tokens - cells.output_tokens, share)
        outcome.calls.append((cells.input_tokens + cells.max_tokens,
                              cells.max_tokens - cells.output_tokens, cells.answer_s))
        later(LATENCY_S, lambda: ended(ticket))

    def ended(ticket: int) -> None:
        pacer.ended(ticket, Usage(cells.input_tokens, cells.output_tokens), cells.max_tokens)
        outcome.finished_s = clock.now

    while waiting[0] or events:
        delay = _send_what_fits(pacer, need, waiting, lambda t: later(LATENCY_S, lambda: send(t)))
        wake = clock.now + min(delay, POLL_S) if waiting[0] else float("inf")
        if events and events[0][0] <= wake:
            clock.now, _, action = heapq.heappop(events)
            action()
        else:
            clock.now = wake
        assert clock.now < 3600, "the grid never ended"
    return outcome


def _send_what_fits(pacer: Pacer, need: dict[str, float], waiting: list[int],
                    send: Callable[[int], None]) -> float:
    while waiting[0]:
        ticket, delay, _ = pacer.try_take(need)
        if ticket is None:
            return delay
        waiting[0] -= 1
        send(ticket)
    return 0.0


def _parse(headers: dict[str, str], now: float) -> Any:
    return parse(headers, dt.datetime.fromtimestamp(EPOCH + now, dt.timezone.utc))
