"""Answers shaped the way real endpoints send them, which the simulator does not: a streamed
refusal, a usage of zero tokens, finish_reason null repeated after stop, a redirect."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from echo_endpoint import echo_endpoint

import opus_magic


@pytest.fixture
def endpoint(ip, monkeypatch) -> Iterator[str]:
    with echo_endpoint() as root:
        yield root


@pytest.mark.parametrize("flags", ["", "--no-stream"])
def test_a_streamed_refusal_is_shown_recorded_and_billed(ip, endpoint, capsys, flags) -> None:
    ip.run_line_magic("opus", f"config base_url={endpoint}/refusal/v1")
    ip.run_cell_magic("opus", f"-m gpt-4o {flags}", "Something it refuses.")
    out = capsys.readouterr().out
    record = opus_magic.last_run()
    assert record.text == "I can't help with that request." and record.text in out
    assert "The model refused" in out and "billed" in out
    assert record.status == "ok" and record.cost_exact and record.cost > 0
    assert opus_magic.history(limit=1)[0].text == record.text


@pytest.mark.parametrize("flags", ["", "--no-stream"])
def test_zero_usage_for_a_real_answer_keeps_the_estimate_and_says_so(ip, endpoint, capsys,
                                                                     flags) -> None:
    ip.run_line_magic("opus", f"config base_url={endpoint}/zero_usage/v1")
    ip.run_cell_magic("opus", f"-m gpt-4o {flags}", "Say hello.")
    out = capsys.readouterr().out
    record = opus_magic.last_run()
    assert record.text == "Hello there, a real answer."
    assert not record.cost_exact and record.cost_source == "estimate"
    assert record.usage.output_tokens > 0 and record.cost > 0
    assert "0 tokens in and out" in out and "estimate" in out


def test_a_usage_chunk_repeating_a_null_finish_reason_keeps_stop(ip, endpoint) -> None:
    ip.run_line_magic("opus", f"config base_url={endpoint}/null_after_stop/v1")
    ip.run_cell_magic("opus", "-m gpt-4o", "Finish.")
    record = opus_magic.last_run()
    assert record.finish_reason == "stop" and record.status == "ok"
    assert record.usage.input_tokens == 12 and record.cost_exact


def test_a_redirect_is_not_followed_with_the_key_and_says_where_it_points(ip, endpoint,
                                                                          capsys) -> None:
    ip.run_line_magic("opus", f"config base_url={endpoint}/redirect/v1")
    ip.run_cell_magic("opus", "-m gpt-4o", "Hello?")
    shown = capsys.readouterr()
    err = shown.out + shown.err
    record = opus_magic.last_run()
    assert record.status == "error" and record.cost == 0 and record.retry_count == 0
    assert "moved to https://elsewhere.example/v1/chat/completions" in err
    assert "put it in base_url" in err and "Traceback" not in err
