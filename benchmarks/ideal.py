"""The least time a server's limits allow for a run's requests: the simulator's own limiter on a
fake clock, fed by a client that knows everything (each request goes, in order, at the first
instant the limiter and the concurrency let it), so the ideal holds for either meaning of reset."""
from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from opus_magic.sim.limits import Limiter, LimitSettings


@dataclass(frozen=True)
class Call:
    """One request as the server saw it: tokens taken at admission, given back at the end, and
    how long its answer took."""

    tokens: int
    given_back: int
    duration_s: float


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def ideal_s(calls: Sequence[Call], settings: LimitSettings, concurrency: int) -> float:
    """Seconds from the first admission to the last answer's end under the best schedule."""
    clock = _Clock()
    limiter = Limiter(settings, clock, lambda: 0.0)
    ends: list[float] = []  # slots: when each request in flight ends
    returns: list[tuple[float, int, int, list[float] | None]] = []  # (when, order, tokens, ticket)
    finish = 0.0
    for order, call in enumerate(calls):
        start = _start(limiter, clock, call, ends, returns, concurrency)
        decision = limiter.admit(call.tokens)
        assert decision.allowed
        heapq.heappush(ends, start + call.duration_s)
        heapq.heappush(returns, (start + call.duration_s, order, call.given_back, decision.ticket))
        finish = max(finish, start + call.duration_s)
    return finish


def _start(limiter: Limiter, clock: _Clock, call: Call, ends: list[float],
           returns: list[tuple[float, int, int, list[float] | None]], concurrency: int) -> float:
    """Move the clock to the first instant `call` can be admitted, giving back on the way."""
    while True:
        while ends and (len(ends) >= concurrency and ends[0] > clock.now):
            clock.now = max(clock.now, ends[0])
        while ends and ends[0] <= clock.now:
            heapq.heappop(ends)
        while returns and returns[0][0] <= clock.now:
            _, _, tokens, ticket = heapq.heappop(returns)
            limiter.give_back(tokens, ticket)
        wait = limiter.wait_s(call.tokens)
        if wait <= 0:
            return clock.now
        later = clock.now + max(wait, 1e-6)  # float rounding can leave a unit short by 1e-16
        clock.now = min(later, returns[0][0]) if returns else later
