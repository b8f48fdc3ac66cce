"""`%%opus` on Claude's native Messages API, against the simulator over real HTTP.

The cells name Opus 4.6 (`-m opus-4.6`, a legacy model) for the figures they rest on: its
4,096-token minimum prefix, tiktoken's count taken as it is, and its prices, from which costs are
worked by hand ($ per million tokens): input 5, output 25, cache write 6.25 (5 minutes) or 10
(1 hour), cache read 0.50.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

import opus_magic
from opus_magic.core.run.engine import Observer
from opus_magic.cost import tokens
from opus_magic.sim.native.cache import count

LONG_SYSTEM = "You answer questions about billing with care and precision. " * 600  # > 4,096


@pytest.fixture
def native(ip, simulator):
    """The shell speaking the Messages API to the simulator, retries off."""
    ip.run_line_magic("opus", "config api=anthropic max_retries=0")
    ip.user_ns["long_system"] = LONG_SYSTEM
    return ip


def by_hand(usage, write_rate: str = "6.25") -> Decimal:
    """opus-4-6: uncached input, reads, writes at one lifetime's rate, and output."""
    return (Decimal(usage.uncached_input_tokens) * 5 + Decimal(usage.cache_read_tokens)
            * Decimal("0.50") + Decimal(usage.cache_write_tokens) * Decimal(write_rate)
            + Decimal(usage.output_tokens) * 25) / 10**6


def test_a_five_minute_write_then_a_read_cost_what_they_should(native, simulator, capsys) -> None:
    native.run_cell_magic("opus", '-m opus-4.6 -s "{long_system}"', "What is a cache write?")
    first = opus_magic.last_run()
    sent = simulator.requests()[-1]
    assert sent.api == "anthropic" and sent.auth in ("x-api-key", "bearer")
    assert sent.body["system"] == [{"type": "text", "text": first.messages[0]["content"],
                                    "cache_control": {"type": "ephemeral", "ttl": "5m"}}]
    assert "cache_control" not in str(sent.body["messages"])
    u = first.usage
    assert u.cache_write_tokens == u.cache_write_5m_tokens > 4096 and u.cache_read_tokens == 0
    assert u.input_tokens == count(sent.body, "claude-opus-4-6")
    assert first.cost == by_hand(u) and first.cost_exact
    out = capsys.readouterr().out
    assert "pays off from the 2nd call within 5 minutes" in out
    assert "caching cost $" in out

    native.run_cell_magic("opus", '-m opus-4.6 -s "{long_system}"', "What is a cache write?")
    second = opus_magic.last_run()
    v = second.usage
    assert v.cache_read_tokens == u.cache_write_tokens and v.cache_write_tokens == 0
    assert second.cost == by_hand(v)
    saved = Decimal(v.cache_read_tokens) * (5 - Decimal("0.50")) / 10**6
    assert f"caching saved ${saved:.4f}" in capsys.readouterr().out


def test_a_one_hour_write_is_priced_at_twice_input_and_pays_off_later(native, simulator,
                                                                       capsys) -> None:
    native.run_cell_magic("opus", '-m opus-4.6 --cache 1h -s "{long_system}"', "Explain TTLs.")
    run = opus_magic.last_run()
    assert simulator.requests()[-1].body["system"][0]["cache_control"] == {"type": "ephemeral",
                                                                            "ttl": "1h"}
    u = run.usage
    assert u.cache_write_1h_tokens == u.cache_write_tokens > 4096 and u.cache_write_5m_tokens == 0
    assert run.cost == by_hand(u, write_rate="10")
    out = capsys.readouterr().out
    assert "pays off from the 3rd call within 1 hour" in out       # +1.0× write, 0.9× per read
    assert "written for 1 hour" in out
    assert opus_magic.history(limit=1)[0].usage.cache_write_1h_tokens == u.cache_write_1h_tokens


def test_thinking_tokens_are_output_shown_apart_and_not_counted_twice(native, simulator,
                                                                      capsys) -> None:
    native.run_cell_magic("opus", "-m opus-4.6 --thinking --max-tokens 4000", "Think first.")
    run = opus_magic.last_run()
    sent = simulator.requests()[-1]
    assert sent.body["thinking"] == {"type": "adaptive"} and "temperature" not in sent.body
    u = run.usage
    visible = tokens.count_text(run.text, "claude-opus-4-6")
    assert u.thinking_tokens == 160 and u.output_tokens == visible + 160   # cumulative, once
    assert run.cost == by_hand(u)
    assert run.thinking_text and run.thinking_shown_tokens < 160
    out = capsys.readouterr().out
    assert f"of {u.output_tokens:,} output tokens, 160 were thinking" in out
    assert "summary" in out and "▸ thinking:" in out
    stored = opus_magic.history(limit=1)[0]
    assert stored.usage.thinking_tokens == 160 and stored.cost == run.cost


def test_a_mix_of_one_hour_read_five_minute_write_and_thinking(native, simulator) -> None:
    native.run_cell_magic("opus", '-m opus-4.6 --cache 1h -s "{long_system}" --max-tokens 400',
                          "First turn.")
    native.run_cell_magic("opus", "--continue --cache 5m --thinking --max-tokens 4000",
                          "Second turn.")
    run = opus_magic.last_run()
    body = simulator.requests()[-1].body
    assert body["system"][0]["cache_control"]["ttl"] == "5m"
    assert body["messages"][-2]["role"] == "assistant"
    assert body["messages"][-2]["content"][-1]["cache_control"] == {"type": "ephemeral",
                                                                     "ttl": "5m"}
    assert "cache_control" not in str(body["messages"][-1])
    u = run.usage
    assert u.cache_read_tokens > 4096 and u.cache_write_5m_tokens > 0 and u.thinking_tokens
    assert run.cache_breakpoints == ["system", "turn"]
    assert run.cost == by_hand(u)


def test_short_prompts_and_cache_off_mark_nothing_and_say_why(native, simulator, capsys) -> None:
    native.run_cell_magic("opus", '-m opus-4.6 -s "Be brief."', "Hi.")
    assert "cache_control" not in str(simulator.requests()[-1].body)
    assert "under claude-opus-4-6's 4,096-token minimum" in capsys.readouterr().out
    native.run_cell_magic("opus", '-m opus-4.6 --cache off -s "{long_system}"', "Hi.")
    assert "cache_control" not in str(simulator.requests()[-1].body)
    assert opus_magic.last_run().usage.cache_write_tokens == 0
    assert "--cache off" in capsys.readouterr().out


def test_long_tools_are_marked_before_the_system_prompt(native, simulator) -> None:
    native.user_ns["tools"] = [{"type": "function", "function": {
        "name": f"tool_{i}", "description": "Looks up a billing figure. " * 150,
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}
        for i in range(5)]
    native.run_cell_magic("opus", '-m opus-4.6 --tools tools -s "Be brief."', "Which tool?")
    body = simulator.requests()[-1].body
    assert [t.get("cache_control") for t in body["tools"]] == [None] * 4 + [
        {"type": "ephemeral", "ttl": "5m"}]
    assert body["tools"][0]["input_schema"]["properties"] == {"q": {"type": "string"}}
    assert body["system"][0]["cache_control"]["ttl"] == "5m"


def test_dry_runs_count_exactly_once_per_prompt_and_fall_back_offline(native, simulator, capsys,
                                                                      monkeypatch) -> None:
    native.run_cell_magic("opus", '-m opus-4.6 --dry-run -s "{long_system}"', "How much?")
    native.run_cell_magic("opus", '-m opus-4.6 --dry-run -s "{long_system}"', "How much?")
    out = capsys.readouterr().out
    counts = [r for r in simulator.requests() if r.api == "count_tokens"]
    assert len(counts) == 1 and not [r for r in simulator.requests() if r.api == "anthropic"]
    exact = count(counts[0].body, "claude-opus-4-6")
    assert f"{exact:,}" in out and "counted exactly by count_tokens" in out
    monkeypatch.setenv("OPUS_MAGIC_BASE_URL", "http://127.0.0.1:9/v1")   # nothing listens there
    native.run_cell_magic("opus", "-m opus-4.6 --dry-run", "How much?")
    out = capsys.readouterr().out
    assert "Exact count unavailable" in out and "estimated" in out


@pytest.mark.parametrize(("status", "expected"), [
    (400, "refused the request"), (401, "refused the key"), (402, "balance cannot cover"),
    (403, "no permission"), (404, "Not found"), (409, "conflict"), (413, "too large"),
    (429, "Rate limited"), (500, "failed (500)"), (529, "overloaded"),
])
def test_every_error_type_is_explained_with_the_servers_message_and_request_id(
        native, simulator, capsys, status, expected) -> None:
    simulator.scenario("error", status=status, times=1)
    native.run_cell_magic("opus", "-m opus-4.6", "Hi.")
    run = opus_magic.last_run()
    assert run.status == "error" and f"HTTP {status}" in run.error and expected in run.error
    assert "Server said:" in run.error and "request-id req_sim" in run.error
    assert "sk-test-0123456789abcdef" not in run.error


def test_an_overloaded_error_mid_stream_keeps_the_partial_answer(native, simulator) -> None:
    simulator.scenario("error_chunk", after=7, times=1)
    native.run_cell_magic("opus", "-m opus-4.6", "Hi.")
    run = opus_magic.last_run()
    assert run.status == "interrupted" and "overloaded_error" in run.error
    assert tokens.count_text(run.text, "claude-opus-4-6") == 7 and not run.cost_exact


def test_refused_combinations_say_so_in_one_line_and_send_nothing(native, simulator,
                                                                  capsys) -> None:
    for line, expected in [
        ("-m opus -t 0.2", "claude-opus-5-5 only takes its default sampling"),
        ("-m opus-4.6 -t 1.5", "takes a temperature from 0 to 1"),
        ("-m sonnet-4.5 --thinking", "no adaptive thinking"),
        ("-m opus-4.6 --thinking 512", "at least 1,024"),
        ("-m opus-4.6 --thinking 2048 --max-tokens 1024", "below max_tokens"),
        ("-m haiku-4.5 --effort high", "takes no effort setting"),
        ("-m opus-4.6 --thinking lots", "--thinking takes a number"),
    ]:
        native.run_cell_magic("opus", line, "Hi.")
        err = capsys.readouterr().err
        assert expected in err and len(err.strip().splitlines()) == 1, (line, err)
    assert simulator.requests() == []
    native.run_line_magic("opus", "config api=openai")
    native.run_cell_magic("opus", "-m opus-4.6 --thinking", "Hi.")
    assert "native API" in capsys.readouterr().err and simulator.requests() == []


def test_non_streamed_native_answer_and_effort_reach_the_wire(native, simulator) -> None:
    native.run_cell_magic("opus", "-m opus-4.6 --no-stream --effort high --thinking --max-tokens 3000",
                          "Hi.")
    run = opus_magic.last_run()
    sent = simulator.requests()[-1]
    assert sent.stream is False and sent.body["output_config"] == {"effort": "high"}
    assert run.status == "ok" and run.finish_reason == "end_turn" and run.usage.thinking_tokens
    assert run.cost == by_hand(run.usage) and run.api_version == "2026-10-21"


def test_the_budget_worst_case_uses_the_exact_count_and_the_write_premium(native, simulator,
                                                                          capsys) -> None:
    native.run_line_magic("opus", "budget 0.04")
    native.run_cell_magic("opus", '-m opus-4.6 -s "{long_system}" --max-tokens 400', "Hi.")
    err = capsys.readouterr().err
    [counted] = [r for r in simulator.requests() if r.api == "count_tokens"]
    exact = count(counted.body, "claude-opus-4-6")
    assert "Over the session budget" in err and f"({exact:,} input + 400 max_tokens" in err
    system = {"role": "system", "content": counted.body["system"][0]["text"]}
    prefix = tokens.count_messages([system], "claude-opus-4-6")   # the marked prefix, estimated
    worst = (Decimal(exact - prefix) * 5 + Decimal(prefix) * Decimal("6.25") + 400 * 25) / 10**6
    assert f"up to ${worst:.4g}" in err   # money to 4 significant digits
    assert not [r for r in simulator.requests() if r.api == "anthropic"]


class StopAfter(Observer):
    """Presses Stop after a few text deltas."""

    def __init__(self, deltas: int) -> None:
        self.left = deltas

    def delta(self, live, text) -> None:
        self.left -= 1
        if self.left == 0:
            live.stop()


def test_stop_ends_a_native_stream_and_keeps_the_exact_input(ip, simulator) -> None:
    from opus_magic.core.run.planner import build_request, plan_request
    from opus_magic.core.session import default_session

    simulator.configure(tokens_per_second=100, answer_tokens=2000)
    session = default_session()
    settings = session.settings(model="opus-4.6", api="anthropic", system=LONG_SYSTEM)
    plan = plan_request(session, build_request(settings, "Go on."), settings)
    record = session.execute(plan, StopAfter(5))
    assert record.status == "stopped" and not record.cost_exact
    assert record.usage.cache_write_tokens > 4096                 # from message_start, exact
    assert record.usage.input_tokens == count(simulator.requests()[-1].body, "claude-opus-4-6")
    assert simulator.requests()[-1].client_disconnected or not simulator.requests()[-1].completed
