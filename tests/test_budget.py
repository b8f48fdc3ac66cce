"""The session budget and provider-reported costs, against real HTTP on 127.0.0.1."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import opus_magic
from opus_magic.core.budget import Budget
from opus_magic.core.run.engine import Engine, LiveRun
from opus_magic.core.run.planner import build_request, plan_request
from opus_magic.core.run.prompts import build_messages
from opus_magic.core.session import default_session
from opus_magic.cost import tokens
from opus_magic.cost.catalog import default_catalog
from opus_magic.records import RunRecord
from opus_magic.view.run.text import TextView

OPUS = default_catalog().get("opus")


def test_budget_command_sets_shows_and_turns_off(ip, simulator, capsys) -> None:
    ip.run_line_magic("opus", "budget")
    assert "No session budget: $0.0000 spent over 0 runs" in capsys.readouterr().out
    ip.run_line_magic("opus", "budget 2.50")
    assert "Session budget $2.50: $0.0000 spent over 0 runs, $2.50 remaining." in capsys.readouterr().out
    ip.run_cell_magic("opus", "-m opus --max-tokens 40", "hi")
    spent = opus_magic.last_run().cost
    ip.run_line_magic("opus", "budget")
    out = capsys.readouterr().out
    from opus_magic.cost.pricing import format_usd
    assert f"{format_usd(spent)} spent over 1 run, {format_usd(Decimal('2.50') - spent)} remaining" in out
    ip.run_line_magic("opus", "budget off")
    assert "No session budget" in capsys.readouterr().out
    for bad in ("budget lots", "budget -1", "budget 1 2"):
        ip.run_line_magic("opus", bad)
        err = capsys.readouterr().err
        assert "budget" in err and len(err.strip().splitlines()) == 1


def test_budget_in_config_refuses_a_run_whose_worst_case_crosses_it(ip, simulator, capsys,
                                                                     isolated_dirs) -> None:
    config = isolated_dirs / "config" / "opus_magic" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('budget = "0.01"\n')
    ip.run_cell_magic("opus", "-m opus --max-tokens 1000", "hi")
    err = capsys.readouterr().err
    # Opus 5.5 ($4/$20): the input estimated at tiktoken × 1.3, its own tokenizer's ratio
    n = round(tokens.count_messages(build_messages("hi", None, "off"), "claude-opus-5-5") * 1.3)
    worst = (Decimal(n) * 4 + 1000 * 20) / 10**6
    fitting = int((Decimal("0.01") - Decimal(n) * 4 / 10**6) / 20 * 10**6)
    assert "Over the session budget" in err and f"${worst:.4f}" in err
    assert f"({n:,} input + 1,000 max_tokens on claude-opus-5-5)" in err
    assert "$0.0100 of $0.0100 remains" in err and f"lower --max-tokens to {fitting:,} or less" in err
    assert simulator.requests() == [] and opus_magic.history() == []
    ip.run_cell_magic("opus", f"-m opus --max-tokens {fitting}", "hi")
    assert opus_magic.last_run().status == "ok"
    assert default_session().spent == opus_magic.last_run().cost


def test_a_comparison_runs_only_the_models_whose_worst_case_fits(ip, simulator, capsys) -> None:
    ip.run_line_magic("opus", "budget 0.01")
    ip.run_cell_magic("opus", "-m opus,haiku --max-tokens 1000", "hi")
    out = capsys.readouterr().out
    assert "not run: opus: Over the session budget" in out     # $0.02 worst case; haiku's $0.0005
    assert [request.model for request in simulator.requests()] == ["claude-haiku-5-5"]
    assert default_session().spent == opus_magic.last_run().cost > 0


def test_unknown_price_cannot_run_under_a_budget(ip, simulator, capsys) -> None:
    ip.run_line_magic("opus", "budget 5")
    ip.run_cell_magic("opus", "-m mystery-model", "hi")
    assert "price of mystery-model is unknown" in capsys.readouterr().err
    assert simulator.requests() == []


class CountingBudget(Budget):
    def __init__(self) -> None:
        super().__init__()
        self.looks = 0

    def limit(self, live: LiveRun) -> int | None:
        self.looks += 1
        return super().limit(live)


def stream_under(budget: Budget, cap: Decimal, answer_tokens: int, simulator: Any) -> RunRecord:
    """One Opus 4.6 run (its estimate is tiktoken's count as it is) with the budget as the
    engine's guard (admission already passed)."""
    simulator.configure(answer_tokens=answer_tokens, tokens_per_second=2000.0)
    session = default_session()
    settings = session.settings(model="opus-4.6", max_tokens=4000)
    plan = plan_request(session, build_request(settings, "Write at length."), settings)
    budget.cap = cap
    return Engine(None, guard=budget).execute(plan, TextView(show_text=False))


def test_a_stream_is_stopped_where_its_running_cost_crosses_the_cap(ip, simulator) -> None:
    n = tokens.count_messages(build_messages("Write at length.", None, "off"), "claude-opus-4-6")
    cap = (Decimal(n) * 5 + 100 * 25) / 10**6            # the input and exactly 100 output tokens
    budget = CountingBudget()
    record = stream_under(budget, cap, 600, simulator)
    assert record.status == "stopped" and record.stop_reason == "budget"
    assert "Stopped by the session budget" in record.error
    assert record.usage.output_tokens == 101 and not record.cost_exact
    assert budget.looks == 2                              # at 100 tokens, then at 101
    assert budget.spent == record.cost > cap
    sent = simulator.requests()[-1]
    assert sent.chunks_sent < 600 and not sent.completed


def test_the_running_cost_is_looked_at_only_at_thresholds(ip, simulator) -> None:
    budget = CountingBudget()
    record = stream_under(budget, Decimal(100), 1500, simulator)
    assert record.status == "ok" and record.usage.output_tokens == 1500
    assert budget.looks == 0


def test_side_by_side_runs_share_the_budget_and_stop_when_it_is_crossed(ip, simulator) -> None:
    # each worst case fits on its own ($0.025 and $0.015 of $0.03); together they do not
    simulator.configure(answer_tokens=1000, tokens_per_second=2000.0)
    ip.run_line_magic("opus", "budget 0.03")
    ip.run_cell_magic("opus", "-m opus,sonnet --max-tokens 1000", "Write at length.")
    runs = opus_magic.history(limit=2)
    stopped = [run for run in runs if run.status == "stopped"]
    assert stopped and all(run.stop_reason == "budget" for run in stopped)
    spent = default_session().spent
    assert spent == sum(run.cost for run in runs)
    assert Decimal("0.03") < spent <= Decimal("0.0302")  # crossed by at most a token or two each
    assert any(not request.completed for request in simulator.requests())


# -- provider-reported cost (the simulator does not send usage.cost) ----------------------------

USAGE = {"prompt_tokens": 1000, "completion_tokens": 2, "total_tokens": 1002, "cost": 0.0123}


class ProviderHandler(BaseHTTPRequestHandler):
    """An OpenRouter-like endpoint: usage always present, with what was charged."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        head = {"id": "gen-1", "object": "chat.completion.chunk", "created": 0,
                "model": "anthropic/claude-opus-4.6"}
        if not body.get("stream"):
            payload = json.dumps({**head, "object": "chat.completion", "usage": USAGE, "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "Hi there"},
                 "finish_reason": "stop"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        events = [{**head, "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]},
                  {**head, "choices": [{"index": 0, "delta": {"content": " there"},
                                        "finish_reason": "stop"}]},
                  {**head, "choices": [], "usage": USAGE}]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for event in events:
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        pass


@pytest.fixture
def provider() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ProviderHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v1"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("flags", ["", "--no-stream"])
def test_provider_reported_cost_wins_and_is_recorded(ip, provider, monkeypatch, capsys,
                                                     flags) -> None:
    monkeypatch.setenv("OPUS_MAGIC_BASE_URL", provider)
    ip.run_cell_magic("opus", f"-m anthropic/claude-opus-4.6 --max-tokens 50 {flags}", "hi")
    run = opus_magic.last_run()
    assert run.text == "Hi there" and run.usage.input_tokens == 1000
    assert run.cost == Decimal("0.0123") and run.cost_source == "provider" and run.cost_exact
    assert run.cost != (Decimal(1000) * 5 + 2 * 25) / 10**6      # not the catalog's figure
    assert opus_magic.history(limit=1)[0].cost_source == "provider"
    assert "$0.0123" in capsys.readouterr().out
    assert default_session().spent == Decimal("0.0123")
