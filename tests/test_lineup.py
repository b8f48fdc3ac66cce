"""Today's Claude lineup through the magic with no key: the aliases, the legacy line, Claude on the
simulator's Messages API (caching, exact counts, the tool-use system prompt, temperature's API
version, US-only inference) and `%opus models`.

Costs are worked by hand from the catalog's prices ($ per million tokens). Opus 5.5: input 4,
output 20, cache write 5 (5 minutes), cache read 0.20 (5 % of input); US-only inference 1.1×.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from test_cost import tool

import opus_magic
from opus_magic import sim
from opus_magic.core.run.engine import Observer
from opus_magic.core.run.planner import build_request, plan_request
from opus_magic.core.session import default_session
from opus_magic.cost import tokens
from opus_magic.view.run.html import header_html
from opus_magic.view.run.state import readable, snapshot
from opus_magic.wire.anthropic.messages import native_tool

LEGACY = "claude-opus-4-6 (legacy: Opus 5.5 is current, 20 % cheaper)"
ANSWER_TOKENS = 40
SYSTEM_600 = " ".join(["cache"] * 600)  # 600 tokens: "cache", then 599 × " cache"


@pytest.fixture
def keyless(ip: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The shell with no key and no base URL: the session's own simulator answers, steered
    through its control endpoints (answers of ANSWER_TOKENS tokens)."""
    monkeypatch.delenv("OPUS_MAGIC_API_KEY")
    monkeypatch.delenv("OPUS_MAGIC_BASE_URL")
    lab = sim.control(default_session().simulator_url())
    lab.reset()
    lab.configure(answer_tokens=ANSWER_TOKENS)
    ip.user_ns["lab"] = lab
    yield ip
    lab.configure(answer_tokens=None)
    lab.reset()


def sent(ip: Any) -> Any:
    return ip.user_ns["lab"].requests()[-1]


def test_opus_is_opus_5_5_and_goes_to_the_simulators_messages_api(keyless, capsys) -> None:
    keyless.run_cell_magic("opus", "-m opus --max-tokens 100", "Explain prompt caching.")
    run = opus_magic.last_run()
    request = sent(keyless)
    assert run.response_model == "claude-opus-5-5" and run.status == "ok"
    assert request.api == "anthropic" and run.api_version == "2026-10-21"
    assert run.finish_reason == "end_turn" and "legacy" not in capsys.readouterr().out
    assert "legacy" not in run.params
    keyless.run_cell_magic("opus", "--max-tokens 100", "Explain prompt caching.")
    assert opus_magic.last_run().response_model == "claude-opus-5-5"  # the default model too
    keyless.run_cell_magic("opus", "-m 4o --max-tokens 100", "Explain prompt caching.")
    assert sent(keyless).api == "openai"  # not Claude: chat completions
    keyless.run_line_magic("opus", "config api=openai")
    keyless.run_cell_magic("opus", "-m opus --max-tokens 100", "Explain prompt caching.")
    assert sent(keyless).api == "openai"  # api=openai still forces chat completions


def test_a_legacy_model_says_so_once_in_the_runs_first_line(keyless, capsys) -> None:
    keyless.run_cell_magic("opus", "-m opus-4.6 --max-tokens 100", "Explain prompt caching.")
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first.startswith("Pre-flight: ") and f" on {LEGACY} · " in first
    assert out.count("legacy") == 1
    run = opus_magic.last_run()
    assert run.legacy == "legacy: Opus 5.5 is current, 20 % cheaper"


class Keep(Observer):
    """An observer that keeps the live run, to render what a saved notebook holds."""

    live: Any = None

    def started(self, live: Any) -> None:
        self.live = live


def test_the_widget_header_and_the_saved_output_carry_the_legacy_line(keyless) -> None:
    session, kept = default_session(), Keep()
    settings = session.settings(model="opus-4.6", max_tokens=100)
    record = session.execute(plan_request(session, build_request(
        settings, "Explain prompt caching."), settings), kept)
    snap = snapshot(kept.live, 0.0, record)
    assert LEGACY in header_html(snap)
    saved = readable(record, kept.live)
    assert saved["text/plain"].splitlines()[0] == LEGACY
    assert saved["text/markdown"].startswith("**claude-opus-4-6 (legacy:")
    settings = session.settings(model="opus", max_tokens=100)
    record = session.execute(plan_request(session, build_request(
        settings, "Explain prompt caching."), settings), kept)
    assert "legacy" not in readable(record, kept.live)["text/plain"]


def test_a_cached_system_prompt_on_opus_5_5_writes_then_reads(keyless, capsys) -> None:
    keyless.user_ns["notes"] = SYSTEM_600
    assert tokens.count_text(SYSTEM_600, "claude-opus-5-5") == 600
    cell = '-m opus --cache 5m -s "{notes}" --max-tokens 200'
    keyless.run_cell_magic("opus", cell, "What does a cache read cost?")
    write = opus_magic.last_run()
    assert "exact, from the provider's free count_tokens" in capsys.readouterr().out
    keyless.run_cell_magic("opus", cell, "What does a cache read cost?")
    read = opus_magic.last_run()
    # The simulator counts the user turn as 18 tokens of its JSON, 3 of framing and 1 more: 22.
    assert (write.usage.cache_write_5m_tokens, write.usage.cache_read_tokens) == (600, 0)
    assert (read.usage.cache_read_tokens, read.usage.cache_write_tokens) == (600, 0)
    assert write.usage.uncached_input_tokens == read.usage.uncached_input_tokens == 22
    assert write.usage.output_tokens == read.usage.output_tokens == ANSWER_TOKENS
    # 600 × $5 (write) + 22 × $4 + 40 × $20 = $0.003888; then 600 × $0.20 (read) + 88 + 800
    assert (write.cost, read.cost) == (Decimal("0.003888"), Decimal("0.001008"))
    assert write.cost_exact and read.cost_exact


def test_a_tool_carrying_cell_counts_the_tool_use_system_prompt_before_sending(keyless,
                                                                               capsys) -> None:
    keyless.user_ns["tools"] = [tool("get_weather")]
    keyless.run_cell_magic("opus", "-m opus --tools tools --max-tokens 100 --dry-run", "Weather?")
    dry = capsys.readouterr().out
    # count_tokens answers, so the tools are counted exactly too: the definition as the
    # Messages API takes it, as the simulator counts it (no tiktoken × 1.3 estimate)
    definitions = tokens.count_tools([native_tool(tool("get_weather"))], "claude-opus-5-5")
    assert (f"Tools: 1 tool × {definitions:,} tokens = {definitions:,} tokens + 286 tokens of "
            f"tool-use system prompt = {definitions + 286:,} tokens") in dry
    keyless.run_cell_magic("opus", "-m opus --tools tools --max-tokens 100", "Weather?")
    run = opus_magic.last_run()
    request = sent(keyless)
    # The simulator's input: the request's blocks (tool JSON, the turn) plus the same 286 tokens.
    from opus_magic.sim.native.cache import count
    assert run.usage.input_tokens == count(request.body, "claude-opus-5-5")
    assert run.usage.input_tokens - count({**request.body, "tools": None}, "claude-opus-5-5") \
        > 286
    assert run.input_estimate == run.usage.input_tokens  # count_tokens, exact
    # the model asks to call get_weather: its call is the (short) output
    assert run.tool_calls and run.finish_reason == "tool_use"
    assert run.cost == (Decimal(run.usage.input_tokens) * 4 + run.usage.output_tokens * 20) / 10**6


def test_the_tool_prompt_is_input_on_the_openai_format_too(ip, simulator, capsys) -> None:
    ip.user_ns["tools"] = [tool("get_weather")]
    ip.run_cell_magic("opus", "-m opus-4.6 --tools tools --max-tokens 50", "Weather?")
    run = opus_magic.last_run()
    plain = tokens.count_messages([{"role": "user", "content": "Weather?"}], "claude-opus-4-6",
                                  [tool("get_weather")])
    assert run.usage.input_tokens == plain + 497  # Opus 4.6's tool-use system prompt
    assert f"Pre-flight: {plain + 497:,} input tokens on claude-opus-4-6" in capsys.readouterr().out
    # 497 + the definitions and the turn at $5/M, 50-token ceiling aside: the answer at $25/M
    assert run.cost == (Decimal(plain + 497) * 5 + run.usage.output_tokens * 25) / 10**6


def test_temperature_goes_as_the_api_version_that_takes_it(keyless, capsys) -> None:
    keyless.run_cell_magic("opus", "-m opus-4.6 -t 0.3 --max-tokens 50", "Explain caching.")
    run = opus_magic.last_run()
    assert run.status == "ok" and run.api_version == "2023-06-01"
    assert sent(keyless).body["temperature"] == 0.3
    keyless.run_cell_magic("opus", "-m opus -t 0.3 --max-tokens 50", "Explain caching.")
    out, err = capsys.readouterr()
    assert "claude-opus-5-5 only takes its default sampling (from Sonnet 5 on" in out + err
    assert opus_magic.last_run().id == run.id  # nothing was sent
    keyless.run_cell_magic("opus", "-m opus-4.6 -t 1.5 --max-tokens 50", "Explain caching.")
    assert "takes a temperature from 0 to 1, not 1.5" in "".join(capsys.readouterr())


def post(url: str, body: dict[str, Any], version: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {
        "Content-Type": "application/json", "x-api-key": "sk-test", "anthropic-version": version})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize("version, model, temperature, status", [
    ("2026-10-21", "claude-opus-4-6", 0.3, 400),   # the new version removed temperature
    ("2026-10-21", "claude-opus-4-6", 1.0, 400),   # even at its default
    ("2023-06-01", "claude-opus-4-6", 0.3, 200),
    ("2023-06-01", "claude-opus-5-5", 0.3, 400),   # default-only sampling in any version
    ("2023-06-01", "claude-opus-5-5", 1.0, 200),
])
def test_the_simulators_messages_api_enforces_the_version_rule(simulator, version, model,
                                                               temperature, status) -> None:
    body = {"model": model, "max_tokens": 5, "temperature": temperature,
            "messages": [{"role": "user", "content": "hi"}]}
    root = simulator.base_url.removesuffix("/v1")
    code, answer = post(root + "/v1/messages", body, version)
    assert code == status
    if status == 400:
        assert answer["type"] == "error" and answer["error"]["type"] == "invalid_request_error"
    code, _ = post(root + "/v1/messages/count_tokens", body, version)
    assert code == (400 if status == 400 else 200)


def test_us_only_inference_is_priced_at_its_multiplier_and_recorded(keyless, capsys) -> None:
    keyless.user_ns["lab"].scenario("served", inference_geo="us", times=1)
    keyless.run_cell_magic("opus", "-m opus --max-tokens 100", "Explain prompt caching.")
    run = opus_magic.last_run()
    assert run.inference_geo == "us"
    # (uncached input × $4 + 40 × $20) × 1.1
    plain = (Decimal(run.usage.input_tokens) * 4 + ANSWER_TOKENS * 20) / 10**6
    assert run.cost == plain * Decimal("1.1") and run.cost_exact
    assert "Served in the US only (usage.inference_geo 'us'): every price ×1.1." \
        in capsys.readouterr().out
    stored = opus_magic.history(limit=1)[0]
    assert stored.cost == run.cost and stored.inference_geo == "us"


def test_models_word_lists_current_models_and_aliases_first_one_row_each(ip, capsys) -> None:
    ip.run_line_magic("opus", "models claude")
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("Current models: claude-fable-5-2, ") and "claude-opus-5-5" in lines[0]
    assert lines[1].startswith("Aliases: opus → claude-opus-5-5, sonnet → claude-sonnet-5-5, ")
    rows = [line.split()[0] for line in lines[3:] if line.startswith(("claude", "~", "anthropic"))]
    assert rows[:6] == ["claude-fable-5-2", "claude-fable-5-1", "claude-mythos-5-1",
                        "claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"]
    assert len(rows) == len(set(rows)) < 40
    assert not any(row.startswith(("global.", "regional.")) or row.endswith(":batch")
                   for row in rows)
    ip.run_line_magic("opus", "models --all")
    everything = capsys.readouterr().out
    assert "\nglobal.anthropic.claude-opus-5-5 " in everything
    assert "\nanthropic/claude-opus-5.5:batch " in everything


def test_models_model_says_where_the_pinned_and_genai_prices_disagree(ip, capsys,
                                                                     isolated_dirs) -> None:
    ip.run_line_magic("opus", "models claude-3-5-haiku-20241022")
    out = capsys.readouterr().out
    genai = default_session().catalog(default_session().settings()).fallback.label
    assert (f"catalog.json (2026-11) and {genai} disagree on claude-3-5-haiku-20241022; "
            f"opus_magic prices it with catalog.json (2026-11):") in out
    assert f"  1-hour cache write: $1/M in catalog.json (2026-11), $1.6/M in {genai}" in out
    ip.run_line_magic("opus", "models sonnet-5.5")
    assert f"catalog.json (2026-12) and {genai} agree on every price of claude-sonnet-5-5." \
        in capsys.readouterr().out
    path = isolated_dirs / "config" / "opus_magic" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[models."claude-opus-5-5"]\ninput = 5\n')
    ip.run_line_magic("opus", "models opus")
    out = capsys.readouterr().out
    assert f"disagree on claude-opus-5-5; opus_magic prices it with your config (2026-12):" in out
    assert f"  input: $5/M in your config (2026-12), $4/M in {genai}" in out
    # the cache prices follow input where the entry names none: they differ too
    assert f"  cache read: $0.25/M in your config (2026-12), $0.2/M in {genai}" in out


def test_help_names_the_current_models_and_the_default(ip, capsys) -> None:
    ip.run_line_magic("opus", "help")
    out = capsys.readouterr().out
    assert "opus, sonnet and haiku are Claude Opus, Sonnet and Haiku 5.5" in out
    assert "(the default model is claude-opus-5-5)" in out and "opus-4.6" in out


def test_a_comparison_in_text_says_which_of_its_models_is_legacy(keyless, capsys) -> None:
    keyless.run_cell_magic("opus", "-m opus,opus-4.6 --max-tokens 50", "Explain prompt caching.")
    out = capsys.readouterr().out
    assert "✓ opus-4.6 (legacy: Opus 5.5 is current, 20 % cheaper) complete · " in out
    assert out.count("legacy") == 1
