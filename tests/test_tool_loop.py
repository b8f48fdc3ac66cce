"""Tools that run: `%%opus --tools` with notebook functions, through the magic, against the
simulator over real HTTP on both APIs.

The loop's figures are worked by hand from the simulator's rules (README, "The simulator"):
on the Messages API a call's input is 1 + the model's tool-use system prompt (497 tokens on
Opus 4.6) + each tool as `count_tools` counts it + each message part as JSON with its role (3
more for a message's first part); its output each call's name and compact arguments, then the
text. On chat completions the prompt is `count_messages(messages, model, tools)`. Prices ($ per
million tokens): Opus 4.6 5 in / 25 out, gpt-4o-mini 0.15 / 0.60.
"""
from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest

import opus_magic
from opus_magic.cost.pricing import format_usd
from opus_magic.cost.tokens import count_messages, count_text, count_tools

PROMPT = "What's the weather in Lisbon, and is order 1142 shipped?"
NATIVE, CHAT = "claude-opus-4-6", "gpt-4o-mini"
TOOLS = '''
calls = []

def get_weather(city: str) -> str:
    """Current weather for a city."""
    calls.append(("get_weather", city))
    return f"{city}: 18 °C, light rain"

def search_orders(order_id: int) -> dict:
    """Find an order by its id."""
    calls.append(("search_orders", order_id))
    return {"order": order_id, "status": "shipped"}
'''


@pytest.fixture
def shell(ip):
    """The magic with the two notebook functions defined, retries off."""
    ip.run_line_magic("opus", "config max_retries=0")
    ip.run_cell(TOOLS)
    return ip


@pytest.fixture
def native(shell):
    shell.run_line_magic("opus", "config api=anthropic")
    return shell


def chain_steps() -> list:
    """The steps of the last run's loop, in order."""
    chain_id = opus_magic.last_run().chain_id
    return sorted((r for r in opus_magic.history(limit=50) if r.chain_id == chain_id),
                  key=lambda r: r.step)


def part(role: str, block: dict) -> int:
    return count_text(json.dumps({"role": role, **block}, sort_keys=True), NATIVE)


def native_input(body: dict) -> int:
    """A Messages request's input, by the simulator's rule."""
    parts = 0
    for message in body["messages"]:
        content = message["content"]
        blocks = [{"text": content}] if isinstance(content, str) else content
        parts += sum(part(message["role"], block) for block in blocks) + 3
    return 1 + 497 + count_tools(body["tools"], NATIVE) + parts


def by_hand(tokens_in: int, tokens_out: int, rate_in: str, rate_out: str) -> Decimal:
    return (tokens_in * Decimal(rate_in) + tokens_out * Decimal(rate_out)) / 10**6


def test_a_three_step_loop_on_the_messages_api_costs_what_each_step_should(native, simulator,
                                                                           capsys) -> None:
    native.run_cell_magic("opus", f"-m opus-4.6 --tools get_weather,search_orders --no-parallel "
                                  f"-o answer", PROMPT)
    steps = chain_steps()
    assert [(r.step, r.finish_reason) for r in steps] == [(1, "tool_use"), (2, "tool_use"),
                                                          (3, "end_turn")]
    assert native.user_ns["calls"] == [("get_weather", "Lisbon"), ("search_orders", 1142)]
    sent = [r.body for r in simulator.requests() if r.api == "anthropic"]
    assert sent[0]["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    # the conversation grows by the model's call and the tool's result, every step
    assert [len(body["messages"]) for body in sent] == [1, 3, 5]
    assert sent[1]["messages"][2]["content"] == [{"type": "tool_result", "tool_use_id":
                                                  steps[0].tool_calls[0]["id"],
                                                  "content": "Lisbon: 18 °C, light rain"}]
    inputs = [native_input(body) for body in sent]
    assert inputs == [616, 736, 858]
    assert [r.usage.input_tokens for r in steps] == inputs
    outputs = [count_text("get_weather", NATIVE) + count_text('{"city":"Lisbon"}', NATIVE),
               count_text("search_orders", NATIVE) + count_text('{"order_id":1142}', NATIVE),
               count_text(steps[2].text, NATIVE)]
    assert [r.usage.output_tokens for r in steps] == outputs == [9, 9, 19]
    costs = [by_hand(i, o, "5", "25") for i, o in zip(inputs, outputs)]
    assert [r.cost for r in steps] == costs == [Decimal("0.003305"), Decimal("0.003905"),
                                                Decimal("0.004765")]
    # the pre-flight of every step was the provider's exact count, the tools counted apart
    tools = 497 + count_tools(sent[0]["tools"], NATIVE)
    assert all(r.input_exact and r.input_estimate == i for r, i in zip(steps, inputs))
    assert [r.tool_tokens for r in steps] == [tools] * 3
    out = capsys.readouterr().out
    overhead = 3 * tools * Decimal(5) / 10**6
    share = overhead / sum(costs)
    assert (f"Tool loop {steps[0].chain_id}: 3 model calls, 2 tool calls · 2,210 in / 37 out · "
            f"{format_usd(sum(costs))}") in out
    assert (f"tools overhead: 3 × {tools:,} tokens, {format_usd(overhead, estimated=True)}, "
            f"{share:.0%} of this cell".replace("%", " %")) in out
    assert "→ get_weather(city='Lisbon')" in out and "← get_weather: Lisbon: 18 °C" in out
    assert native.user_ns["answer"] == steps[2].text
    assert steps[0].tool_results[0]["content"] == "Lisbon: 18 °C, light rain"
    assert steps[1].tool_results[0]["status"] == "ok"


def test_the_same_loop_on_chat_completions_costs_what_each_step_should(shell, simulator,
                                                                       capsys) -> None:
    shell.run_cell_magic("opus", f"-m 4o-mini --tools get_weather,search_orders --no-parallel",
                         PROMPT)
    steps = chain_steps()
    sent = [r for r in simulator.requests() if r.api == "openai"]
    assert [r.messages[-1]["role"] for r in sent] == ["user", "tool", "tool"]
    assert sent[1].messages[1]["tool_calls"][0]["function"] == {
        "name": "get_weather", "arguments": '{"city":"Lisbon"}'}
    assert "is_error" not in sent[1].messages[2]  # the wire carries OpenAI's own fields only
    inputs = [count_messages(r.messages, CHAT, r.tools) for r in sent]
    assert [r.usage.input_tokens for r in steps] == inputs
    assert [r.input_estimate for r in steps] == inputs  # the pre-flight counts tool turns too
    outputs = [r.usage.output_tokens for r in steps]
    assert outputs[:2] == [count_text("get_weather", CHAT) + count_text('{"city":"Lisbon"}', CHAT),
                           count_text("search_orders", CHAT) + count_text('{"order_id":1142}',
                                                                          CHAT)]
    costs = [by_hand(i, o, "0.15", "0.60") for i, o in zip(inputs, outputs)]
    assert [r.cost for r in steps] == costs
    assert f"3 model calls, 2 tool calls · {sum(inputs):,} in" in capsys.readouterr().out


def test_a_tool_that_raises_returns_its_error_to_the_model(native, simulator, capsys) -> None:
    native.run_cell('''
def lookup_order(order_id: int) -> str:
    """Look up an order."""
    raise ValueError(f"no order {order_id}")
''')
    native.run_cell_magic("opus", "-m opus-4.6 --tools lookup_order", "Where is order 77?")
    first, last = chain_steps()
    assert first.tool_results[0]["status"] == "error"
    assert first.tool_results[0]["content"] == "ValueError: no order 77"
    result = simulator.requests()[-1].body["messages"][-1]["content"][0]
    assert result["is_error"] is True and result["content"] == "ValueError: no order 77"
    assert "lookup_order call failed with an error: ValueError: no order 77" in last.text
    assert "✗ lookup_order raised: ValueError: no order 77" in capsys.readouterr().out


def test_a_hanging_tool_is_stopped_at_the_timeout_and_the_loop_goes_on(native, capsys) -> None:
    stopped = threading.Event()
    native.user_ns["stopped"] = stopped
    native.run_cell('''
import time

def slow_weather(city: str) -> str:
    """Current weather for a city, slowly."""
    try:
        while True:
            time.sleep(0.01)
    finally:
        stopped.set()
''')
    native.run_cell_magic("opus", "-m opus-4.6 --tools slow_weather --tool-timeout 0.5",
                          "What's the weather in Lisbon?")
    first, last = chain_steps()
    assert first.tool_results[0]["status"] == "timeout"
    assert "ran longer than the 0.5 s tool timeout" in last.text
    assert stopped.wait(10)  # the tool's own thread was stopped, not left running
    assert "⏱ slow_weather timed out" in capsys.readouterr().out


def test_max_steps_reached_stops_the_loop_and_runs_no_further_call(native, capsys) -> None:
    native.run_cell_magic("opus", "-m opus-4.6 --tools get_weather,search_orders --no-parallel "
                                  "--max-steps 2", PROMPT)
    steps = chain_steps()
    assert len(steps) == 2 and steps[1].finish_reason == "tool_use"
    assert native.user_ns["calls"] == [("get_weather", "Lisbon")]
    assert steps[1].tool_results[0]["status"] == "not run"
    assert "! Stopped: --max-steps 2 reached" in capsys.readouterr().out


def test_a_declined_call_is_not_run_and_ends_the_loop(native, monkeypatch, capsys) -> None:
    asked = []
    monkeypatch.setattr("builtins.input", lambda question: asked.append(question) or "n")
    native.run_cell_magic("opus", "-m opus-4.6 --tools get_weather --approve",
                          "What's the weather in Lisbon?")
    steps = chain_steps()
    assert asked == ["Run get_weather(city='Lisbon')? [y/N] "]
    assert len(steps) == 1 and native.user_ns["calls"] == []
    assert steps[0].tool_results[0]["status"] == "declined"
    assert "Stopped: you declined get_weather(city='Lisbon')" in capsys.readouterr().out
    monkeypatch.setattr("builtins.input", lambda question: "y")
    native.run_cell_magic("opus", "-m opus-4.6 --tools get_weather --approve",
                          "What's the weather in Lisbon?")
    assert len(chain_steps()) == 2 and native.user_ns["calls"] == [("get_weather", "Lisbon")]


def test_parallel_calls_run_at_once(native) -> None:
    native.run_cell('''
import threading
both = threading.Barrier(2, timeout=10)

def get_weather(city: str) -> str:
    """Current weather for a city."""
    both.wait()  # returns only once the other call is running too
    return "sunny"

def search_orders(order_id: int) -> str:
    """Find an order by its id."""
    both.wait()
    return "shipped"
''')
    native.run_cell_magic("opus", "-m opus-4.6 --tools get_weather,search_orders", PROMPT)
    first, last = chain_steps()
    assert [r["status"] for r in first.tool_results] == ["ok", "ok"]
    assert "returned: sunny" in last.text and "returned: shipped" in last.text


def test_the_budget_admits_on_the_worst_case_and_stops_the_loop_between_steps(native, simulator,
                                                                              capsys) -> None:
    native.run_cell('''
def read_manual(topic: str) -> str:
    """The whole manual about a topic."""
    return "The manual says many things about this topic. " * 400
''')
    native.run_line_magic("opus", "budget 0.005")
    native.run_cell_magic("opus", "-m opus-4.6 --tools read_manual --max-tokens 50 --max-steps 20",
                          "Read the manual topic about billing.")
    err = capsys.readouterr().err
    assert "a loop of 20 steps could cost up to" in err and "lower --max-steps to" in err
    assert [r for r in simulator.requests() if r.api == "anthropic"] == []
    native.run_line_magic("opus", "budget 0.02")
    native.run_cell_magic("opus", "-m opus-4.6 --tools read_manual --max-tokens 50 --max-steps 3",
                          "Read the manual topic about billing.")
    steps = chain_steps()
    assert len(steps) == 1 and steps[0].tool_results[0]["status"] == "ok"
    out = capsys.readouterr().out
    assert "Stopped: stopped before step 2: Over the session budget" in out
    assert len([r for r in simulator.requests() if r.api == "anthropic"]) == 1


def test_show_prints_the_chain_and_stats_count_it_once_in_full(native, capsys) -> None:
    native.run_cell_magic("opus", "-m opus-4.6 --tools get_weather,search_orders --no-parallel",
                          PROMPT)
    steps = chain_steps()
    capsys.readouterr()
    native.run_line_magic("opus", f"show {steps[1].id}")
    shown = capsys.readouterr().out
    assert f"Tool loop {steps[0].chain_id}: 3 model calls" in shown
    assert shown.index("--- step 1") < shown.index("→ get_weather(city='Lisbon')") < shown.index(
        "← get_weather: Lisbon") < shown.index("--- step 2") < shown.index("--- step 3")
    assert f"Total: 2,210 in / 37 out · {format_usd(sum(r.cost for r in steps))}" in shown
    native.run_line_magic("opus", "stats")
    assert format_usd(sum(r.cost for r in steps)) in capsys.readouterr().out


def test_continue_resumes_with_the_tool_turns_intact(native, simulator) -> None:
    native.run_cell_magic("opus", "-m opus-4.6 --tools get_weather,search_orders --no-parallel "
                                  "--max-steps 2", PROMPT)
    native.run_cell_magic("opus", "--continue", "Thanks. And tomorrow?")
    body = simulator.requests()[-1].body
    kinds = [[b.get("type") for b in m["content"]] if isinstance(m["content"], list) else "text"
             for m in body["messages"]]
    assert kinds == ["text", ["tool_use"], ["tool_result"], ["tool_use"],
                     ["tool_result", "text"]]
    assert body["messages"][-1]["content"][0]["is_error"] is True  # the call not run says so
    assert opus_magic.last_run().status == "ok"


def test_definitions_alone_are_sent_and_their_calls_shown_not_run(shell, capsys) -> None:
    shell.user_ns["weather_tools"] = [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}}}]
    shell.run_cell_magic("opus", "-m 4o-mini --tools weather_tools", "Weather in Lisbon?")
    run = opus_magic.last_run()
    assert run.chain_id is None and run.tool_calls[0]["function"]["name"] == "get_weather"
    assert "are shown, not run" in capsys.readouterr().out


@pytest.mark.parametrize(("flags", "message"), [
    ("--tools nope", "no variable 'nope'"),
    ("--max-steps 3", "--max-steps steer a tool loop"),
    ("--tools get_weather --max-steps 0", "--max-steps 0: use a whole number of 1 or more"),
    ("--tools get_weather --tool-timeout never", "--tool-timeout never: use a number"),
    ("-m 4o-mini --web-search 2", "have no server tools (--web-search, --web-fetch)"),
    ("-m opus,haiku --tools get_weather", "A tool loop runs on one model at a time"),
])
def test_bad_tool_flags_get_one_line_and_send_nothing(shell, simulator, capsys, flags,
                                                      message) -> None:
    shell.run_cell_magic("opus", flags, "What's the weather in Lisbon?")
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert [r for r in simulator.requests() if r.api != "count_tokens"] == []


def test_the_python_api_runs_the_loop_and_checks_the_schema(shell) -> None:
    tools = [shell.user_ns["get_weather"], shell.user_ns["search_orders"]]
    record = opus_magic.run(PROMPT, model="4o-mini", tools=tools)
    assert record.step == 2 and "get_weather returned: Lisbon: 18 °C" in record.text
    assert shell.user_ns["calls"] == [("get_weather", "Lisbon"), ("search_orders", 1142)]
    shaped = opus_magic.run("Ada is 36.", model="4o-mini", schema="name, age int")
    assert shaped.schema == "answer" and shaped.parsed["age"] == 36


@pytest.mark.parametrize("model", ["opus", "4o"])
def test_a_tool_loop_carries_the_cells_attachment_on_every_step(ip, simulator, model) -> None:
    import io

    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (300, 200), "red").save(picture, "PNG")
    ip.user_ns["picture"] = picture.getvalue()
    ip.run_cell('''
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"{city}: 18 °C, light rain"
''')
    ip.run_cell_magic("opus", f"-m {model} --tools get_weather --attach picture --max-tokens 300",
                      "What's the weather in Lisbon? Look at the picture too.")
    steps = sorted((r for r in opus_magic.history(limit=None) if r.chain_id), key=lambda r: r.step)
    assert [r.step for r in steps] == [1, 2] and "Lisbon: 18" in steps[-1].text
    # every step re-sends the conversation, the picture included, and pays for it again
    assert all([a.pixels for a in r.attachments] == [(300, 200)] for r in steps)
    sent = [r for r in simulator.requests() if r.model]
    assert len(sent) == 2 and all("image" in json.dumps(r.messages) for r in sent)
