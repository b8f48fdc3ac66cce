"""Pre-flight, dry runs, tools, calibration and price sources, through the magic and the simulator."""
from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from test_cost import tool, write_price_map

import opus_magic
from opus_magic.core.run.engine import LiveRun, Observer
from opus_magic.core.run.planner import build_request, plan_request
from opus_magic.core.run.prompts import build_messages
from opus_magic.core.session import default_session
from opus_magic.cost import tokens
from opus_magic.cost.catalog import default_catalog
from opus_magic.cost.pricing import format_usd, input_cost, usage_cost
from opus_magic.records import RunRecord, Usage

CATALOG = default_catalog()


def input_tokens(prompt: str, model_id: str, tools: list | None = None) -> int:
    return tokens.count_messages(build_messages(prompt, None, "off"), model_id, tools)


def estimated(prompt: str, model_id: str) -> int:
    """The pre-flight count: tiktoken's, × 1.3 on models whose own tokenizer counts 30 % more."""
    ratio = CATALOG.get(model_id).estimate_ratio or 1
    return round(input_tokens(prompt, model_id) * ratio)


def worst(prompt: str, model_id: str, max_tokens: int) -> str:
    usage = Usage(estimated(prompt, model_id), max_tokens)
    return format_usd(usage_cost(usage, CATALOG.get(model_id)), estimated=True)


def recorded_runs(isolated_dirs: Path) -> int:
    path = isolated_dirs / "history.sqlite"
    if not path.exists():
        return 0
    return sqlite3.connect(path).execute("SELECT count(*) FROM runs").fetchone()[0]


def test_every_run_gets_a_preflight_with_worst_case_and_caching_note(ip, simulator, capsys) -> None:
    prompt = "Explain prompt caching."
    ip.run_cell_magic("opus", "-m opus --max-tokens 300", prompt)
    out = capsys.readouterr().out
    n = estimated(prompt, "claude-opus-5-5")
    assert n == round(input_tokens(prompt, "claude-opus-5-5") * 1.3)
    assert (f"Pre-flight: {n:,} input tokens (estimated: tiktoken × 1.3, as this model's own "
            f"tokenizer counts about 30 % more) on claude-opus-5-5") in out
    assert f"… {worst(prompt, 'claude-opus-5-5', 300)} (worst case: input + 300 max_tokens" in out
    assert f"too short to be cached on claude-opus-5-5 ({n:,} < 512-token minimum prefix)" in out
    ip.run_cell_magic("opus", "-m opus-4.6 --max-tokens 300", prompt)  # tiktoken's count as it is
    assert f"Pre-flight: {input_tokens(prompt, 'claude-opus-4-6'):,} input tokens on " \
           f"claude-opus-4-6 (legacy: " in capsys.readouterr().out
    ip.user_ns["doc"] = "alpha beta gamma delta " * 1200
    ip.run_cell_magic("opus", "-m opus --max-tokens 30", "{doc}")
    assert "long enough to be cached on claude-opus-5-5" in capsys.readouterr().out
    ip.run_cell_magic("opus", "-m gpt-4o-2024-05-13 --max-tokens 30", "hi")
    assert "gpt-4o-2024-05-13 has no prompt caching" in capsys.readouterr().out


def test_dry_run_table_across_models_sends_and_records_nothing(ip, simulator, capsys,
                                                               isolated_dirs) -> None:
    ip.user_ns["big"] = "word " * 127_000
    prompt = "{big} Summarise."
    ip.run_cell_magic("opus", "-m opus,sonnet,4o,mystery-model --max-tokens 2000 --dry-run", prompt)
    out = capsys.readouterr().out
    assert simulator.requests() == [] and recorded_runs(isolated_dirs) == 0
    assert opus_magic.last_run() is None
    text = prompt.replace("{big}", ip.user_ns["big"])
    rows = {line.split()[0]: line for line in out.splitlines()[2:6]}
    opus, gpt = estimated(text, "claude-opus-5-5"), input_tokens(text, "gpt-4o")
    assert f"{opus:,}" in rows["opus"] and worst(text, "claude-opus-5-5", 2000) in rows["opus"]
    assert format_usd(input_cost(opus, CATALOG.get("opus")), estimated=True) in rows["opus"]
    assert "  yes  " in rows["opus"] and "yes (≥ 512)" in rows["opus"]
    assert "claude-opus-5-5: token counts estimated: tiktoken × 1.3" in out
    assert f"no: {gpt + 2000:,} > 128,000" in rows["4o"]
    assert "unknown" in rows["mystery-model"]
    assert "Dry run: nothing was sent" in out


def test_dry_run_of_a_too_long_prompt_refuses_only_when_run_for_real(ip, simulator, capsys) -> None:
    ip.user_ns["big"] = "word " * 130_000
    ip.run_cell_magic("opus", "-m gpt-4o --dry-run", "{big}")
    assert "no: " in capsys.readouterr().out
    ip.run_cell_magic("opus", "-m opus,haiku --max-tokens 500000 --dry-run", "hi")
    out = capsys.readouterr().out
    assert "above claude-opus-5-5's output ceiling; clamped to 128,000." in out
    assert "above claude-haiku-5-5's output ceiling; clamped to 128,000." in out
    ip.run_cell_magic("opus", "-m gpt-4o", "{big}")
    assert "context window" in capsys.readouterr().err
    assert simulator.requests() == []


def test_tools_are_sent_and_their_overhead_shown(ip, simulator, capsys) -> None:
    tools = [tool(f"lookup_{i}") for i in range(10)]
    ip.user_ns["my_tools"] = tools
    ip.run_cell_magic("opus", "-m opus --max-tokens 20 --tools my_tools", "What is the weather?")
    out = capsys.readouterr().out
    assert simulator.requests()[-1].tools == tools
    # Opus 5.5: the definitions at tiktoken × 1.3, then the 286-token tool-use system prompt
    definitions = round(tokens.count_tools(tools, "claude-opus-5-5") * 1.3)
    overhead = definitions + 286
    each = f"{definitions // 10:,}" if definitions % 10 == 0 else f"≈{round(definitions / 10):,}"
    cost = format_usd(Decimal(overhead) * 4 / 10**6, estimated=True)
    assert (f"Tools: 10 tools × {each} tokens = {definitions:,} tokens + 286 tokens of tool-use "
            f"system prompt = {overhead:,} tokens = {cost} per call on claude-opus-5-5") in out
    run = opus_magic.last_run()
    assert run.tool_tokens == overhead
    assert f"(tools {overhead:,})" in out
    # the simulator counts tiktoken's tokens and adds the same tool-use system prompt
    assert run.usage.input_tokens == input_tokens("What is the weather?", "claude-opus-5-5",
                                                  tools) + 286


@pytest.mark.parametrize("value, message", [
    (None, "no variable 'my_tools'"),
    ({"type": "function"}, 'has no "function" object'),
    ([], "the list is empty"),
    ([{"type": "function", "function": {"name": "two words"}}], "function.name"),
])
def test_bad_tools_get_one_line_and_nothing_is_sent(ip, simulator, capsys, value, message) -> None:
    ip.user_ns.pop("my_tools", None)
    if value is not None:
        ip.user_ns["my_tools"] = value
    ip.run_cell_magic("opus", "--tools my_tools", "hi")
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert simulator.requests() == []


class Meter(Observer):
    """Reads the live cost meter at every chunk, as a view does."""

    def __init__(self) -> None:
        self.estimate: tuple[Usage, Decimal | None] | None = None

    def delta(self, live: LiveRun, text: str) -> None:
        self.estimate = (live.usage, live.costs()[2])


def run_metered(prompt: str, model: str) -> tuple[Any, RunRecord, Meter]:
    session = default_session()
    settings = session.settings(model=model, max_tokens=400)
    plan = plan_request(session, build_request(settings, prompt), settings)
    meter = Meter()
    return plan, session.execute(plan, meter), meter


def close(estimate: float, actual: float) -> bool:
    return abs(estimate - actual) <= 0.03 * actual


def test_calibration_learns_claude_tokens_from_history(ip, simulator, capsys) -> None:
    simulator.configure(usage_scale=1.2)
    prompt = "Compare SQLite WAL mode with rollback journals for concurrent notebook kernels. " * 3
    plan, first, _ = run_metered(prompt, "haiku-4.5")  # no tokenizer ratio in the catalog
    assert plan.calibration is None
    assert not close(plan.input_tokens, first.usage.input_tokens)       # tiktoken alone is ~17 % low
    for i in range(4):
        ip.run_cell_magic("opus", "-m claude-haiku-4-5 --max-tokens 400", f"{prompt} Take {i}.")
    ip.run_cell_magic("opus", "-m haiku-4.5 --dry-run", prompt)
    assert "claude-haiku-4-5: token counts calibrated from 5 runs" in capsys.readouterr().out
    plan, record, meter = run_metered(prompt + " Once more, briefly.", "haiku-4.5")
    assert plan.calibration is not None and plan.calibration.runs == 5
    assert close(plan.input_tokens, record.usage.input_tokens)
    live_usage, live_cost = meter.estimate
    assert close(live_usage.output_tokens, record.usage.output_tokens)
    assert record.cost_exact and close(float(live_cost), float(record.cost))
    assert "calibrated from 5 runs" in record.calibration
    other = default_session().settings(model="haiku-4.5", base_url="http://127.0.0.1:9/v1")
    elsewhere = plan_request(default_session(), build_request(other, prompt), other)
    assert elsewhere.calibration is None       # one endpoint's counting never calibrates another's


def test_openai_models_are_not_calibrated(ip, simulator) -> None:
    simulator.configure(usage_scale=1.2)
    for _ in range(4):
        ip.run_cell_magic("opus", "-m 4o --max-tokens 20", "hi")
    plan, _, _ = run_metered("hi", "4o")
    assert plan.calibration is None


def test_provider_names_profile_aliases_and_config_prices(ip, simulator, capsys, isolated_dirs,
                                                          monkeypatch) -> None:
    prices = write_price_map(isolated_dirs / "model_prices_and_context_window.json")
    config = isolated_dirs / "config" / "opus_magic" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        f'litellm_prices = "{prices}"\n'
        '[models."house-model"]\ninput = "1.5"\noutput = "2"\nsource = "our contract"\n'
        'as_of = "2026-11"\n'
        '[aliases]\nhouse = "house-model"\n'
        f'[profiles.router]\nbase_url = "{simulator.base_url}"\napi_key_env = "ROUTER_KEY"\n'
        '[profiles.router.aliases]\nmy-opus = "anthropic/claude-opus-4.6"\n')
    monkeypatch.setenv("ROUTER_KEY", "sk-or-v1-0123456789abcdef")
    ip.run_cell_magic("opus", "-m my-opus --profile router --max-tokens 20", "hi")
    run = opus_magic.last_run()
    assert simulator.requests()[-1].model == "anthropic/claude-opus-4.6"
    assert run.cost == usage_cost(run.usage, CATALOG.get("claude-opus-4-6")) and run.cost_exact
    ip.run_cell_magic("opus", "-m house --max-tokens 20", "hi")
    run = opus_magic.last_run()
    assert run.cost == (run.usage.input_tokens * Decimal("1.5")
                        + run.usage.output_tokens * 2) / 10**6
    ip.run_cell_magic("opus", "-m groq/llama-3.3-70b-versatile --max-tokens 20", "hi")
    run = opus_magic.last_run()
    assert run.cost == (run.usage.input_tokens * Decimal("0.59")
                        + run.usage.output_tokens * Decimal("0.79")) / 10**6
    capsys.readouterr()
    ip.run_line_magic("opus", "models")
    table = capsys.readouterr().out
    assert "our contract (2026-11) [from config]" in table
    assert f"[from {prices}]" in table and "groq/llama-3.3-70b-versatile" in table
    assert "house → house-model" in table


def test_bad_price_map_path_is_one_line(ip, simulator, capsys, isolated_dirs) -> None:
    ip.run_line_magic("opus", f"config litellm_prices={isolated_dirs / 'missing.json'}")
    ip.run_cell_magic("opus", "", "hi")
    err = capsys.readouterr().err
    assert "litellm price map" in err and "cannot be read" in err and "Traceback" not in err
    assert simulator.requests() == []

