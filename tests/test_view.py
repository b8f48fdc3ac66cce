"""The widget view: state → display mapping and the throttle (pure, injected clocks), then the real
magic with the widget presentation forced, against the simulator over real HTTP."""
from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

import opus_magic
from opus_magic import tokens
from opus_magic.catalog import default_catalog
from opus_magic.client import Endpoint
from opus_magic.engine import LiveRun
from opus_magic.plan import RunRequest, plan_run
from opus_magic.present import BLOCKING, TEXT, last_view, presentation
from opus_magic.pricing import format_usd, usage_cost
from opus_magic.records import RunRecord, Usage
from opus_magic.session import default_session
from opus_magic.stream import TextDelta
from opus_magic.view import SEGMENT_CHARS, RunPanel
from opus_magic.view_state import Throttle, header_html, meter_html, readable, snapshot

MODEL = "claude-opus-4-6"
INFO = default_catalog().get(MODEL)


class Clock:
    """A clock the test moves; counts how often it is read."""

    def __init__(self) -> None:
        self.now = 0.0
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now


def make_live(max_tokens: int = 1024, notes: tuple[str, ...] = ()) -> LiveRun:
    request = RunRequest(prompt="Explain caching.", model="opus", max_tokens=max_tokens, notes=notes)
    plan = plan_run(request, MODEL, INFO, Endpoint("http://127.0.0.1:9/v1", None), MODEL, 10.0)
    return LiveRun(plan, "run1", "2026-01-01T00:00:00Z", 0.0, tokens.TokenCounter(MODEL))


def feed(live: LiveRun, observer: Any, pieces: list[str], clock: Clock, step: float) -> None:
    """Deliver content chunks the way the engine does: state, first token time, counter, delta."""
    for piece in pieces:
        clock.now += step
        for event in live.state.handle_chunk({"choices": [{"delta": {"content": piece}}]}):
            assert isinstance(event, TextDelta)
            if live.first_token_at is None:
                live.first_token_at = clock.now
            live.counter.add(event.text)
            observer.delta(live, event.text)


def finish(live: LiveRun, clock: Clock, usage: dict[str, int] | None = None,
           reason: str = "stop") -> RunRecord:
    live.state.handle_chunk({"choices": [{"delta": {}, "finish_reason": reason}]})
    if usage:
        live.state.handle_chunk({"choices": [], "usage": usage})
    live.ended = clock.now
    return RunRecord(id=live.id, created_at=live.created_at, model="opus", prompt="p",
                     text=live.state.text, status="ok", finish_reason=reason, usage=live.usage,
                     cost=usage_cost(live.usage, INFO), cost_exact=live.exact,
                     ttft_s=live.first_token_at, duration_s=clock.now, max_tokens=live.plan.max_tokens)


class RunPanelStub:
    def delta(self, live: LiveRun, text: str) -> None:
        pass


def test_meter_is_estimated_until_the_servers_usage_and_then_exact() -> None:
    live, clock = make_live(), Clock()
    waiting = snapshot(live, 0.1)
    assert waiting.label == "waiting for the first token" and waiting.meter.ttft == "–"
    feed(live, RunPanelStub(), ["Hello", " world", "!"], clock, 0.25)
    snap = snapshot(live, 1.0)
    assert snap.status == "running" and snap.label == "streaming"
    assert not snap.meter.exact and "≈ estimated" in meter_html(snap.meter)
    assert all(cost.startswith("≈$") for cost in (snap.meter.input_cost, snap.meter.output_cost,
                                                    snap.meter.total_cost))
    assert snap.meter.ttft == "0.25 s"
    assert snap.meter.tokens == f"{live.plan.input_tokens:,} in · {live.counter.tokens:,} out"
    assert snap.meter.rate == f"{live.counter.tokens / 0.75:,.1f} tok/s"
    record = finish(live, clock, usage={"prompt_tokens": 40, "completion_tokens": 3})
    done = snapshot(live, 2.0, record)
    assert done.meter.exact and "exact" in meter_html(done.meter) and "≈" not in meter_html(done.meter)
    assert done.meter.total_cost == format_usd(usage_cost(Usage(40, 3), INFO))
    assert done.meter.input_cost == format_usd(Decimal(40) * 5 / 10**6)
    assert done.meter.output_cost == format_usd(Decimal(3) * 25 / 10**6)
    assert done.status == "ok" and done.label == "done · stop"
    assert done.summary and f"run {live.id}" in done.summary


def test_header_names_model_status_and_simulator() -> None:
    live = make_live()
    assert "opus-simulator" not in header_html(snapshot(live, 0.0))
    live.simulator = True
    header = header_html(snapshot(live, 0.0))
    assert MODEL in header and "opus-status-running" in header and "simulator" in header


def test_length_clamp_and_readable_output() -> None:
    live, clock = make_live(max_tokens=200_000, notes=("a note",)), Clock()
    feed(live, RunPanelStub(), ["Costs $5 ", "and *more*"], clock, 0.1)
    record = finish(live, clock, reason="length")
    snap = snapshot(live, 1.0, record)
    assert any("clamped to 128,000" in w for w in snap.warnings) and "a note" in snap.warnings
    assert any("output ceiling (128,000)" in line for line in snap.outcome)
    text = readable(record, live)
    assert "Costs $5 and *more*" in text["text/plain"] and "clamped to 128,000" in text["text/plain"]
    assert record.text in text["text/markdown"]  # the answer is Markdown already
    assert f"run {live.id}" in text["text/markdown"] and "\\$" in text["text/markdown"]  # no maths


def test_throttle_allows_twenty_pushes_a_second_and_reads_the_clock_rarely() -> None:
    clock = Clock()
    throttle = Throttle(0.05, clock)
    for _ in range(5_000):  # 5,000 chunks over one second
        clock.now += 0.0002
        throttle.due()
    assert 15 <= throttle.pushes <= 1 + 20 * 1
    assert clock.reads < 5_000 / 4


def test_panel_pushes_a_fast_stream_a_bounded_number_of_times_and_ends_complete() -> None:
    clock = Clock()
    panel = RunPanel(clock=clock)
    meters: list[str] = []
    panel.meter.observe(lambda change: meters.append(change["new"]), names="value")
    live = make_live()
    panel.started(live)
    pieces = [f"word{i} " + ("\n" if i % 50 == 49 else "") for i in range(5_000)]
    feed(live, panel, pieces, clock, 0.0004)  # 5,000 chunks in two seconds
    duration = clock.now
    segments = panel.text.children
    assert len(segments) > 1  # frozen as they filled: a push never resends the whole answer
    assert all(len(s.value) < 2 * SEGMENT_CHARS + 200 for s in segments)
    record = finish(live, clock, usage={"prompt_tokens": 40, "completion_tokens": 5_000})
    panel.finished(live, record)
    assert len(meters) <= 2 + 20 * duration
    assert "exact" in meters[-1] and "5,000 out" in meters[-1]
    [final] = panel.text.children
    assert final.outputs[0]["data"]["text/markdown"] == "".join(pieces)
    assert "opus-status-ok" in panel.box._dom_classes


def test_presentation_outside_a_kernel() -> None:
    assert presentation("auto") == TEXT and presentation("text") == TEXT
    assert presentation("widget") == BLOCKING


def test_the_view_setting_is_checked(ip: Any, capsys: Any) -> None:
    ip.run_line_magic("opus", "config view=sideways")
    err = capsys.readouterr().err
    assert "Setting 'view' cannot be 'sideways'" in err and "widget or text" in err
    ip.run_line_magic("opus", "config view=widget")
    assert "view            widget" in capsys.readouterr().out


# --- the real magic, widget presentation forced, against the simulator ------------------------

def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


@pytest.fixture
def widget_ip(ip: Any) -> Any:
    ip.run_line_magic("config", "OpusMagics.view = 'widget'")
    return ip


def test_widget_view_shows_the_run_and_sets_the_variable(widget_ip: Any, simulator: Any) -> None:
    widget_ip.run_cell("%%opus -o answer --concise --tag w\nExplain prompt caching.")
    view = last_view()
    [record] = view.records
    assert record.status == "ok" and record == opus_magic.last_run()
    assert widget_ip.user_ns["answer"] == record.text
    [final] = view.panel.text.children
    assert final.outputs[0]["data"]["text/markdown"] == record.text
    assert "exact" in view.panel.meter.value and format_usd(record.cost) in view.panel.meter.value
    assert "simulator" in view.panel.header.value and f"run {record.id}" in view.panel.outcome.value
    assert view.concise.value == "concise" and view.max_tokens.value == 1024
    assert view.max_tokens.max == INFO.max_output
    assert not view.run_again.disabled and view.stop.disabled
    assert "opus-view" in view.box._dom_classes


def test_run_again_records_a_new_run_with_the_controls_values(widget_ip: Any, simulator: Any) -> None:
    widget_ip.run_cell("%%opus -o answer --tag again\nExplain prompt caching.")
    view = last_view()
    first = view.records[0]
    view.max_tokens.value, view.concise.value = 7, "concise"
    view.run_again.click()
    widget_ip.run_cell("pass")  # the next cell waits for the run
    assert len(view.records) == 2
    second = view.records[1]
    assert second.id != first.id and second.status == "ok" and second.tag == "again"
    assert (second.max_tokens, second.concise, second.finish_reason) == (7, "concise", "length")
    sent = simulator.requests()[-1]
    assert sent.max_tokens == 7 and "concise" in sent.messages[0]["content"].lower()
    assert widget_ip.user_ns["answer"] == second.text and opus_magic.last_run().id == second.id
    assert [r.id for r in opus_magic.history(limit=5, tag="again")] == [second.id, first.id]
    assert view.panel.outcome.value.count("simulator") == 1  # the summary line, once
    assert view.panel.warnings.value == ""


def test_stop_ends_the_server_stream_and_keeps_the_partial_text(widget_ip: Any, simulator: Any) -> None:
    widget_ip.run_cell("%%opus --tag stop\nExplain prompt caching.")
    view = last_view()
    simulator.configure(tokens_per_second=40, answer_tokens=3_000)
    view.run_again.click()
    wait_until(lambda: len(simulator.requests()) == 2 and simulator.requests()[-1].chunks_sent >= 5)
    assert view.run_again.disabled and not view.stop.disabled
    view.stop.click()
    widget_ip.run_cell("pass")
    stopped = view.records[-1]
    assert stopped.status == "stopped" and stopped.text and stopped.error is None
    assert not stopped.cost_exact and stopped.cost is not None
    assert opus_magic.history(limit=1)[0].status == "stopped"
    wait_until(lambda: simulator.requests()[-1].ended_at is not None)
    log = simulator.requests()[-1]
    assert not log.completed and log.chunks_sent < 300
    assert "opus-status-stopped" in view.panel.box._dom_classes
    assert "Stopped" in view.panel.outcome.value


def test_stop_does_not_wait_for_a_silent_stream(widget_ip: Any, simulator: Any) -> None:
    widget_ip.run_cell("%%opus\nhi")
    view = last_view()
    simulator.configure(ttft_s=60)
    view.run_again.click()
    wait_until(lambda: len(simulator.requests()) == 2 and simulator.requests()[-1].status == 200
               and view._live is not None and view._live.response is not None)
    view.stop.click()
    ended = threading.Event()
    threading.Thread(target=lambda: (widget_ip.run_cell("pass"), ended.set()), daemon=True).start()
    assert ended.wait(20), "Stop waited for the server's first token"
    assert view.records[-1].status == "stopped" and view.records[-1].text == ""


def test_clamped_max_tokens_warns_and_bounds_the_control(widget_ip: Any, simulator: Any) -> None:
    widget_ip.run_cell("%%opus -m claude-opus-4-1 --max-tokens 50000\nhi")
    view = last_view()
    assert "clamped to 32,000" in html.unescape(view.panel.warnings.value)
    assert view.max_tokens.value == 32_000 and view.max_tokens.max == 32_000


def test_errors_show_in_the_view_with_their_own_style(widget_ip: Any, simulator: Any, capsys: Any) -> None:
    simulator.scenario("401")
    widget_ip.run_cell("%%opus\nhi")
    view = last_view()
    [record] = view.records
    assert record.status == "error" and "opus-status-error" in view.panel.box._dom_classes
    assert html.escape(record.error) in view.panel.outcome.value
    assert "Traceback" not in capsys.readouterr().err
    assert "sk-test-0123456789abcdef" not in view.panel.outcome.value


def test_retry_countdown_is_shown_while_waiting(widget_ip: Any, simulator: Any) -> None:
    default_session().sleep = lambda seconds: None  # how long retries wait is not this test's concern
    widget_ip.run_cell("%%opus\nhi")
    view = last_view()
    shown: list[str] = []
    view.panel.retry.observe(lambda change: shown.append(change["new"]), names="value")
    simulator.scenario("429", retry_after=3, times=1)
    view.run_again.click()
    widget_ip.run_cell("pass")
    assert any("HTTP 429" in value and "retrying in 3 s" in value for value in shown)
    assert view.records[-1].status == "ok" and view.panel.retry.value == ""


def test_comparison_columns_stream_and_summarize(widget_ip: Any, simulator: Any) -> None:
    widget_ip.run_cell("%%opus -m opus,haiku -o both\nExplain prompt caching.")
    view = last_view()
    records = [panel.record for panel in view.panels]
    assert [r.model for r in records] == ["opus", "haiku"]
    assert all(r.status == "ok" for r in records)
    assert len({r.comparison_id for r in records}) == 1 and records[0].comparison_id
    assert widget_ip.user_ns["both"] == [r.text for r in records]
    assert "cheapest" in view.summary.value and "fastest" in view.summary.value
    assert all("exact" in panel.meter.value for panel in view.panels)


def test_stop_all_ends_every_column_of_a_comparison(widget_ip: Any, simulator: Any) -> None:
    simulator.configure(tokens_per_second=40, answer_tokens=400)

    def stop_when_both_stream() -> None:
        wait_until(lambda: len(simulator.requests()) == 2
                   and all(r.chunks_sent >= 3 for r in simulator.requests()))
        last_view().stop.click()

    threading.Thread(target=stop_when_both_stream, daemon=True).start()
    widget_ip.run_cell("%%opus -m opus,haiku --tag all\nExplain prompt caching.")
    view = last_view()
    assert [panel.record.status for panel in view.panels] == ["stopped", "stopped"]
    assert all(panel.record.text for panel in view.panels)
    wait_until(lambda: all(r.ended_at is not None for r in simulator.requests()))
    assert not any(r.completed for r in simulator.requests())
    assert view.stop.disabled and "stopped" in view.summary.value
