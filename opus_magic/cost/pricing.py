"""Cost of a run: server usage × catalog price, in Decimal dollars."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import NamedTuple

from opus_magic.cost.model_info import ModelInfo
from opus_magic.records import Usage

MILLION = Decimal(1_000_000)
PICO = Decimal(10) ** 12


class Rates(NamedTuple):
    """Dollars per million of each kind of token, gaps filled as the provider charges them."""

    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    cache_write_1h: Decimal


@dataclass(frozen=True)
class PriceMode:
    """How a request was served: through a provider's batch API, in Anthropic's fast mode, in the
    US only (`inference_geo: "us"`)."""

    batch: bool = False
    fast: bool = False
    us_only: bool = False


STANDARD = PriceMode()
BATCH = PriceMode(batch=True)
FAST = PriceMode(fast=True)


def served_mode(served: Mapping[str, str], batch: bool = False) -> PriceMode:
    """The price mode a response's usage names: `speed: fast` is fast mode, `inference_geo: us`
    US-only inference (Anthropic's Messages API reports both)."""
    return PriceMode(batch=batch, fast=served.get("speed") == "fast",
                     us_only=served.get("inference_geo") == "us")


def usage_cost(usage: Usage, info: ModelInfo | None, mode: PriceMode = STANDARD) -> Decimal | None:
    """Uncached input, cache reads, cache writes (5 min and 1 h) and output, each at its own price,
    plus the fees of server tools (web search).

    None when the model's price is unknown, or `mode` asks for a batch or fast price the data has
    no modifier for: an unknown price is never zero. Where a model publishes no separate cache
    price, its provider's multiple of the input price applies (`ModelInfo.modifiers`), else
    cached tokens are charged as ordinary input (and 1-hour writes as 5-minute ones).
    """
    rates = mode_rates(info, usage.input_tokens, mode)
    fees = server_tool_cost(usage, info)
    if rates is None or fees is None:
        return None
    return (usage.uncached_input_tokens * rates.input
            + usage.cache_read_tokens * rates.cache_read
            + (usage.cache_write_tokens - usage.cache_write_1h_tokens) * rates.cache_write
            + usage.cache_write_1h_tokens * rates.cache_write_1h
            + usage.output_tokens * rates.output) / MILLION + fees


def server_tool_cost(usage: Usage, info: ModelInfo | None) -> Decimal | None:
    """The fees of the server tools a request used (web searches at $10 per 1,000 on Anthropic),
    beyond their tokens; None when one was used and its fee is unknown."""
    total = Decimal(0)
    for name, requests in (("web_search", usage.web_search_requests),
                           ("web_fetch", usage.web_fetch_requests)):
        if requests:
            fee = info.server_tool_fee(name) if info is not None else None
            if fee is None:
                return None
            total += requests * fee
    return total


def mode_rates(info: ModelInfo | None, input_tokens: int,
               mode: PriceMode = STANDARD) -> Rates | None:
    """Dollars per million of each kind of token for this request size and mode; None if unknown."""
    if info is None or not info.priced:
        return None
    factor = Decimal(1)
    modifiers = info.modifiers
    for wanted, modifier in ((mode.batch, modifiers.batch), (mode.fast, modifiers.fast),
                             (mode.us_only, modifiers.inference_geo_us)):
        if wanted:
            if modifier is None:
                return None
            factor *= modifier
    return Rates(*(rate * factor for rate in _rates(info, input_tokens)))


def _rates(info: ModelInfo, input_tokens: int) -> Rates:
    prices, factors = info.prices_for(input_tokens), info.modifiers
    assert prices.input is not None and prices.output is not None
    write = _given(prices.cache_write, prices.input * factors.cache_write_5m)
    write_1h = write if factors.cache_write_1h is None else prices.input * factors.cache_write_1h
    return Rates(prices.input, prices.output,
                 _given(prices.cache_read, prices.input * factors.cache_read), write,
                 _given(prices.cache_write_1h, write_1h))


def _given(price: Decimal | None, otherwise: Decimal) -> Decimal:
    return otherwise if price is None else price


def input_cost(tokens: int, info: ModelInfo | None) -> Decimal | None:
    return usage_cost(Usage(input_tokens=tokens), info)


def output_cost(tokens: int, info: ModelInfo | None, input_tokens: int = 0,
                mode: PriceMode = STANDARD) -> Decimal | None:
    """Output tokens at the tier set by the request's input size (and the mode's factors)."""
    rates = mode_rates(info, input_tokens, mode)
    return None if rates is None else tokens * rates.output / MILLION


def output_tokens_for(amount: Decimal, info: ModelInfo | None, input_tokens: int = 0) -> int | None:
    """Output tokens `amount` dollars buys (at least 0); None when the price is unknown or zero."""
    price = info.prices_for(input_tokens).output if info is not None and info.priced else None
    if not price:
        return None
    tokens = (amount * MILLION / price).to_integral_value(rounding=ROUND_FLOOR)
    return max(int(tokens), 0)


def cache_savings(usage: Usage, info: ModelInfo | None) -> Decimal | None:
    """Dollars cache reads saved minus what cache writes cost extra, against plain input."""
    rates = mode_rates(info, usage.input_tokens)
    if rates is None:
        return None
    return (usage.cache_read_tokens * (rates.input - rates.cache_read)
            - (usage.cache_write_tokens - usage.cache_write_1h_tokens)
            * (rates.cache_write - rates.input)
            - usage.cache_write_1h_tokens * (rates.cache_write_1h - rates.input)) / MILLION


def format_usd(amount: Decimal | None, estimated: bool = False) -> str:
    """`$0.0031`, `$12.35`, `≈$0.0031` while estimated, `unknown` when the price is unknown.

    One rule: at least 4 significant digits, at least 4 decimals below a dollar and 2 above,
    trailing zeros past those dropped (so never 28 decimals from a Decimal division).
    """
    if amount is None:
        return "unknown"
    magnitude = abs(amount)
    least = 2 if magnitude >= 1 else 4
    decimals = least if magnitude == 0 else max(least, 3 - magnitude.adjusted())
    shown = magnitude.quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    whole, _, fraction = f"{shown:f}".partition(".")
    text = f"${whole}.{fraction.rstrip('0').ljust(least, '0')}"
    text = text if amount >= 0 else f"-{text}"
    return f"≈{text}" if estimated else text


def to_pico(amount: Decimal) -> int:
    """Whole picodollars, so SQLite can sum costs exactly in integers (every catalog price is exact)."""
    return int((amount * PICO).to_integral_value())


def from_pico(amount: int) -> Decimal:
    return Decimal(amount) / PICO
