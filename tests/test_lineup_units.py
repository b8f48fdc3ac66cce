"""The lineup's pure logic: legacy notes, provider names, tokenizer ratios, tool prompts, forced
tool choices, the price mode a response names, API versions and price cross-checks."""
from __future__ import annotations

from decimal import Decimal

import pytest

from opus_magic.cost import calibration, capabilities, crosscheck, lineup
from opus_magic.cost.catalog import canonical, default_catalog
from opus_magic.cost.pricing import PriceMode, served_mode
from opus_magic.wire.anthropic import messages
from opus_magic.wire.body.request import WireRequest

CATALOG = default_catalog()


@pytest.mark.parametrize("model, note", [
    ("claude-opus-4-6", "legacy: Opus 5.5 is current, 20 % cheaper"),       # $5/$25 → $4/$20
    ("claude-sonnet-4-5", "legacy: Sonnet 5.5 is current, 33 % cheaper"),   # $3/$15 → $2/$10
    ("claude-sonnet-5", "legacy: Sonnet 5.5 is current, the same price"),   # $2/$10 both
    ("claude-opus-4-1", "legacy: Opus 5.5 is current, 73 % cheaper"),       # $15/$75 → $4/$20
    ("claude-3-5-haiku-20241022", "retired: Haiku 4.5 is current, 25 % dearer"),  # $0.80/$4 → $1/$5
    ("claude-opus-5-5", None), ("claude-haiku-4-5", None), ("gpt-4o", None),
])
def test_a_legacy_model_names_its_successor_and_how_its_price_compares(model, note) -> None:
    assert lineup.legacy_note(CATALOG.get(model), CATALOG) == note


@pytest.mark.parametrize("model_id, name", [
    ("claude-opus-5-5", "Opus 5.5"), ("claude-opus-5", "Opus 5"), ("claude-fable-5-2", "Fable 5.2"),
    ("gpt-4o", "gpt-4o"), ("claude-3-5-haiku-20241022", "claude-3-5-haiku-20241022"),
])
def test_display_names(model_id: str, name: str) -> None:
    assert lineup.display_name(model_id) == name


@pytest.mark.parametrize("name, model", [
    ("global.anthropic.claude-opus-4-6-v1:0", "claude-opus-4-6"),
    ("regional.anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet"),
    ("anthropic/claude-opus-4.6:batch", "claude-opus-4-6"),
    ("anthropic/claude-opus-4.8-fast", "claude-opus-4-8"),
    ("claude-haiku-4-5@20251001", "claude-haiku-4-5"),
    ("claude-opus-4-0", "claude-opus-4"), ("claude-opus-5-5", "claude-opus-5-5"),
    ("gpt-4o-2024-08-06", "gpt-4o"),
])
def test_one_name_per_model_however_a_provider_dresses_it(name: str, model: str) -> None:
    assert canonical(name) == model


def test_distinct_listing_keeps_every_pinned_model_and_one_name_per_other() -> None:
    listed = CATALOG.listed(everything=True, distinct=True)
    assert set(CATALOG.models) <= set(listed)  # gpt-4o-2024-05-13 stays beside gpt-4o
    assert len({canonical(name) for name in listed if name not in CATALOG.models}) == len(
        [name for name in listed if name not in CATALOG.models])
    assert "anthropic/claude-opus-4.6:batch" in CATALOG.listed(everything=True)


def test_newer_tokenizers_scale_tiktoken_until_history_teaches_a_ratio() -> None:
    prior = calibration.prior(CATALOG.get("opus"))
    assert prior is not None and prior.scale(1000) == 1300 and prior.runs == 0
    assert str(prior) == ("estimated: tiktoken × 1.3, as this model's own tokenizer counts "
                          "about 30 % more")
    assert prior.basis == "tiktoken × 1.3"
    assert calibration.prior(CATALOG.get("opus-4.6")) is None  # tiktoken's count as it is
    assert calibration.prior(None) is None
    learned = calibration.learn(5, 1100, 1000)
    assert learned is not None and str(learned) == "calibrated from 5 runs: ×1.100"


@pytest.mark.parametrize("model, forced, tokens", [
    ("claude-opus-5-5", False, 286), ("claude-haiku-5-5", True, 406),
    ("claude-opus-4-6", False, 497), ("claude-opus-4-6", True, 589),
    ("claude-opus-5-5", True, 286),   # no forced figure: the auto one is the best known
    ("gpt-4o", False, 0),
])
def test_the_tool_use_system_prompt_per_model(model: str, forced: bool, tokens: int) -> None:
    assert CATALOG.get(model).tool_prompt_tokens(forced) == tokens


@pytest.mark.parametrize("model, choice, refused", [
    ("claude-opus-5-5", "any", True), ("claude-opus-5-5", {"type": "tool", "name": "f"}, True),
    ("claude-sonnet-5-5", {"type": "any"}, True), ("claude-fable-5-1", "tool", True),
    ("claude-opus-5-5", "auto", False), ("claude-opus-5-5", {"type": "none"}, False),
    ("claude-opus-5-5", None, False), ("claude-haiku-5-5", "any", False),
    ("claude-opus-4-6", {"type": "tool", "name": "f"}, False),
])
def test_a_forced_tool_choice_is_refused_where_the_model_answers_400(model, choice,
                                                                     refused) -> None:
    line = capabilities.refusal(CATALOG.get(model), tool_choice=choice)
    assert (line is not None) == refused
    if refused:
        assert line == (f"{model} answers a forced tool_choice (any, or a named tool) with 400: "
                        f"use tool_choice auto and name the tool to call in the prompt.")
        assert capabilities.request_refusal(
            CATALOG.get(model), "anthropic", messages.API_VERSION, thinking=None, effort=None,
            temperature=None, max_tokens=100, tool_choice=choice) == line


@pytest.mark.parametrize("api, version, model, temperature, refused", [
    ("anthropic", "2026-10-21", "claude-opus-4-6", 0.3, "not accepted by anthropic-version"),
    ("anthropic", "2023-06-01", "claude-opus-4-6", 0.3, None),
    ("anthropic", "2023-06-01", "claude-opus-4-6", 1.5, "from 0 to 1, not 1.5"),
    ("anthropic", "2023-06-01", "claude-opus-5-5", 0.3, "only takes its default sampling"),
    ("anthropic", "2023-06-01", "claude-opus-5-5", 1.0, None),
    ("openai", messages.API_VERSION, "claude-opus-5-5", 0.3, "only takes its default sampling"),
    ("openai", messages.API_VERSION, "gpt-4o", 1.5, None),
])
def test_temperature_by_api_version_and_model(api, version, model, temperature, refused) -> None:
    line = capabilities.request_refusal(CATALOG.get(model), api, version, thinking=None,
                                        effort=None, temperature=temperature, max_tokens=100)
    assert (line is None) if refused is None else (refused in line)


def test_a_body_with_a_temperature_goes_as_the_version_that_takes_it() -> None:
    body = messages.request_body(WireRequest(
        model="claude-opus-4-6", messages=[{"role": "user", "content": "hi"}], max_tokens=10,
        temperature=0.2))
    assert body["temperature"] == 0.2 and messages.version_of(body) == "2023-06-01"
    plain = messages.request_body(WireRequest(
        model="claude-opus-4-6", messages=[{"role": "user", "content": "hi"}], max_tokens=10))
    assert "temperature" not in plain and messages.version_of(plain) == "2026-10-21"


@pytest.mark.parametrize("served, mode", [
    ({}, PriceMode()), ({"inference_geo": "us"}, PriceMode(us_only=True)),
    ({"inference_geo": "global", "speed": "standard"}, PriceMode()),
    ({"speed": "fast", "inference_geo": "us"}, PriceMode(fast=True, us_only=True)),
])
def test_the_price_mode_a_response_names(served: dict[str, str], mode: PriceMode) -> None:
    assert served_mode(served) == mode


def test_price_differences_field_by_field_and_per_tier() -> None:
    haiku = CATALOG.get("claude-haiku-5-5")
    other = CATALOG.extended({"claude-haiku-5-5": {"long_context": {
        "threshold": 100_000, "input": "0.50", "output": "3"}}}).get("claude-haiku-5-5")
    [found] = crosscheck.differences(haiku, other)
    assert (found.field, found.tier, found.used, found.other) == (
        "output", 100_000, Decimal("2.50"), Decimal("3"))
    assert found.name == "output above 100,000 input tokens"
    assert crosscheck.differences(haiku, haiku) == []
    read = crosscheck.differences(CATALOG.get("opus"), CATALOG.extended(
        {"claude-opus-5-5": {"cache_read": "0.40"}}).get("opus"))
    assert [(d.field, d.used, d.other) for d in read] == [
        ("cache_read", Decimal("0.200"), Decimal("0.40"))]
