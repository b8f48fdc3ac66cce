"""The grid's pacer on a fake clock: recorded header sequences of both meanings of "reset", the
scheduler's rules after 429s, long waits, and closed-loop runs against the simulator's limiter."""
from __future__ import annotations

import datetime as dt
import threading
from types import SimpleNamespace

import pytest
from fakes import Clock
from pacing_sim import Cells, run

from benchmarks.ideal import Call, ideal_s
from opus_magic.core.grid.pacing import POLL_S, PacedRetrier, Pacer, needs
from opus_magic.errors import RequestError
from opus_magic.records import Usage
from opus_magic.sim.limits import LimitSettings
from opus_magic.wire.ratelimits import parse
from opus_magic.wire.retry import Breaker, Retrier, RetryPolicy

NOW = dt.datetime(2026, 12, 6, 12, 0, 0, tzinfo=dt.timezone.utc)
ONE = needs(10, 20)
# What a sliding-window server (5 requests a minute) answered to five sends 0.1 s apart: the
# reset stays on the first send's exit from the window while the deficit grows.
WINDOW = [("4", "1m0s"), ("3", "59.9s"), ("2", "59.8s"), ("1", "59.7s"), ("0", "59.6s")]
# What a refilling bucket (5 requests, one back a second) answered to the same five sends.
BUCKET = [("4", "1s"), ("3", "1.9s"), ("2", "2.8s"), ("1", "3.7s"), ("0", "4.6s")]


def headers(remaining: str, reset: str, limit: str = "5") -> dict[str, str]:
    return {"x-ratelimit-limit-requests": limit, "x-ratelimit-remaining-requests": remaining,
            "x-ratelimit-reset-requests": reset}


def replay(pacer: Pacer, clock: Clock, recorded: list[tuple[str, str]]) -> None:
    """Send once per recorded answer, 0.1 s apart, and read the answer back at once."""
    for remaining, reset in recorded:
        ticket, delay, _ = pacer.try_take(ONE)
        assert ticket is not None and delay == 0
        pacer.answered(ticket, parse(headers(remaining, reset), NOW))
        pacer.ended(ticket, Usage(10, 5), 20)
        clock.now += 0.1


def test_a_window_server_is_recognised_and_what_remains_bounds_every_send() -> None:
    clock = Clock(100.0)
    pacer = Pacer(4, clock)
    replay(pacer, clock, WINDOW)
    assert pacer.mirrors["requests"].meaning == "window"
    assert pacer.try_take(ONE)[0] is None  # a refill model would send again within a second
    clock.now = 159.9
    assert pacer.try_take(ONE)[0] is None
    clock.now = 160.11  # the first send surely left the window (60 s ± 0.1): one more goes
    assert pacer.try_take(ONE)[0] is not None
    assert pacer.try_take(ONE)[0] is None
    clock.now = 160.21  # and the second's exit lets the next one go
    assert pacer.try_take(ONE)[0] is not None


def test_a_bucket_server_is_recognised_and_its_confirmed_refill_lets_sends_go_sooner() -> None:
    clock = Clock(100.0)
    pacer = Pacer(4, clock)
    replay(pacer, clock, BUCKET)
    mirror = pacer.mirrors["requests"]
    assert mirror.meaning == "bucket" and mirror.rate[0] == pytest.approx(1.0, abs=0.35)
    assert pacer.try_take(ONE)[0] is None
    clock.now += 1.5  # well before the reset (4.6 s): the refill was confirmed by the reports
    assert pacer.try_take(ONE)[0] is not None


def test_until_reports_agree_on_a_meaning_remaining_holds_until_the_reset_then_one_probes() -> None:
    clock = Clock(100.0)
    pacer = Pacer(4, clock)
    ticket = pacer.try_take(ONE)[0]
    pacer.answered(ticket, parse(headers("0", "10s", limit="1"), NOW))
    assert pacer.mirrors["requests"].meaning == "unknown"
    assert pacer.try_take(ONE)[1] == pytest.approx(10.0, abs=0.01)
    clock.now += 10.0
    probe = pacer.try_take(ONE)[0]
    assert probe is not None
    assert pacer.try_take(ONE)[:2] == (None, POLL_S)  # the rest wait for the probe's answer
    pacer.answered(probe, parse(headers("0", "10s", limit="1"), NOW))
    assert pacer.try_take(ONE)[1] == pytest.approx(10.0, abs=0.01)


def test_a_model_that_promised_more_than_a_later_report_shows_is_turned_off() -> None:
    clock = Clock(100.0)
    pacer = Pacer(4, clock)
    replay(pacer, clock, BUCKET)
    clock.now += 4.0  # the bucket model expects four back; someone else took them meanwhile
    ticket = pacer.try_take(ONE)[0]
    pacer.answered(ticket, parse(headers("0", "4.9s"), NOW))
    assert not pacer.mirrors["requests"].trusted
    assert pacer.mirrors["requests"].meaning == "unknown"


def test_successive_429s_halve_the_current_allowance_even_after_it_grew_back() -> None:
    clock = Clock(100.0)
    pacer = Pacer(8, clock)
    pacer.refused(pacer.try_take(ONE)[0], 0.0)
    assert pacer.target == 4
    for _ in range(4 * 4):  # a run of successes grows it back by one
        ticket = pacer.try_take(ONE)[0]
        pacer.answered(ticket, None)
        pacer.ended(ticket, Usage(10, 5), 20)
    assert pacer.target == 5
    pacer.refused(pacer.try_take(ONE)[0], 0.0)
    assert pacer.target == 2  # 5 halved, not 8
    pacer.refused(pacer.try_take(ONE)[0], 0.0)
    assert pacer.target == 1 and pacer.throttled == 3


def test_the_longest_pause_asked_for_wins_over_a_later_shorter_one() -> None:
    clock = Clock(100.0)
    pacer = Pacer(4, clock)
    first = pacer.try_take(ONE)[0]
    pacer.answered(first, None)  # the first answer taught nothing: others may go
    second = pacer.try_take(ONE)[0]
    pacer.refused(pacer.try_take(ONE)[0], 30.0)
    pacer.refused(second, 2.0)
    clock.now += 3.0
    assert pacer.try_take(ONE)[1] == pytest.approx(27.0)


def test_in_flight_never_shows_more_than_the_allowance_after_a_429() -> None:
    clock = Clock(100.0)
    pacer = Pacer(4, clock)
    first = pacer.try_take(ONE)[0]
    pacer.answered(first, None)
    tickets = [first, *(pacer.try_take(ONE)[0] for _ in range(3))]
    pacer.refused(tickets[3], 0.0)
    assert pacer.describe() == "3 of 3 in flight (lowered from 4 after 429s)"
    pacer.ended(tickets[0], Usage(10, 5), 20)
    assert pacer.describe() == "2 of 2 in flight (lowered from 4 after 429s)"
    assert pacer.try_take(ONE)[:2] == (None, POLL_S)  # no new send until fewer than 2


@pytest.mark.parametrize("retry_after,reset", [(3600.0, None), (None, "3h0m0s")])
def test_a_wait_longer_than_the_retry_cap_ends_the_cell_instead_of_holding_the_grid(
        retry_after: float | None, reset: str | None) -> None:
    clock = Clock(100.0)
    pacer = Pacer(4, clock)
    ticket = pacer.try_take(ONE)[0]
    if retry_after is not None:
        pacer.refused(ticket, retry_after)
    else:
        pacer.answered(ticket, parse(headers("0", reset, limit="1000"), NOW))
    with pytest.raises(RequestError, match=r"longer than retry_cap_s \(120 s\)"):
        pacer.before_send(ONE, threading.Event(), cap_s=120.0)


@pytest.mark.parametrize("limiter", ["bucket", "window"])
@pytest.mark.parametrize("style", ["openai", "anthropic"])
@pytest.mark.parametrize("tokens", [None, 2500])
def test_two_hundred_cells_under_either_limiter_finish_near_the_ideal_without_429s(
        limiter: str, style: str, tokens: int | None) -> None:
    """The benchmark's grid: 200 calls, 60 requests a minute (and 2,500 tokens), 4 at a time."""
    settings = LimitSettings(requests=60, tokens=tokens, window_s=60.0, style=style,
                             limiter=limiter)
    outcome = run(settings, Cells(200, input_tokens=20, max_tokens=40, output_tokens=25,
                                  answer_s=0.5))
    ideal = ideal_s([Call(*call) for call in outcome.calls], settings, 4)
    assert outcome.refused == 0 and outcome.sent == 200
    assert outcome.finished_s <= 1.05 * ideal


def test_an_answer_that_says_nothing_remains_is_kept_not_sent_again() -> None:
    pacer = Pacer(4, Clock(100.0))
    retrier = PacedRetrier(Retrier(RetryPolicy(), Breaker("sim")), pacer, ONE)
    sent: list[int] = []
    answer = SimpleNamespace(headers=headers("0", "1m0s"))
    assert retrier.call(lambda: sent.append(1) or answer, lambda s, r: None,
                        threading.Event()) is answer
    assert sent == [1] and pacer.throttled == 0 and retrier.ticket == 1
