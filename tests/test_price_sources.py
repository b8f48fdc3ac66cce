"""Where prices come from (genai-prices < catalog.json < litellm map < config), price modifiers,
what models reject before sending, and `%opus models` saying source, date and successor."""
from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import opus_magic
from opus_magic.config import Settings
from opus_magic.core.session import Session
from opus_magic.cost.capabilities import refusal
from opus_magic.cost.catalog import Catalog, default_catalog
from opus_magic.cost.pricing import BATCH, FAST, PriceMode, format_usd, usage_cost
from opus_magic.records import Usage

CATALOG = default_catalog()
# The installed genai-prices release, which the committed lock fixes, and its data's date.
GENAI = CATALOG.fallback.label
GENAI_AS_OF = CATALOG.fallback.as_of


def layered(tmp_path: Path) -> Catalog:
    """Every source at once: a litellm map and config entries over the package's catalog."""
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({
        "acme-chat-1": {"input_cost_per_token": 1e-06, "output_cost_per_token": 4e-06,
                        "cache_read_input_token_cost": 1e-07, "litellm_provider": "openai",
                        "mode": "chat"},
        "claude-haiku-4-5": {"input_cost_per_token": 1.1e-06, "output_cost_per_token": 5.5e-06,
                             "mode": "chat"},
        "gpt-5": {"input_cost_per_token": 1.5e-06, "output_cost_per_token": 1.2e-05,
                  "mode": "chat"},
    }))
    settings = Settings(litellm_prices=str(path), models={
        "claude-haiku-4-5": {"output": "6", "source": "our contract", "as_of": "2026-10"},
        "in-house-7b": {"provider": "anthropic", "input": "2", "output": "10"},
        "claude-sonnet-5": {"output": "12"},
        "o3": {"output": "9"},
    })
    return Session().catalog(settings)


# Hand-worked from each source's published prices ($ per million tokens).
@pytest.mark.parametrize("model, usage, expected, source", [
    # catalog.json: Opus 5.5 $4/$20, reads 5 % ($0.20): 6,000 × 4 + 4,000 × 0.20 + 1,000 × 20
    ("opus-5.5", Usage(10_000, 1_000, cache_read_tokens=4_000), "0.0448", "catalog.json (2026-12)"),
    # catalog.json: Sonnet 5.5 reads at 5 % of $2 (genai-prices agrees; Anthropic's September
    # page said $0.20)
    ("sonnet-5.5", Usage(1_000_000, 0, cache_read_tokens=1_000_000), "0.10",
     "catalog.json (2026-12)"),
    # genai-prices: gpt-5 $1.25/$10, cached input $0.125: 2,000 × 1.25 + 8,000 × 0.125
    # + 2,000 × 10
    ("gpt-5", Usage(10_000, 2_000, cache_read_tokens=8_000), "0.0235", GENAI),
    # catalog.json: Fable 5.2 $8/$40, 5-minute write 1.25× = $10: 10,000 × 10 + 1,000 × 40
    ("claude-fable-5-2", Usage(10_000, 1_000, cache_write_tokens=10_000), "0.14",
     "catalog.json (2026-12)"),
    # catalog.json: Fable 5.2 read 2.5 % = $0.20 and 1-hour write 2× = $16: 5,000 × 0.20 + 5,000 × 16
    ("claude-fable-5.2", Usage(10_000, 0, cache_read_tokens=5_000, cache_write_tokens=5_000,
                               cache_write_1h_tokens=5_000), "0.081", "catalog.json (2026-12)"),
    # genai-prices tier: Gemini 2.5 Pro above 200K input is $2.50/$15: 300,000 × 2.5 + 1,000 × 15
    ("gemini-2.5-pro", Usage(300_000, 1_000), "0.765", GENAI),
])
def test_usage_to_dollars_from_the_package_sources(model: str, usage: Usage, expected: str,
                                                   source: str) -> None:
    info = CATALOG.get(model)
    assert usage_cost(usage, info) == Decimal(expected)
    assert info.price_source == source


@pytest.mark.parametrize("model, usage, expected, source", [
    # litellm map: $1/$4, reads $0.10: 1,000 × 1 + 1,000 × 0.10 + 1,000 × 4
    ("acme-chat-1", Usage(2_000, 1_000, cache_read_tokens=1_000), "0.0051",
     "litellm price map prices.json"),
    # litellm beats genai-prices for gpt-5: $1.50/$12
    ("gpt-5", Usage(1_000_000, 1_000_000), "13.5", "litellm price map prices.json"),
    # config beats the litellm map: its $6 output over the map's $1.10 input
    ("claude-haiku-4-5", Usage(1_000_000, 1_000_000), "7.1", "your config (2026-10)"),
    # a config model of provider anthropic: writes at 1.25× / 2× and reads at 0.1× of its $2 input:
    # 1,000 × 2 + 1,000 × 0.20 + 1,000 × 2.50 + 1,000 × 4
    ("in-house-7b", Usage(4_000, 0, cache_read_tokens=1_000, cache_write_tokens=2_000,
                          cache_write_1h_tokens=1_000), "0.0087", "your config"),
    # a partial config override keeps the rest of catalog.json's entry: $2 in, $12 out
    ("claude-sonnet-5", Usage(1_000_000, 1_000_000), "14", "your config (2026-12)"),
    # and of a genai-prices entry: o3's $2 input there, $9 output from the config
    ("o3", Usage(1_000_000, 1_000_000), "11", f"your config ({GENAI_AS_OF})"),
])
def test_usage_to_dollars_from_a_litellm_map_and_the_config(tmp_path: Path, model: str,
                                                            usage: Usage, expected: str,
                                                            source: str) -> None:
    info = layered(tmp_path).get(model)
    assert usage_cost(usage, info) == Decimal(expected)
    assert info.price_source.startswith(source)


@pytest.mark.parametrize("model", ["mystery-model-9", "claude-opus-9-9", "local/llama-3"])
def test_a_model_no_source_knows_stays_unknown(tmp_path: Path, model: str) -> None:
    catalog = layered(tmp_path)
    assert catalog.get(model) is None and catalog.resolve(model) == model
    assert format_usd(usage_cost(Usage(1000, 1000), catalog.get(model))) == "unknown"


@pytest.mark.parametrize("model, usage, mode, expected", [
    # Opus 4.6 fast mode is 6×: (1,000 × 5 + 1,000 × 25) × 6
    ("opus-4.6", Usage(1_000, 1_000), FAST, "0.18"),
    # batch is 50 % off on Anthropic: (1,000 × 5 + 1,000 × 25) / 2
    ("opus-4.6", Usage(1_000, 1_000), BATCH, "0.015"),
    # and on OpenAI, from genai-prices too: (1,000,000 × 1.25 + 1,000,000 × 10) / 2
    ("gpt-5", Usage(1_000_000, 1_000_000), BATCH, "5.625"),
    # batch cache reads are halved as well: 1,000 × 5 / 2 + 3,000 × 0.50 / 2
    ("opus-4.6", Usage(4_000, 0, cache_read_tokens=3_000), BATCH, "0.00325"),
    # Sonnet 4.5's long-context tier still applies in a batch: (300,000 × 6 + 1,000 × 22.50) / 2
    ("sonnet-4.5", Usage(300_000, 1_000), BATCH, "0.91125"),
    # genai-prices' fast price for Fable 5.2 is 2× ($16/$80): 1,000 × 16 + 1,000 × 80
    ("claude-fable-5-2", Usage(1_000, 1_000), FAST, "0.096"),
    # batch and fast together multiply: 0.03 × 6 × 0.5
    ("opus-4.6", Usage(1_000, 1_000), PriceMode(batch=True, fast=True), "0.09"),
    # and so does US-only inference, on Opus 5.5: (1,000 × 4 + 1,000 × 20) × 2 × 1.1 / 2
    ("opus", Usage(1_000, 1_000), PriceMode(batch=True, fast=True, us_only=True), "0.0264"),
    # Opus 5.5 fast mode is $8/$40 (2×): 1,000 × 8 + 1,000 × 40
    ("opus-5.5", Usage(1_000, 1_000), FAST, "0.048"),
    # served in the US only (inference_geo "us"), every Anthropic price × 1.1: (1,000 × 4 + 1,000 × 20) × 1.1
    ("opus-5.5", Usage(1_000, 1_000), PriceMode(us_only=True), "0.0264"),
    # no fast price known for Sonnet 5.5, and no batch discount known for Google: unknown, not $0
    ("sonnet-5.5", Usage(1_000, 1_000), FAST, None),
    ("gemini-2.5-pro", Usage(1_000, 1_000), BATCH, None),
])
def test_price_modifiers_are_data(model: str, usage: Usage, mode: PriceMode,
                                  expected: str | None) -> None:
    cost = usage_cost(usage, CATALOG.get(model), mode)
    assert cost == (None if expected is None else Decimal(expected))


@pytest.mark.parametrize("model, asked, fragment", [
    ("sonnet-5.5", {"temperature": 0.2}, "only takes its default sampling"),
    ("opus-5.5", {"top_p": 0.9}, "drop top_p"),
    ("sonnet-5", {"thinking": 4096}, "adaptive thinking only, not a budget of 4,096"),
    ("opus-5.5", {"thinking": 2048}, "adaptive thinking only"),
    ("sonnet-4.5", {"thinking": "adaptive"}, "has no adaptive thinking"),
    ("claude-opus-4-1", {"effort": "high"}, "takes no effort setting"),
    ("opus", {"effort": "extreme"}, "takes effort low, medium, high, max, not 'extreme'"),
    ("sonnet-5.5", {"temperature": 1.0, "thinking": "adaptive", "effort": "max"}, None),
    ("opus-4.6", {"temperature": 0.2, "thinking": 8000, "effort": "low"}, None),
    ("opus", {"temperature": 0.2}, "claude-opus-5-5 only takes its default sampling"),
    ("sonnet-4.5", {"temperature": 0, "thinking": 1024}, None),
    ("gpt-5", {"temperature": 0.2, "thinking": "adaptive", "effort": "low"}, None),  # data silent
    ("mystery-model-9", {"temperature": 0.2}, None),
])
def test_what_a_model_rejects_is_one_line_saying_what_to_do(model: str, asked: dict,
                                                            fragment: str | None) -> None:
    refused = refusal(CATALOG.get(model), **asked)
    if fragment is None:
        assert refused is None
    else:
        assert fragment in refused and "\n" not in refused


def test_a_refused_temperature_sends_nothing(ip, simulator, capsys) -> None:
    ip.run_cell_magic("opus", "-m sonnet-5.5 -t 0.2", "hi")
    err = capsys.readouterr().err
    assert "claude-sonnet-5-5 only takes its default sampling" in err and "Nothing was sent" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert simulator.requests() == []
    ip.run_cell_magic("opus", "-m opus-4.6,sonnet-5.5 -t 0.2", "hi")  # the other model still runs
    assert "not run: sonnet-5.5: claude-sonnet-5-5 only takes" in capsys.readouterr().out
    assert [r.model for r in simulator.requests()] == ["claude-opus-4-6"]
    ip.run_cell_magic("opus", "-m sonnet-5.5 -t 0.2 --dry-run", "hi")      # a dry run says so
    assert "Would be refused: claude-sonnet-5-5 only takes" in capsys.readouterr().out
    assert len(simulator.requests()) == 1


def test_a_run_keeps_the_source_and_date_of_its_price(ip, simulator, capsys) -> None:
    ip.run_cell_magic("opus", "-m gpt-5 --max-tokens 30", "hi")
    run = opus_magic.last_run()
    assert run.cost == usage_cost(run.usage, CATALOG.get("gpt-5")) and run.cost > 0
    assert opus_magic.history(limit=1)[0].price_source == GENAI
    ip.run_cell_magic("opus", "-m sonnet-5.5 --max-tokens 30", "hi")
    assert opus_magic.last_run().price_source == "catalog.json (2026-12)"
    ip.run_line_magic("opus", f"show {run.id}")
    assert f"prices from {GENAI}" in capsys.readouterr().out


def test_models_shows_source_date_legacy_successor_and_aliases(ip, capsys) -> None:
    ip.run_line_magic("opus", "models")
    out = capsys.readouterr().out
    opus = next(line for line in out.splitlines() if line.startswith("claude-opus-4-6"))
    assert opus.endswith("catalog.json: Anthropic pricing page and models overview "
                         "(1M context at standard price; fast mode 6×); tool-use system prompt per "
                         "Anthropic's tool-use overview (2026-07) (2026-12)")
    assert "claude-opus-4-6 (legacy) · claude-opus-5-5 is current: $4/$20, 20 % cheaper" in out
    assert "claude-sonnet-4-6 (legacy) · claude-sonnet-5-5 is current: $2/$10, 33 % cheaper" in out
    assert "opus → claude-opus-5-5" in out and "sonnet-5.5 → claude-sonnet-5-5" in out
    assert "opus-4.6 → claude-opus-4-6" in out
    assert "Batch API: anthropic 50 % off, openai 50 % off" in out
    assert f"priced from {GENAI}" in out and "gpt-5 " not in out
    ip.run_line_magic("opus", "models gpt-5")
    out = capsys.readouterr().out
    gpt5 = next(line for line in out.splitlines() if line.startswith("gpt-5 "))
    assert gpt5.split()[1:3] == ["1.25", "10"] and gpt5.endswith(GENAI)
    assert "claude" not in out.split("Prices in $")[0]
    ip.run_line_magic("opus", "models --all")
    assert "\nclaude-fable-5-2 " in capsys.readouterr().out
    ip.run_line_magic("opus", "models one two")
    err = capsys.readouterr().err
    assert "Use %opus models [--all] [WORD]" in err and len(err.strip().splitlines()) == 1


def test_config_moves_an_alias_and_models_shows_it(ip, simulator, isolated_dirs, capsys) -> None:
    path = isolated_dirs / "config" / "opus_magic" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[aliases]\nopus = "claude-opus-4-6"\n')     # the user's alias wins
    ip.run_line_magic("opus", "models opus")
    out = capsys.readouterr().out
    assert "opus → claude-opus-4-6" in out and "opus → claude-opus-5-5" not in out
    ip.run_cell_magic("opus", "-m opus --max-tokens 20", "hi")
    assert simulator.requests()[-1].model == "claude-opus-4-6"
    assert opus_magic.last_run().price_source == "catalog.json (2026-12)"


def test_genai_prices_loads_on_first_lookup_not_at_import() -> None:
    code = ("import sys, opus_magic.notebook.extension, opus_magic.core.session\n"
            "from opus_magic.cost.catalog import default_catalog\n"
            "catalog = default_catalog()\n"
            "assert catalog.get('opus').price_source == 'catalog.json (2026-12)'\n"
            "assert 'genai_prices' not in sys.modules and 'pydantic' not in sys.modules\n"
            "assert catalog.get('gpt-5').origin == 'genai-prices'\n"
            "assert 'genai_prices' in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_locked_genai_prices_release_has_its_data_date_in_the_catalog() -> None:
    # A lock refresh that moves genai-prices must say when its data was gathered (catalog.json's
    # genai_prices_data), or every price from it would show without a date.
    assert GENAI_AS_OF, f"catalog.json's genai_prices_data lacks {GENAI}"
