"""`%opus sim` steers the built-in simulator a kernel without a key runs against."""
from __future__ import annotations

from typing import Any

import pytest

import opus_magic


@pytest.fixture
def shell(builtin_ip: Any) -> Any:
    """Runs go to the built-in simulator, the one %opus sim steers."""
    return builtin_ip


def test_alone_it_says_where_the_simulator_listens_and_how_it_answers(
        shell: Any, capsys: pytest.CaptureFixture[str]) -> None:
    shell.run_cell_magic("opus", "-m haiku --max-tokens 10", "Hello")
    endpoint = opus_magic.last_run().endpoint
    capsys.readouterr()
    shell.run_line_magic("opus", "sim")
    out = capsys.readouterr().out
    assert f"Built-in simulator (not a real model) at {endpoint}" in out
    assert "instant (the whole answer at once)" in out and "fault           none" in out


def test_a_fault_reaches_the_next_run_only(shell: Any, capsys: pytest.CaptureFixture[str]) -> None:
    shell.run_line_magic("opus", "sim fault error status=413 times=1")
    assert "fault           error status=413 (the next request)" in capsys.readouterr().out
    shell.run_cell_magic("opus", "-m haiku --max-tokens 10", "Hello")
    failed = opus_magic.last_run()
    assert failed.status == "error" and "413" in failed.error
    shell.run_cell_magic("opus", "-m haiku --max-tokens 10", "Hello")
    assert opus_magic.last_run().status == "ok"


def test_pacing_and_batch_delay_are_set_and_shown(shell: Any,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    shell.run_line_magic("opus", "sim tokens_per_second=200 ttft_s=0.6 batch_delay=30")
    out = capsys.readouterr().out
    assert "Changed: tokens_per_second=200, ttft_s=0.6, batch_delay=30." in out
    assert "200 tokens/s after a 0.6 s first token" in out and "batches end     30 s" in out
    shell.run_cell_magic("opus", "-m haiku --max-tokens 40", "Explain prompt caching.")
    assert opus_magic.last_run().ttft_s >= 0.6      # the simulator waits that long at least
    shell.run_line_magic("opus", "sim instant")
    assert "instant (the whole answer at once)" in capsys.readouterr().out


@pytest.mark.parametrize("line, said", [
    ("sim warp=3", "'warp' is not a simulator setting"),
    ("sim fault nope", "unknown scenario 'nope'"),
    ("sim ttft_s=-1", "must not be negative"),
    ("sim 429", "'429' is not key=value"),
])
def test_bad_input_is_one_line(shell: Any, capsys: pytest.CaptureFixture[str], line: str,
                               said: str) -> None:
    shell.run_line_magic("opus", line)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and said in err and "Traceback" not in err


def test_help_says_how_to_steer_it(shell: Any, capsys: pytest.CaptureFixture[str]) -> None:
    shell.run_line_magic("opus", "help")
    out = capsys.readouterr().out
    assert "%opus sim fault NAME" in out and "%opus sim [real|instant]" in out
