"""Numbers a server sends, checked before anything counts or prices them: token counts, block
indexes and reported costs that are infinite, NaN, negative, absurdly large or not numbers at
all are refused here, with a line that says which value it was."""
from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

from opus_magic.records import Usage

MAX_TOKENS = 10**9  # no request counts more tokens than this; a larger count cannot be right
MAX_COST_USD = Decimal(100_000)  # no single request costs this much
SHOWN = 24  # characters of a bad value quoted in a note


class Untrusted(ValueError):
    """A value from the server that cannot be right; the message names it in a few words."""


def shown(value: Any) -> str:
    """A value as a note quotes it: short, on one line."""
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    text = " ".join(text.split())
    return text if len(text) <= SHOWN else text[:SHOWN - 1] + "…"


def whole(value: Any, name: str, largest: int = MAX_TOKENS, what: str = "a token count") -> int:
    """A whole number from 0 to `largest` (missing or null: 0), else Untrusted."""
    if type(value) is int and 0 <= value <= largest:  # what every event carries: checked at once
        return value
    if value is None:
        return 0
    number: Any = value
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= largest:
        raise Untrusted(f"{name} {shown(value)} is not {what}")
    return number


def fields(raw: Any, name: str) -> dict[str, Any]:
    """A JSON object the usage nests (missing or null: empty), else Untrusted."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise Untrusted(f"{name} {shown(raw)} is not an object")
    return raw


def openai_usage(raw: Any) -> Usage:
    """An OpenAI-format `usage` object (missing or null details count as zero)."""
    usage = fields(raw, "usage")
    prompt = fields(usage.get("prompt_tokens_details"), "prompt_tokens_details")
    completion = fields(usage.get("completion_tokens_details"), "completion_tokens_details")
    creation = fields(usage.get("cache_creation"), "cache_creation")
    return Usage(
        input_tokens=whole(usage.get("prompt_tokens"), "prompt_tokens"),
        output_tokens=whole(usage.get("completion_tokens"), "completion_tokens"),
        cache_read_tokens=whole(prompt.get("cached_tokens"), "cached_tokens"),
        cache_write_tokens=whole(prompt.get("cache_write_tokens"), "cache_write_tokens"),
        reasoning_tokens=whole(completion.get("reasoning_tokens"), "reasoning_tokens"),
        cache_write_1h_tokens=whole(creation.get("ephemeral_1h_input_tokens"),
                                    "ephemeral_1h_input_tokens"),
    )


def messages_usage(raw: Any) -> Usage:
    """Our Usage from a Messages `usage` object, whose `input_tokens` excludes cache reads and
    writes (ours includes them); thinking is part of `output_tokens`; `server_tool_use` counts
    the web searches and fetches the server ran."""
    usage = fields(raw, "usage")
    server = fields(usage.get("server_tool_use"), "server_tool_use")
    creation = fields(usage.get("cache_creation"), "cache_creation")
    written = whole(usage.get("cache_creation_input_tokens"), "cache_creation_input_tokens")
    one_hour = whole(creation.get("ephemeral_1h_input_tokens"), "ephemeral_1h_input_tokens")
    five_min = whole(creation.get("ephemeral_5m_input_tokens"), "ephemeral_5m_input_tokens")
    read = whole(usage.get("cache_read_input_tokens"), "cache_read_input_tokens")
    details = fields(usage.get("output_tokens_details"), "output_tokens_details")
    thinking = whole(details.get("thinking_tokens"), "thinking_tokens")
    return Usage(input_tokens=whole(usage.get("input_tokens"), "input_tokens") + read + written,
                 output_tokens=whole(usage.get("output_tokens"), "output_tokens"),
                 cache_read_tokens=read, cache_write_tokens=written, reasoning_tokens=thinking,
                 cache_write_1h_tokens=one_hour, thinking_tokens=thinking,
                 cache_write_5m_tokens=five_min or max(written - one_hour, 0),
                 web_search_requests=whole(server.get("web_search_requests"),
                                           "web_search_requests"),
                 web_fetch_requests=whole(server.get("web_fetch_requests"), "web_fetch_requests"))


def provider_cost(raw: Any) -> Decimal:
    """A cost the provider reported in dollars (e.g. OpenRouter's `usage.cost`), else Untrusted."""
    try:
        cost = Decimal(str(raw)) if isinstance(raw, (int, float, str)) else None
    except InvalidOperation:
        cost = None
    if isinstance(raw, bool) or cost is None or not cost.is_finite() or not (
            0 <= cost <= MAX_COST_USD):
        raise Untrusted(f"cost {shown(raw)} is not an amount of dollars")
    return cost


def block_index(raw: Any, largest: int = MAX_TOKENS) -> int:
    """A block or tool-call index: a whole number up to `largest`."""
    return whole(raw, "index", largest, "the index of a block")
