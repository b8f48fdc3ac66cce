"""The built-in simulator answers at a real model's pace; speed is shown only where it means
something, by one rule, in the run view, the comparison's "fastest" and `%opus stats`."""
from __future__ import annotations

import re
from typing import Any

import pytest

import opus_magic
from opus_magic.core.comparison import rank
from opus_magic.records import RunRecord, Usage, tokens_per_s
from opus_magic.sim.pace import PACE_ENV, REAL_TOKENS_PER_S, REAL_TTFT_S, builtin_pace


def test_the_builtin_simulator_streams_like_a_real_model(builtin_ip: Any,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(PACE_ENV, "real")
    builtin_ip.run_cell_magic("opus", "-m haiku --max-tokens 40",
                                   "Explain prompt caching in one paragraph.")
    run = opus_magic.last_run()
    assert run.status == "ok" and run.simulator and run.usage.output_tokens == 40
    # lower bounds only: the simulator waits this long at least, however loaded the machine is
    assert run.ttft_s >= REAL_TTFT_S
    # a block's first piece may go with its start, the rest a 60th of a second apart at least
    assert run.duration_s - run.ttft_s >= (run.usage.output_tokens - 2) / REAL_TOKENS_PER_S
    assert run.tokens_per_s is not None and run.tokens_per_s <= REAL_TOKENS_PER_S * 1.05
    assert "built-in simulator" in capsys.readouterr().out


def test_pace_is_real_unless_instant_is_asked_for() -> None:
    assert builtin_pace({}) == {"tokens_per_second": REAL_TOKENS_PER_S, "ttft_s": REAL_TTFT_S}
    assert builtin_pace({PACE_ENV: "Instant "}) == {"tokens_per_second": None, "ttft_s": 0.0}


def test_a_pace_that_does_not_exist_is_one_line(builtin_ip: Any, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(PACE_ENV, "warp")
    builtin_ip.run_cell_magic("opus", "-m haiku", "hello")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "opus: The simulator's pace is real or instant, not 'warp'" in err
    assert "Traceback" not in err and opus_magic.last_run() is None


def record(run_id: str, output: int, ttft: float | None, duration: float | None) -> RunRecord:
    return RunRecord(id=run_id, created_at="2026-12-06T10:00:00.000+00:00", model=run_id,
                     prompt="p", usage=Usage(100, output), ttft_s=ttft, duration_s=duration)


@pytest.mark.parametrize("output, stream_s, speed", [
    (200, 2.0, 100.0),
    (200, 0.03, None),     # an instant server: 6,667 tok/s would say nothing about the model
    (5, 2.0, None),        # a five-token answer has no speed worth comparing
    (20, 0.5, 40.0),
    (200, None, None),
])
def test_speed_needs_enough_tokens_over_enough_streaming(output: int, stream_s: float | None,
                                                         speed: float | None) -> None:
    assert tokens_per_s(output, stream_s) == speed
    run = record("r", output, None if stream_s is None else 0.25,
                 None if stream_s is None else 0.25 + stream_s)
    assert run.tokens_per_s == (None if speed is None else pytest.approx(speed))


def test_fastest_only_among_speeds_that_mean_something() -> None:
    short = [record("a", 8, 0.1, 0.2), record("b", 8, 0.1, 0.4)]
    assert not any(row.fastest for row in rank(short))            # both "–": nobody is fastest
    one = [record("a", 200, 0.1, 1.1), record("b", 8, 0.1, 0.15)]
    assert not any(row.fastest for row in rank(one))              # one speed compares to nothing
    two = [record("a", 200, 0.1, 1.1), record("b", 200, 0.1, 4.1), record("c", 8, 0.1, 0.12)]
    assert [row.fastest for row in rank(two)] == [True, False, False]


def test_short_answers_show_no_speed_and_no_fastest(ip: Any, simulator: Any,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    simulator.configure(answer_tokens=6)
    ip.run_cell_magic("opus", "-m opus,haiku --tag short", "Say hi.")
    out = capsys.readouterr().out
    summary = out[out.rindex("model "):]
    assert "fastest" not in summary and "tok/s" in summary
    lines = summary.splitlines()[1:3]
    assert all(re.search(r"\s–\s*(← cheapest)?$", line) for line in lines), lines


def test_a_comparison_names_the_fastest_by_speed(ip: Any, simulator: Any,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    simulator.configure(tokens_per_second={"claude-opus-5-5": 100, "claude-haiku-5-5": 300},
                        answer_tokens=200)
    ip.run_cell_magic("opus", "-m opus,haiku --tag fast", "Explain prompt caching.")
    out = capsys.readouterr().out
    summary = out[out.rindex("model "):]
    assert re.search(r"claude-haiku-5-5 \(simulator\).*← cheapest, fastest", summary)
    assert not re.search(r"claude-opus-5-5 \(simulator\).*fastest", summary)


def test_stats_show_no_speed_for_an_instant_simulator(ip: Any, simulator: Any,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    simulator.configure(answer_tokens=300)      # hundreds of tokens in a few milliseconds
    ip.run_cell_magic("opus", "-m opus --tag instant", "Explain prompt caching.")
    assert opus_magic.last_run().usage.output_tokens == 300
    capsys.readouterr()
    ip.run_line_magic("opus", "stats --tag instant")
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[-1] == "tokens/s"
    assert [line.split()[-1] for line in table[1:3]] == ["–", "–"]
