"""Cost arithmetic against figures worked out by hand from the catalog's published prices."""
from __future__ import annotations

from decimal import Decimal

import pytest

from opus_magic.cost.catalog import default_catalog
from opus_magic.cost.pricing import (
    BATCH,
    STANDARD,
    PriceMode,
    cache_savings,
    format_usd,
    usage_cost,
)
from opus_magic.records import Usage

CATALOG = default_catalog()


def test_unknown_model_has_unknown_cost_never_zero() -> None:
    assert CATALOG.get("mystery-model-9") is None
    assert usage_cost(Usage(100, 100), None) is None
    assert format_usd(None) == "unknown"


def test_cache_savings_reads_save_and_writes_cost() -> None:
    info = CATALOG.get("claude-opus-4-6")
    # 1,200 reads save (5 - 0.50) each; 0 writes
    assert cache_savings(Usage(1500, 0, cache_read_tokens=1200), info) == Decimal("0.0054")
    # 1,000 writes cost 1.25 extra each
    assert cache_savings(Usage(1000, 0, cache_write_tokens=1000), info) == Decimal("-0.00125")


@pytest.mark.parametrize("amount, estimated, text", [
    (Decimal("0.0031"), False, "$0.0031"),
    (Decimal("0.0031"), True, "≈$0.0031"),
    (Decimal("12.345"), False, "$12.35"),
    (Decimal("0.0000004"), False, "$0.0000004"),
])
def test_format_usd(amount: Decimal, estimated: bool, text: str) -> None:
    assert format_usd(amount, estimated) == text


def test_catalog_facts_that_are_commonly_misquoted() -> None:
    opus = CATALOG.get("claude-opus-4-6")
    assert (opus.context_window, opus.max_output, opus.min_cache_prefix) == (1_000_000, 128_000, 4096)
    assert CATALOG.get("claude-opus-4-1").max_output == 32_000
    assert CATALOG.get("claude-3-haiku-20240307").prices.cache_write_1h == Decimal("0.50")
    assert all(info.source and info.as_of for info in CATALOG.models.values())


def test_aliases_and_provider_prefixes_resolve() -> None:
    assert CATALOG.resolve("opus") == "claude-opus-5-5"
    assert CATALOG.resolve("opus-4.6") == "claude-opus-4-6"
    assert CATALOG.resolve("4o") == "gpt-4o"
    assert CATALOG.resolve("anthropic/claude-sonnet-4-5") == "claude-sonnet-4-5"
    assert CATALOG.resolve("my-local-model") == "my-local-model"


def test_config_overrides_extend_and_partially_override() -> None:
    catalog = CATALOG.extended({"claude-opus-4-6": {"output": "30"},
                                "local-llama": {"input": "0", "output": "0"}})
    assert catalog.get("opus-4.6").prices.output == Decimal("30")
    assert catalog.get("opus-4.6").prices.input == Decimal("5")
    assert catalog.get("opus-4.6").origin == "config"
    assert usage_cost(Usage(10, 10), catalog.get("local-llama")) == Decimal(0)


def writes(five: int = 0, hour: int = 0) -> dict[str, int]:
    return {"cache_write_tokens": five + hour, "cache_write_1h_tokens": hour,
            "cache_write_5m_tokens": five}


# Today's lineup, each figure from Anthropic's models overview and pricing (2026-10/12): reads at
# 5 % of input on Opus 5.5 and Sonnet 5.5, 2.5 % on Fable and Mythos, 10 % elsewhere; writes
# 1.25× (5 minutes) and 2× (1 hour); the Batch API halves everything, cache prices included.
@pytest.mark.parametrize("model, usage, mode, expected", [
    # Opus 5.5: 2,000 × 4 + 3,000 × 5 (5m) + 1,000 × 8 (1h) + 4,000 × 0.20 + 500 × 20
    ("claude-opus-5-5", Usage(10_000, 500, cache_read_tokens=4_000, **writes(3_000, 1_000)),
     STANDARD, "0.0418"),
    # Sonnet 5.5: 1,000 × 2 + 9,000 × 0.10 + 1,000 × 10
    ("claude-sonnet-5-5", Usage(10_000, 1_000, cache_read_tokens=9_000), STANDARD, "0.0129"),
    # Sonnet 5.5 writes: 5,000 × 2.50 + 5,000 × 4
    ("claude-sonnet-5-5", Usage(10_000, 0, **writes(5_000, 5_000)), STANDARD, "0.0325"),
    # Haiku 5.5 at the tier's edge, 100,000 prompt tokens: 100,000 × 0.10 + 1,000 × 0.50
    ("claude-haiku-5-5", Usage(100_000, 1_000), STANDARD, "0.0105"),
    # one token more and every token is at $0.50/$2.50: 100,001 × 0.50 + 1,000 × 2.50
    ("claude-haiku-5-5", Usage(100_001, 1_000), STANDARD, "0.0525005"),
    # reads and writes count toward the 100K: 40,000 uncached + 50,000 read + 20,000 written
    # (5m) = 110,000 > 100K: 40,000 × 0.50 + 50,000 × 0.05 + 20,000 × 0.625 + 100 × 2.50
    ("claude-haiku-5-5", Usage(110_000, 100, cache_read_tokens=50_000, **writes(20_000)),
     STANDARD, "0.03525"),
    # below the tier, a 1-hour write is 2 × 0.10: 10,000 × 0.20 + 10,000 × 0.01
    ("claude-haiku-5-5", Usage(20_000, 0, cache_read_tokens=10_000, **writes(0, 10_000)),
     STANDARD, "0.0021"),
    # Fable 5.1: reads 2.5 % of $10 = $0.25: 1,000 × 10 + 4,000 × 0.25 + 100 × 50
    ("claude-fable-5-1", Usage(5_000, 100, cache_read_tokens=4_000), STANDARD, "0.016"),
    # Mythos 5.1 as Fable 5.1, 1h write 2 × 10: 1,000 × 20
    ("claude-mythos-5-1", Usage(1_000, 0, **writes(0, 1_000)), STANDARD, "0.02"),
    # batch on top of cache prices: (2,000 × 4 + 8,000 × 0.20 + 1,000 × 20) / 2
    ("claude-opus-5-5", Usage(10_000, 1_000, cache_read_tokens=8_000), BATCH, "0.0148"),
    # Haiku 5.5 above 100K in a batch: (200,000 × 0.50 + 1,000 × 2.50) / 2
    ("claude-haiku-5-5", Usage(200_000, 1_000), BATCH, "0.05125"),
    # legacy Opus 4.6 reads at 10 %: 1,000 × 5 + 9,000 × 0.50
    ("claude-opus-4-6", Usage(10_000, 0, cache_read_tokens=9_000), STANDARD, "0.0095"),
])
def test_todays_lineup_is_priced_as_published(model: str, usage: Usage, mode: PriceMode,
                                              expected: str) -> None:
    assert usage_cost(usage, CATALOG.get(model), mode) == Decimal(expected)


@pytest.mark.parametrize("model, prefix, tool_prompt, forced", [
    ("claude-opus-5-5", 512, 286, None),
    ("claude-sonnet-5-5", 512, 286, None),
    ("claude-haiku-5-5", 512, 286, 406),
    ("claude-fable-5-2", 512, None, None),
    ("claude-opus-4-8", 1024, 290, 410),
    ("claude-opus-4-7", 2048, 675, 804),
    ("claude-opus-4-6", 4096, 497, 589),
    ("claude-haiku-4-5", 4096, 496, 588),
])
def test_limits_and_tool_prompts_are_data(model: str, prefix: int, tool_prompt: int | None,
                                          forced: int | None) -> None:
    info = CATALOG.get(model)
    assert info.min_cache_prefix == prefix
    assert info.max_output is not None and info.context_window is not None
    if tool_prompt is None:
        assert info.tool_prompt is None
    else:
        assert info.tool_prompt.tokens() == tool_prompt
        assert info.tool_prompt.tokens(forced=True) == forced
