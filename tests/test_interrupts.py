"""Interrupts and timeouts tell the truth: Ctrl-C in a fan-out or a retry wait, stalls, slow first
tokens and the breaker, through `%%opus` over real HTTP on 127.0.0.1."""
from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

from echo_endpoint import HANGING, STALLING, echo_endpoint

import opus_magic
from opus_magic.core.session import default_session


def interrupt_when(ready: Callable[[], bool], limit_s: float = 20.0) -> threading.Thread:
    """Send this process SIGINT (Ctrl-C) once `ready()` holds, from a watcher thread."""
    def watch() -> None:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if ready():
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def interrupted_fan_out(ip, simulator, isolated_dirs, path: str, hung: threading.Event,
                        tag: str) -> tuple[dict[str, object], float]:
    """`-m haiku,4o` with gpt-4o routed to the echo endpoint's `path` (which hangs), interrupted
    once haiku's run is recorded and `hung` says the endpoint holds the other request: the stored
    runs by model, and how long the cell took."""
    config = isolated_dirs / "config" / "opus_magic" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    with echo_endpoint() as root:
        config.write_text(f'[profiles.hang]\nbase_url = "{root}/{path}/v1"\n'
                          f'[routes]\n"gpt-4o" = "hang"\n')
        hung.clear()

        def ready() -> bool:  # seen by the client, not only sent by the server: haiku's run
            last = default_session().last_run  # recorded, and whatever 4o's stall sent read
            held = [live for live in default_session().budget.running()
                    if live.plan.request.model == "4o"]
            return (hung.is_set() and last is not None and last.model == "haiku"
                    and all(live.state.text or path == "hang" for live in held))

        watcher = interrupt_when(ready)
        began = time.monotonic()
        ip.run_cell_magic("opus", f"-m haiku,4o -o answers --tag {tag}", "Both of you, please.")
        elapsed = time.monotonic() - began
        watcher.join()
    stored = {r.model: r for r in opus_magic.history(tag=tag)}           # written before return
    return stored, elapsed


def test_ctrl_c_during_a_fan_out_ends_every_model_inside_the_cell(ip, simulator, capsys,
                                                                  isolated_dirs) -> None:
    stored, elapsed = interrupted_fan_out(ip, simulator, isolated_dirs, "stall", STALLING, "fan")
    out, err = capsys.readouterr()
    assert set(stored) == {"haiku", "4o"} and "Traceback" not in out + err
    assert stored["haiku"].status == "ok" and stored["4o"].status == "stopped"
    assert stored["4o"].text == "The first words" and stored["4o"].text in out
    assert stored["4o"].comparison_id == stored["haiku"].comparison_id
    assert ip.user_ns["answers"] == [stored["haiku"].text, stored["4o"].text]
    assert "── echo-model ──" in out
    assert elapsed < 30                    # the hung model did not hold the cell to timeout_s
    last = opus_magic.last_run()
    assert last.model in ("haiku", "4o") and last.id in {r.id for r in stored.values()}


def test_ctrl_c_during_a_fan_out_abandons_a_request_still_waiting_for_headers(
        ip, simulator, capsys, isolated_dirs) -> None:
    stored, elapsed = interrupted_fan_out(ip, simulator, isolated_dirs, "hang", HANGING, "hang")
    out, err = capsys.readouterr()
    assert set(stored) == {"haiku", "4o"} and "Traceback" not in out + err
    assert stored["haiku"].status == "ok" and stored["4o"].status == "stopped"
    assert stored["4o"].text == "" and stored["4o"].cost_source == "not billed"
    assert len(ip.user_ns["answers"]) == 2
    assert elapsed < 30                        # not the 60 s timeout of the hung request


def test_ctrl_c_during_a_retry_wait_records_what_happened_and_bills_nothing(ip, simulator,
                                                                           capsys) -> None:
    simulator.scenario("429", retry_after=20)
    waiting = threading.Event()

    def sleep(seconds: float) -> None:                 # a real wait, announced to the watcher
        waiting.set()
        threading.Event().wait(seconds)

    default_session().sleep = sleep
    watcher = interrupt_when(waiting.is_set)
    began = time.monotonic()
    ip.run_cell_magic("opus", "--tag wait", "Rate limited, then interrupted.")
    watcher.join()
    out, err = capsys.readouterr()
    record = opus_magic.last_run()
    assert time.monotonic() - began < 15 and "Traceback" not in out + err
    assert len(simulator.requests()) == 1
    assert record.status == "stopped" and record.cost == 0 and record.cost_source == "not billed"
    (note,) = record.retries
    assert "a 20.0 s wait; not retried" in note and "waited 20.0 s and retried" not in note
    assert opus_magic.history(tag="wait")[0].retries == [note]


def test_a_stall_mid_answer_is_a_timeout_with_how_long_and_what_to_raise(ip, capsys) -> None:
    with echo_endpoint() as root:
        # long enough that the first words always arrive in time, even on a loaded machine
        ip.run_line_magic("opus", f"config base_url={root}/stall/v1 timeout_s=2")
        ip.run_cell_magic("opus", "-m gpt-4o", "Hang after a few words.")
    out = capsys.readouterr().out
    record = opus_magic.last_run()
    assert record.status == "interrupted" and record.text == "The first words"
    assert "sent nothing for 2 s and timed out mid-answer" in record.error
    assert "raise timeout_s" in record.error and "ReadTimeout" not in record.error
    assert record.error in out


def test_a_slow_first_token_is_retried_visibly_then_reported_as_a_timeout(ip, simulator, capsys
                                                                        ) -> None:
    default_session().sleep = lambda seconds: None
    simulator.configure(ttft_s=1.5)                  # headers at once, then nothing for 1.5 s
    ip.run_line_magic("opus", "config timeout_s=0.3 max_retries=1")
    ip.run_cell_magic("opus", "", "Slow to start.")
    out = capsys.readouterr().out
    record = opus_magic.last_run()
    assert len(simulator.requests()) == 2                                 # retried once
    assert "timed out (attempt 1 of 2): retrying in" in out
    assert record.status == "error" and "No answer within 0.3 s" in record.error
    assert "raise timeout_s" in record.error and "Tried 2 times" in record.error


def test_one_cells_retries_count_once_for_the_breaker(ip, simulator, capsys) -> None:
    default_session().sleep = lambda seconds: None
    ip.run_line_magic("opus", "config max_retries=4 breaker_threshold=5")
    simulator.scenario("500", times=5)
    ip.run_cell_magic("opus", "", "Five failures in one cell.")
    assert opus_magic.last_run().status == "error" and len(simulator.requests()) == 5
    ip.run_cell_magic("opus", "", "The next cell still goes out.")
    assert opus_magic.last_run().status == "ok" and len(simulator.requests()) == 6
    assert "failing since" not in capsys.readouterr().out


def test_a_stream_cut_before_the_first_token_is_retried_visibly(ip, simulator, capsys) -> None:
    default_session().sleep = lambda seconds: None
    simulator.scenario("cut", after=0, mode="reset", times=1)
    ip.run_cell_magic("opus", "", "Cut before a word arrives.")
    out = capsys.readouterr().out
    record = opus_magic.last_run()
    assert len(simulator.requests()) == 2 and record.status == "ok" and record.text
    assert "cut off before the answer began (attempt 1 of 5): retrying in" in out
    assert any("waited" in note and "retried" in note for note in record.retries)
