"""Pure parts of grids: rate-limit headers, pacing with an injected clock, checks, percentiles,
the simulator's buckets."""
from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from fakes import Clock

from opus_magic.core.budget import Budget
from opus_magic.core.grid.admission import Reservations
from opus_magic.core.grid.checks import built_in, passed, resolve
from opus_magic.core.grid.summary import percentile
from opus_magic.errors import UsageError
from opus_magic.sim.limits import Limiter, LimitSettings, duration
from opus_magic.wire.endpoints import Endpoint
from opus_magic.wire.explain import explain_status
from opus_magic.wire.ratelimits import Limit, RateLimits, duration_s, low_line, parse

NOW = dt.datetime(2026, 11, 30, 12, 0, 0, tzinfo=dt.timezone.utc)


def test_anthropic_headers_with_rfc3339_resets() -> None:
    headers = {"anthropic-ratelimit-requests-limit": "50",
               "anthropic-ratelimit-requests-remaining": "4",
               "anthropic-ratelimit-requests-reset": "2026-11-30T12:00:12Z",
               "Anthropic-RateLimit-Input-Tokens-Limit": "30000",
               "anthropic-ratelimit-input-tokens-remaining": "29000",
               "anthropic-ratelimit-input-tokens-reset": "2026-11-30T12:00:01.500+00:00",
               "anthropic-ratelimit-output-tokens-remaining": "8000"}
    limits = parse(headers, NOW)
    assert limits.get("requests") == Limit(50, 4, 12.0)
    assert limits.get("input_tokens") == Limit(30000, 29000, 1.5)
    assert limits.get("output_tokens") == Limit(None, 8000, None)
    assert limits.get("tokens") is None
    assert low_line(limits.to_dict()) == "Rate limit: 4 of 50 requests left (full again in 12 s)."
    assert RateLimits.from_dict(limits.to_dict()) == limits


def test_openai_headers_with_duration_resets() -> None:
    headers = {"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "0",
               "x-ratelimit-reset-requests": "6m0s", "x-ratelimit-limit-tokens": "30000",
               "x-ratelimit-remaining-tokens": "29000", "x-ratelimit-reset-tokens": "12ms"}
    limits = parse(headers, NOW)
    assert limits.get("requests") == Limit(500, 0, 360.0)
    assert limits.get("tokens") == Limit(30000, 29000, 0.012)
    assert limits.exhausted_wait_s() == 360.0
    assert parse({"content-type": "text/plain"}, NOW) is None


@pytest.mark.parametrize("text,seconds", [("6m0s", 360.0), ("12ms", 0.012), ("1.5s", 1.5),
                                          ("1h2m3s", 3723.0), ("2", 2.0), ("soon", None),
                                          ("", None)])
def test_durations(text: str, seconds: float | None) -> None:
    assert duration_s(text) == seconds


def test_a_429_without_retry_after_waits_until_the_limit_refills() -> None:
    reset = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=30)).isoformat()
    headers = {"anthropic-ratelimit-requests-limit": "50",
               "anthropic-ratelimit-requests-remaining": "0",
               "anthropic-ratelimit-requests-reset": reset}
    error = explain_status(429, {"message": "slow down"}, headers, Endpoint("default", "http://x"))
    assert error.retryable and 28 < error.retry_after_s <= 30
    with_header = explain_status(429, {}, {**headers, "retry-after": "3"},
                                 Endpoint("d", "http://x"))
    assert with_header.retry_after_s == 3.0


def test_reservations_hold_worst_cases_and_refuse_what_cannot_fit() -> None:
    budget = Budget()
    cancel = threading.Event()
    admission = Reservations(budget, Decimal("1.00"))
    assert admission.admit(Decimal("0.60"), cancel) is None
    assert admission.admit(Decimal("0.30"), cancel) is None
    admission.release(Decimal("0.30"))
    admission.release(Decimal("0.60"))
    budget.spent = Decimal("0.50")
    assert "over the session budget" in admission.admit(Decimal("0.60"), cancel)
    assert "price is unknown" in admission.admit(None, cancel)
    assert Reservations(budget, None).admit(None, cancel) is None


def test_built_in_checks() -> None:
    row = {"label": " Billing "}
    assert built_in("json", [])
    assert built_in("json", []).run('```json\n{"a": 1}\n```', row) is True
    assert built_in("json", []).run("{oops", row) is False
    assert built_in("contains:ERROR", []).run("an error here", row) is True
    assert built_in("regex:^\\d+$", []).run("123", row) is True
    assert built_in("equals:label", ["label"]).run("billing.", row) is True
    assert built_in("equals:label", ["label"]).run("bug", row) is False
    assert built_in("max_words:2", []).run("one two three", row) is False
    assert built_in("nothing", []) is None
    with pytest.raises(UsageError, match="no column 'x'"):
        built_in("equals:x", ["label"])
    with pytest.raises(UsageError, match="not a valid regular expression"):
        built_in("regex:(", [])
    broken = resolve(["boom"], {"boom": lambda a, r: 1 / 0}, [])[0]
    assert broken.run("x", row) == "check error: ZeroDivisionError: division by zero"
    assert not passed(broken.run("x", row)) and not passed(None)
    assert passed(0.5) and not passed(0.49) and passed(True)


def test_percentiles() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 0.95) == 95.0


def test_the_simulators_buckets_refill_and_say_so_in_both_styles() -> None:
    clock = Clock(100.0)
    limiter = Limiter(LimitSettings(requests=2, tokens=100, window_s=10.0), clock, lambda: 0.0)
    assert limiter.admit(40).allowed and limiter.admit(40).allowed
    refused = limiter.admit(10)
    assert not refused.allowed and refused.retry_after_s == pytest.approx(5.0)
    assert refused.headers["retry-after"] == "5"
    assert refused.headers["anthropic-ratelimit-requests-remaining"] == "0"
    clock.now += 5.0
    assert limiter.admit(10).allowed
    openai = Limiter(LimitSettings(requests=60, style="openai", retry_after=False), clock)
    headers = openai.admit(0).headers
    assert headers["x-ratelimit-remaining-requests"] == "59"
    assert headers["x-ratelimit-reset-requests"] == "1s" and "retry-after" not in headers
    assert duration(0.012) == "12ms" and duration(360) == "6m0s" and duration(2.25) == "2.25s"


def test_the_benchmarks_ideal_time_follows_each_meaning_of_reset() -> None:
    from benchmarks.ideal import Call, ideal_s

    calls = [Call(tokens=100, given_back=0, duration_s=0.0)] * 200
    bucket = LimitSettings(requests=60, window_s=60.0)
    assert ideal_s(calls, bucket, 200) == pytest.approx(140.0)  # 60 at once, then one a second
    window = LimitSettings(requests=60, window_s=60.0, limiter="window")
    assert ideal_s(calls, window, 200) == pytest.approx(180.0)  # 60 again each minute
    tokens = LimitSettings(requests=60, tokens=2_000, window_s=60.0)
    assert ideal_s(calls[:30], tokens, 30) == pytest.approx(30.0)  # 20 at once, then one per 3 s
    slow = [Call(tokens=100, given_back=0, duration_s=1.0)] * 8
    assert ideal_s(slow, bucket, 4) == pytest.approx(2.0)  # four at a time, one second each


def test_a_large_grid_redraws_a_window_of_rows_while_it_runs() -> None:
    from opus_magic.view.grid.widget import LIVE_ROWS, shown_rows

    rows = list(range(200))
    statuses = ["ok" if row < 50 else "pending" for row in rows]
    window, caption = shown_rows(rows, statuses, live=True)
    assert window == list(range(48, 48 + LIVE_ROWS)) and "of 200" in caption
    assert shown_rows(rows, statuses, live=False) == (rows, "")


def test_a_finished_grid_past_the_end_limit_shows_its_first_rows_and_says_where_the_rest_are(
) -> None:
    from opus_magic.core.grid.summary import CellResult
    from opus_magic.view.grid.table import END_ROWS, cell_rows, more_rows
    from opus_magic.view.grid.widget import shown_rows

    rows = [row for row in range(END_ROWS + 5) for _ in range(2)]  # two columns
    window, caption = shown_rows(rows, ["ok"] * len(rows), live=False)
    assert window == list(range(END_ROWS)) and f"of {END_ROWS + 5:,}" in caption
    cells = [CellResult("cell", model, row, "ok", None, {})
             for row in range(END_ROWS + 5) for model in ("haiku", "opus")]
    table = cell_rows(cells, END_ROWS)
    assert len(table) == END_ROWS + 1 and table[-1][0] == str(END_ROWS - 1)
    assert more_rows(cells) == ["… 5 more rows: -o NAME keeps every cell, and %opus grid "
                                "shows them all."]
    assert more_rows(cells[:-2]) == ["… 4 more rows: -o NAME keeps every cell, and %opus grid "
                                     "shows them all."]
    assert more_rows(cells[:2 * END_ROWS]) == [] and len(cell_rows(cells)) == END_ROWS + 6
