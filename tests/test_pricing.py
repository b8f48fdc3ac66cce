"""Cost arithmetic against figures worked out by hand from the catalog's published prices."""
from __future__ import annotations

from decimal import Decimal

import pytest

from opus_magic.cost.catalog import default_catalog
from opus_magic.cost.pricing import cache_savings, format_usd, usage_cost
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
    assert CATALOG.resolve("opus") == "claude-opus-4-6"
    assert CATALOG.resolve("4o") == "gpt-4o"
    assert CATALOG.resolve("anthropic/claude-sonnet-4-5") == "claude-sonnet-4-5"
    assert CATALOG.resolve("my-local-model") == "my-local-model"


def test_config_overrides_extend_and_partially_override() -> None:
    catalog = CATALOG.extended({"claude-opus-4-6": {"output": "30"},
                                "local-llama": {"input": "0", "output": "0"}})
    assert catalog.get("opus").prices.output == Decimal("30")
    assert catalog.get("opus").prices.input == Decimal("5")
    assert catalog.get("opus").origin == "config"
    assert usage_cost(Usage(10, 10), catalog.get("local-llama")) == Decimal(0)
