"""Text views of a comparison: a progress line per model while it streams, each answer as it
finishes, each error once, and one aligned summary table."""
from __future__ import annotations

import io
import threading
from typing import Any

from fakes import Clock

import opus_magic
from opus_magic.core.run.engine import LiveRun
from opus_magic.core.run.plan import plan_run
from opus_magic.core.run.request import RunRequest
from opus_magic.core.run.target import RunPolicy, StoreKey, Target
from opus_magic.cost import tokens
from opus_magic.cost.catalog import default_catalog
from opus_magic.records import RunRecord, Usage
from opus_magic.view.run.comparison_text import ProgressLines
from opus_magic.wire.endpoints import Endpoint

MODEL = "claude-opus-4-6"


def test_progress_lines_while_streaming_then_the_answer_as_soon_as_it_ends() -> None:
    clock, out = Clock(), io.StringIO()
    target = Target(requested="opus", model_id=MODEL, info=default_catalog().get(MODEL),
                    endpoint=Endpoint("http://127.0.0.1:9/v1", None), wire_model=MODEL)
    plan = plan_run(RunRequest(prompt="p", model="opus", max_tokens=100), target,
                    RunPolicy(store=StoreKey("", "", ""), timeout_s=10.0))
    live = LiveRun(plan, "r1", "2026-01-01T00:00:00Z", 0.0, tokens.TokenCounter(MODEL))
    lines = ProgressLines(out, threading.Lock(), clock)
    lines.started(live)
    for step in range(50):  # five seconds of streaming, a token every 0.1 s
        clock.now = step / 10
        live.counter.add("word ")
        lines.delta(live, "word ")
    progress = [line for line in out.getvalue().splitlines() if line.startswith("… opus:")]
    assert 2 <= len(progress) <= 3 and "tokens so far" in progress[0]
    lines.waiting(live, 3.0, "HTTP 429 (attempt 1 of 5)")
    lines.waiting(live, 2.0, "HTTP 429 (attempt 1 of 5)")  # the same wait, a second later
    assert out.getvalue().count("retrying in") == 1
    record = RunRecord(id="r1", created_at="2026-01-01T00:00:00Z", model="opus", prompt="p",
                       text="The answer, whole.", status="ok", finish_reason="stop",
                       usage=Usage(10, 50), cost=None, ttft_s=0.1, duration_s=5.0, max_tokens=100)
    lines.finished(live, record)
    assert out.getvalue().endswith("\n") and "The answer, whole." in out.getvalue()
    assert "✓ opus complete · 50 tokens · 5.00 s" in out.getvalue()


def test_a_comparison_in_text_prints_each_error_once(ip: Any, simulator: Any, capsys: Any) -> None:
    simulator.scenario("401")
    ip.run_cell_magic("opus", "-m opus,haiku --tag errs", "hello")
    out = capsys.readouterr().out
    runs = opus_magic.history(tag="errs")
    assert len(runs) == 2 and all(r.status == "error" and r.error for r in runs)
    for run in runs:
        first_line = run.error.splitlines()[0]
        assert out.count(first_line) == len([r for r in runs if first_line in r.error])
    summary = out[out.rindex("model "):]
    assert summary.count("error") == 2 and "not billed" in summary
