"""Cost of a run: server usage × catalog price, in Decimal dollars."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from .catalog import ModelInfo
from .records import Usage

MILLION = Decimal(1_000_000)
CENT = Decimal("0.01")
TENTH_CENT = Decimal("0.001")


def usage_cost(usage: Usage, info: ModelInfo | None) -> Decimal | None:
    """Uncached input, cache reads, cache writes and output, each at its own price.

    None when the model's price is unknown: an unknown price is never zero. Where a provider
    publishes no separate cache price, cached tokens are charged as ordinary input.
    """
    if info is None or not info.priced:
        return None
    prices = info.prices_for(usage.input_tokens)
    assert prices.input is not None and prices.output is not None
    read = prices.cache_read if prices.cache_read is not None else prices.input
    write = prices.cache_write if prices.cache_write is not None else prices.input
    return (usage.uncached_input_tokens * prices.input
            + usage.cache_read_tokens * read
            + usage.cache_write_tokens * write
            + usage.output_tokens * prices.output) / MILLION


def input_cost(tokens: int, info: ModelInfo | None) -> Decimal | None:
    return usage_cost(Usage(input_tokens=tokens), info)


def output_cost(tokens: int, info: ModelInfo | None, input_tokens: int = 0) -> Decimal | None:
    """Output tokens at the tier set by the request's input size."""
    if info is None or not info.priced:
        return None
    price = info.prices_for(input_tokens).output
    assert price is not None
    return tokens * price / MILLION


def cache_savings(usage: Usage, info: ModelInfo | None) -> Decimal | None:
    """Dollars cache reads saved minus what cache writes cost extra, against plain input."""
    if info is None or not info.priced:
        return None
    prices = info.prices_for(usage.input_tokens)
    assert prices.input is not None
    read = prices.cache_read if prices.cache_read is not None else prices.input
    write = prices.cache_write if prices.cache_write is not None else prices.input
    return (usage.cache_read_tokens * (prices.input - read)
            - usage.cache_write_tokens * (write - prices.input)) / MILLION


def format_usd(amount: Decimal | None, estimated: bool = False) -> str:
    """`$0.0031`, `≈$0.0031` while estimated, `unknown` when the price is unknown."""
    if amount is None:
        return "unknown"
    magnitude = abs(amount)
    if magnitude >= 1:
        shown = magnitude.quantize(CENT, rounding=ROUND_HALF_UP)
    elif magnitude >= TENTH_CENT / 10 or magnitude == 0:
        shown = magnitude.quantize(TENTH_CENT / 10, rounding=ROUND_HALF_UP)
    else:
        shown = magnitude.normalize()
    text = f"${shown:f}" if amount >= 0 else f"-${shown:f}"
    return f"≈{text}" if estimated else text
