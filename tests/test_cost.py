"""Cost truth, pure parts: hand-worked dollars, offline token counts, the catalog and price maps."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from opus_magic.core.tools.definitions import validate
from opus_magic.cost import litellm_prices, tokens
from opus_magic.cost.catalog import default_catalog
from opus_magic.cost.pricing import cache_savings, output_tokens_for, usage_cost
from opus_magic.errors import ConfigError, UsageError
from opus_magic.records import Usage
from opus_magic.view.commands.catalog import models_table
from opus_magic.wire.usage import openai_usage

CATALOG = default_catalog()


@pytest.mark.parametrize("model, usage, expected", [
    # 10,000 one-hour cache writes × $10/M + 500 out × $25/M
    ("claude-opus-4-6", Usage(10_000, 500, cache_write_tokens=10_000, cache_write_1h_tokens=10_000),
     "0.1125"),
    # 6,000 five-minute writes × $6.25/M + 4,000 one-hour writes × $10/M
    ("claude-opus-4-6", Usage(10_000, 0, cache_write_tokens=10_000, cache_write_1h_tokens=4_000),
     "0.0775"),
    # 1,000 uncached × $1/M + 4,000 reads × $0.10/M + 1,000 out × $5/M
    ("claude-haiku-4-5", Usage(5_000, 1_000, cache_read_tokens=4_000), "0.0064"),
    # Sonnet 4.5 above 200K input, every kind at the long-context tier:
    # 50,000 × $6/M + 250,000 reads × $0.60/M + 2,000 out × $22.50/M
    ("claude-sonnet-4-5", Usage(300_000, 2_000, cache_read_tokens=250_000), "0.495"),
    # 250,000 one-hour writes at the long-context 1 h price of $12/M
    ("claude-sonnet-4-5", Usage(250_000, 0, cache_write_tokens=250_000,
                                cache_write_1h_tokens=250_000), "3"),
    # exactly 200,000 is not above the threshold: $3/M and $15/M
    ("claude-sonnet-4-5", Usage(200_000, 2_000), "0.63"),
    # claude-3-haiku's 1 h write is $0.50/M (litellm's $6/M is a data error)
    ("claude-3-haiku-20240307", Usage(1_000_000, 0, cache_write_tokens=1_000_000,
                                      cache_write_1h_tokens=1_000_000), "0.50"),
    # no published 1 h price (retired 3.5 Haiku): 1 h writes at the 5 min price of $1/M
    ("claude-3-5-haiku-20241022", Usage(1_000, 0, cache_write_tokens=1_000,
                                        cache_write_1h_tokens=1_000), "0.001"),
    # OpenAI has no cache-write price: writes are plain input ($2.50/M)
    ("gpt-4o", Usage(2_000, 0, cache_write_tokens=1_000), "0.005"),
    # the 2024-05-13 snapshot has no cached-input price: reads at $5/M
    ("gpt-4o-2024-05-13", Usage(1_000, 0, cache_read_tokens=1_000), "0.005"),
    # gpt-4.1: 1,000 × $2/M + 3,000 reads × $0.50/M + 1,000 out × $8/M
    ("gpt-4.1", Usage(4_000, 1_000, cache_read_tokens=3_000), "0.0115"),
    ("gpt-4o-mini", Usage(1_000_000, 1_000_000), "0.75"),
    ("claude-opus-4-1", Usage(1_000, 1_000), "0.09"),
    # names a proxy uses resolve to the same entry
    ("openrouter/anthropic/claude-opus-4.6", Usage(1_000_000, 0), "5"),
    # 300 uncached × $5/M + 1,200 cache reads × $0.50/M + 40 out × $25/M
    ("claude-opus-4-6", Usage(1500, 40, cache_read_tokens=1200), "0.0031"),
    # 1,000 cache writes × $6.25/M + 100 out × $25/M
    ("claude-opus-4-6", Usage(1000, 100, cache_write_tokens=1000), "0.00875"),
    # the retired Claude 3.5 Haiku is $0.80/$4, not Claude 3 Haiku's $0.25/$1.25
    ("claude-3-5-haiku-20241022", Usage(1_000_000, 1_000_000), "4.80"),
    ("claude-3-haiku-20240307", Usage(1_000_000, 1_000_000), "1.50"),
    # gpt-4o is $2.50/$10; only the 2024-05-13 snapshot is $5/$15
    ("gpt-4o", Usage(2000, 1000), "0.015"),
    ("gpt-4o-2024-05-13", Usage(2000, 1000), "0.025"),
    # gpt-4o cached input is 50 %: 1,000 × $1.25/M + 1,000 × $2.50/M
    ("gpt-4o", Usage(2000, 0, cache_read_tokens=1000), "0.00375"),
    # Sonnet 4.5 above 200K input: $6 in, $22.50 out
    ("claude-sonnet-4-5", Usage(250_000, 1000), "1.5225"),
    ("claude-sonnet-4-5", Usage(200_000, 1000), "0.615"),
    ("opus", Usage(1_000_000, 0), "4"),               # opus is Opus 5.5: $4/M input
    ("opus-4.6", Usage(1_000_000, 0), "5"),
])
def test_usage_to_dollars_by_hand(model: str, usage: Usage, expected: str) -> None:
    assert usage_cost(usage, CATALOG.get(model)) == Decimal(expected)


@pytest.mark.parametrize("model", ["mystery-model-9", "local/llama-3", "claude-opus-9-9"])
def test_unknown_models_cost_unknown_not_zero(model: str) -> None:
    assert CATALOG.get(model) is None
    assert usage_cost(Usage(1000, 1000), CATALOG.get(model)) is None


def test_one_hour_writes_cost_more_than_they_save_at_first() -> None:
    # 10,000 one-hour writes cost (10 - 5) × 10,000 / 1M more than plain input
    usage = Usage(10_000, 0, cache_write_tokens=10_000, cache_write_1h_tokens=10_000)
    assert cache_savings(usage, CATALOG.get("opus-4.6")) == Decimal("-0.05")


def test_usage_reads_one_hour_writes_when_reported() -> None:
    usage = openai_usage({"prompt_tokens": 5000, "completion_tokens": 10,
                          "prompt_tokens_details": {"cache_write_tokens": 4000},
                          "cache_creation": {"ephemeral_1h_input_tokens": 3000}})
    assert (usage.cache_write_tokens, usage.cache_write_1h_tokens) == (4000, 3000)


def test_output_tokens_a_sum_buys() -> None:
    assert output_tokens_for(Decimal("0.01"), CATALOG.get("opus-4.6")) == 400  # $25/M
    assert output_tokens_for(Decimal("0.01"), CATALOG.get("opus")) == 500      # $20/M
    assert output_tokens_for(Decimal("-1"), CATALOG.get("opus")) == 0
    assert output_tokens_for(Decimal("1"), None) is None


# -- the catalog against FACTS.md ---------------------------------------------------------------

@pytest.mark.parametrize("model, row", [
    # in, out, cache write 5m, cache write 1h, cache read, context, max output, min prefix
    ("claude-opus-4-6", ("5", "25", "6.25", "10", "0.50", 1_000_000, 128_000, 4096)),
    ("claude-opus-4-5", ("5", "25", "6.25", "10", "0.50", 200_000, 64_000, 4096)),
    ("claude-opus-4-1", ("15", "75", "18.75", "30", "1.50", 200_000, 32_000, 1024)),
    ("claude-sonnet-4-5", ("3", "15", "3.75", "6", "0.30", 200_000, 64_000, 1024)),
    ("claude-haiku-4-5", ("1", "5", "1.25", "2", "0.10", 200_000, 64_000, 4096)),
    ("claude-3-5-sonnet-20241022", ("3", "15", "3.75", None, "0.30", 200_000, 8_192, 1024)),
    ("claude-3-5-haiku-20241022", ("0.80", "4", "1.00", None, "0.08", 200_000, 8_192, 2048)),
    ("claude-3-haiku-20240307", ("0.25", "1.25", "0.30", "0.50", "0.03", 200_000, 4_096, 2048)),
    ("gpt-4o", ("2.50", "10", None, None, "1.25", 128_000, 16_384, 1024)),
    ("gpt-4o-2024-05-13", ("5", "15", None, None, None, 128_000, 4_096, None)),
    ("gpt-4o-mini", ("0.15", "0.60", None, None, "0.075", 128_000, 16_384, 1024)),
    ("gpt-4.1", ("2", "8", None, None, "0.50", 1_047_576, 32_768, 1024)),
])
def test_catalog_matches_the_published_figures(model: str, row: tuple) -> None:
    info = CATALOG.models[model]
    p = info.prices
    prices = tuple(None if v is None else Decimal(v) for v in row[:5])
    assert (p.input, p.output, p.cache_write, p.cache_write_1h, p.cache_read) == prices
    assert (info.context_window, info.max_output, info.min_cache_prefix) == row[5:]
    assert info.source and info.as_of and info.origin == "package"


def test_sonnet_long_context_tier() -> None:
    info = CATALOG.models["claude-sonnet-4-5"]
    assert info.long_context_threshold == 200_000
    tier = info.prices_for(200_001)
    assert (tier.input, tier.output) == (Decimal(6), Decimal("22.50"))
    assert info.prices_for(200_000) == info.prices


@pytest.mark.parametrize("name, model_id", [
    ("opus", "claude-opus-5-5"), ("sonnet", "claude-sonnet-5-5"), ("haiku", "claude-haiku-5-5"),
    ("opus-4.6", "claude-opus-4-6"), ("sonnet-4.5", "claude-sonnet-4-5"),
    ("haiku-4.5", "claude-haiku-4-5"),
    ("4o", "gpt-4o"), ("anthropic/claude-opus-4.6", "claude-opus-4-6"),
    ("openrouter/anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
    ("openai/gpt-4o-2024-08-06", "gpt-4o"), ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),
    ("claude-opus-4-5-20251101", "claude-opus-4-5"), ("anthropic/opus", "claude-opus-5-5"),
    ("my-local-model", "my-local-model"),
])
def test_aliases_and_proxy_names_resolve(name: str, model_id: str) -> None:
    assert CATALOG.resolve(name) == model_id


def test_models_table_shows_every_price_limit_source_and_date() -> None:
    table = models_table(CATALOG.extended({"local-llama": {"input": "0.1", "output": "0.2",
                                                          "source": "our invoice", "as_of": "2026-10"}}))
    opus = next(line for line in table.splitlines() if line.startswith("claude-opus-4-6"))
    assert opus.split()[:9] == ["claude-opus-4-6", "5", "25", "0.50", "6.25", "10", "1,000,000",
                                "128,000", "4,096"]
    assert opus.endswith("(2026-12)")
    assert "above 200,000 input" in table and "22.50" in table
    assert "local-llama" in table and "our invoice (2026-10) [from config]" in table
    assert "opus → claude-opus-5-5" in table and "opus-4.6 → claude-opus-4-6" in table


# -- offline token counts -----------------------------------------------------------------------

@pytest.mark.parametrize("text, cl100k, o200k", [
    # known values (OpenAI's cookbook on counting tokens)
    ("tiktoken is great!", 6, 6),
    ("antidisestablishmentarianism", 6, 6),
    ("2 + 2 = 4", 7, 7),
    ("お誕生日おめでとう", 9, 8),
])
def test_offline_counts_per_family(text: str, cl100k: int, o200k: int) -> None:
    assert tokens.count_text(text, "claude-opus-4-6") == cl100k
    assert tokens.count_text(text, "gpt-4o") == o200k
    assert tokens.count_text(text, "openai/gpt-4.1") == o200k
    assert tokens.count_text(text, "gpt-4") == cl100k


@pytest.mark.parametrize("model, native", [
    ("gpt-4o", True), ("gpt-4", True), ("gpt-3.5-turbo", True), ("openai/gpt-4.1", True),
    ("claude-opus-4-6", False), ("anthropic/claude-opus-4.6", False), ("llama-3-70b", False),
])
def test_which_models_tiktoken_counts_exactly(model: str, native: bool) -> None:
    assert tokens.is_native(model) is native


def test_chat_overhead_system_prompt_and_tools_are_counted() -> None:
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    compact = json.dumps(tool, separators=(",", ":"))
    assert tokens.count_tools([tool], "gpt-4o") == tokens.TOKENS_PER_TOOL + tokens.count_text(compact, "gpt-4o")
    plain = [{"role": "user", "content": "Hi"}]
    with_system = [{"role": "system", "content": "Be brief."}, *plain]
    # 3 priming + 3 wrapping + "user" + "Hi"; the system message adds 3 + "system" + "Be brief."
    assert tokens.count_messages(plain, "gpt-4o") == 8
    assert tokens.count_messages(with_system, "gpt-4o") == 8 + 3 + 1 + 3
    assert tokens.count_messages(plain, "gpt-4o", [tool]) == 8 + tokens.count_tools([tool], "gpt-4o")


def test_streaming_count_encodes_each_chunk_once(monkeypatch: pytest.MonkeyPatch) -> None:
    real = tokens.encoding_for("claude-opus-4-6")
    encoded: list[int] = []

    class Spy:
        def encode(self, text: str, **kwargs: object) -> list[int]:
            encoded.append(len(text))
            return real.encode(text, **kwargs)

        def encode_ordinary(self, text: str) -> list[int]:
            return self.encode(text, disallowed_special=())

    monkeypatch.setattr(tokens, "encoding_for", lambda model: Spy())
    counter = tokens.TokenCounter("claude-opus-4-6")
    chunks = [" word"] * 5000
    for chunk in chunks:
        counter.add(chunk)
    assert counter.tokens == 5000
    assert sum(encoded) == sum(map(len, chunks))      # O(chunk): nothing is encoded twice


# -- litellm price maps -------------------------------------------------------------------------

def write_price_map(path: Path) -> Path:
    path.write_text(json.dumps({
        "sample_spec": {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0,
                        "mode": "one of: chat, embedding, completion"},
        "groq/llama-3.3-70b-versatile": {
            "input_cost_per_token": 5.9e-07, "output_cost_per_token": 7.9e-07,
            "max_input_tokens": 128000, "max_output_tokens": 32768, "litellm_provider": "groq",
            "mode": "chat"},
        "claude-sonnet-4-5": {
            "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
            "cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06,
            "cache_creation_input_token_cost_above_1hr": 6e-06,
            "input_cost_per_token_above_200k_tokens": 6e-06,
            "output_cost_per_token_above_200k_tokens": 2.25e-05,
            "cache_read_input_token_cost_above_200k_tokens": 6e-07,
            "max_input_tokens": 200000, "max_output_tokens": 64000, "mode": "chat"},
        "text-embedding-3-small": {"input_cost_per_token": 2e-08, "output_cost_per_token": 0.0,
                                   "mode": "embedding"},
        "half-priced": {"input_cost_per_token": 1e-06, "mode": "chat"},
        "garbled": {"input_cost_per_token": "cheap", "output_cost_per_token": 1e-06},
    }))
    return path


def test_litellm_map_loads_per_million_decimals_with_origin(tmp_path: Path) -> None:
    path = write_price_map(tmp_path / "model_prices_and_context_window.json")
    entries = litellm_prices.load(path)
    assert set(entries) == {"groq/llama-3.3-70b-versatile", "claude-sonnet-4-5"}
    catalog = CATALOG.extended(entries, origin=str(path))
    llama = catalog.get("groq/llama-3.3-70b-versatile")
    assert (llama.prices.input, llama.prices.output) == (Decimal("0.59"), Decimal("0.79"))
    assert (llama.context_window, llama.max_output) == (128_000, 32_768)
    assert llama.origin == str(path) and "model_prices_and_context_window.json" in llama.source
    sonnet = catalog.get("sonnet-4.5")
    assert sonnet.origin == str(path)
    assert sonnet.prices.cache_write_1h == Decimal(6)
    assert sonnet.min_cache_prefix == 1024                   # kept from the package entry
    assert sonnet.long_context_threshold == 200_000
    tier = sonnet.prices_for(300_000)
    assert (tier.input, tier.output, tier.cache_read, tier.cache_write) == (
        Decimal(6), Decimal("22.5"), Decimal("0.6"), Decimal("3.75"))
    # 1,000,000 × $0.59/M + 1,000,000 × $0.79/M
    assert usage_cost(Usage(1_000_000, 1_000_000), llama) == Decimal("1.38")


@pytest.mark.parametrize("content, message", [
    (None, "cannot be read"),
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
])
def test_bad_litellm_map_says_what_to_do(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "prices.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        litellm_prices.load(path)


# -- tool definitions ---------------------------------------------------------------------------

def tool(name: str) -> dict:
    return {"type": "function", "function": {"name": name, "description": "Look it up.",
                                             "parameters": {"type": "object", "properties": {}}}}


@pytest.mark.parametrize("value, message", [
    ("get_weather", "expected a non-empty list of tool definitions, got str"),
    ([], "expected a non-empty list"),
    ([tool("a"), "b"], "tool 2 is a str, not a dict"),
    ([{"type": "retrieval"}], "only \"function\" tools"),
    ([{"type": "function"}], "has no \"function\" object"),
    ([{"type": "function", "function": {"name": "has space"}}], "function.name 'has space'"),
    ([tool("a"), tool("a")], "repeats the name 'a'"),
    ([{"type": "function", "function": {"name": "f", "parameters": "{}"}}], "not a JSON schema"),
    ([{"type": "function", "function": {"name": "f", "parameters": {"d": {1, 2}}}}], "not JSON"),
])
def test_bad_tool_definitions_get_one_line(value: object, message: str) -> None:
    with pytest.raises(UsageError, match=message) as raised:
        validate(value, "tools")
    assert "\n" not in str(raised.value)


def test_good_tool_definitions_pass_unchanged() -> None:
    tools = [tool("get_weather"), tool("get_time")]
    assert validate(tools) == tuple(tools)
