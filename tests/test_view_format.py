"""The one formatting module: money, time, speed, labels, end states, tables; and the retry
countdown the engine drives (no thread of the view's own)."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from opus_magic.errors import RequestError
from opus_magic.records import RunRecord, Usage
from opus_magic.view import format as fmt
from opus_magic.view.commands.history import format_table
from opus_magic.wire.retry import Breaker, Retrier, RetryPolicy


def record(**changes: object) -> RunRecord:
    base = RunRecord(id="r1", created_at="2026-01-01T00:00:00.000+00:00", model="opus", prompt="p",
                     text="t", status="ok", finish_reason="stop", usage=Usage(10, 600),
                     cost=Decimal("0.0031"), cost_exact=True, cost_source="catalog", ttft_s=0.2,
                     duration_s=2.2, max_tokens=600)
    return base.replace(**changes)


@pytest.mark.parametrize("amount, estimated, source, text", [
    (Decimal("0.000041"), False, None, "$0.000041"),
    (Decimal("0.0000251234"), True, None, "≈$0.00002512"),
    (Decimal(1) / Decimal(3), False, None, "$0.3333"),  # a Decimal division: not 28 decimals
    (Decimal("0.01205"), False, None, "$0.01205"),
    (Decimal("1.23456"), False, None, "$1.235"),
    (Decimal("1234.5"), True, None, "≈$1234.50"),
    (None, True, None, "unknown"),
    (Decimal(0), False, "not billed", "not billed"),
])
def test_money_has_one_rule(amount: Decimal | None, estimated: bool, source: str | None,
                            text: str) -> None:
    assert fmt.money(amount, estimated, source) == text
    assert fmt.money(amount, estimated, source).count("≈") <= 1


@pytest.mark.parametrize("changes, state", [
    ({}, "complete"),
    ({"finish_reason": "length"}, "hit max_tokens (yours: 600)"),
    ({"finish_reason": "length", "usage": Usage(10, 300)}, "hit the model's ceiling"),
    ({"status": "stopped", "finish_reason": None}, "stopped by you"),
    ({"status": "stopped", "stop_reason": "budget"}, "stopped: budget"),
    ({"status": "interrupted", "finish_reason": None}, "interrupted"),
    ({"status": "error", "finish_reason": None}, "error"),
])
def test_end_states_are_words_not_finish_reasons(changes: dict[str, object], state: str) -> None:
    assert fmt.end_state(record(**changes)) == state


def test_speed_needs_a_window_that_means_something() -> None:
    assert fmt.rate(40, 0.02) == "–" and fmt.rate(0, 3.0) == "–"
    assert fmt.rate(40, 2.0) == "20.0 tok/s"
    assert fmt.rate(10, 2.0) == "–"        # too few tokens to say
    assert record(ttft_s=0.02, duration_s=0.03).tokens_per_s is None
    assert record().tokens_per_s == pytest.approx(300)


def test_model_label_marks_the_simulator() -> None:
    assert fmt.model_label(record(response_model="claude-opus-4-6")) == "claude-opus-4-6"
    assert fmt.model_label(record(simulator=True)) == "opus (simulator)"


def test_text_tables_align_and_leave_a_last_text_column_unpadded() -> None:
    table = fmt.text_table([["a", "1", "x"], ["bbb", "22", "long text"]], left={0, 2})
    assert table.splitlines() == ["a     1  x", "bbb  22  long text"]


def test_history_table_shows_how_runs_ended_their_comparison_tag_and_prompt_start() -> None:
    long_prompt = "Explain prompt caching to a new engineer in three sentences, with one example."
    table = format_table([record(prompt=long_prompt, comparison_id="c0ffee", tag="intro"),
                          record(id="r2", status="stopped", finish_reason=None)])
    header, first, second = table.splitlines()
    assert header.split()[:4] == ["id", "created", "(UTC)", "model"] and "comparison" in header
    assert "c0ffee" in first and "intro" in first and "complete" in first
    assert "Explain prompt caching to a new engineer in" in first and first.endswith("…")
    assert "stopped by you" in second


def test_a_retry_wait_is_counted_down_by_the_retrier_ending_on_now() -> None:
    calls = []

    def send() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise RequestError("HTTP 429", status=429, retryable=True, retry_after_s=1.2)
        return "answer"

    heard: list[tuple[str, float]] = []
    retrier = Retrier(RetryPolicy(), Breaker("test"))
    result = retrier.call(send, lambda s, why: heard.append(("wait", s)), threading.Event(),
                          lambda left: heard.append(("tick", left)))
    assert result == "answer"
    assert heard[0] == ("wait", 1.2) and heard[-1] == ("tick", 0.0)
    assert [kind for kind, _ in heard] == ["wait", "tick", "tick"]
    assert heard[1][1] == pytest.approx(0.2)
