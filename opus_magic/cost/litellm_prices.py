"""A litellm-format price map (`model_prices_and_context_window.json`) read as catalog entries."""
from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from opus_magic.cost.pricing import MILLION
from opus_magic.errors import ConfigError

PER_TOKEN_FIELDS = {
    "input": "input_cost_per_token",
    "output": "output_cost_per_token",
    "cache_read": "cache_read_input_token_cost",
    "cache_write": "cache_creation_input_token_cost",
    "cache_write_1h": "cache_creation_input_token_cost_above_1hr",
}
TIER_KEY = re.compile(r"^input_cost_per_token_above_(\d+)k_tokens$")
PRICED_MODES = (None, "chat", "completion", "responses")


def load(path: str | Path) -> dict[str, dict[str, Any]]:
    """Catalog entries (dollars per million, limits, source, as-of) for every priced chat model."""
    resolved = Path(path).expanduser().resolve()
    try:
        return _load(resolved, resolved.stat().st_mtime_ns)
    except OSError as exc:
        raise ConfigError(f"The litellm price map {resolved} cannot be read ({exc.strerror}): fix "
                          f"litellm_prices in the config or remove it.") from None


@functools.lru_cache(maxsize=4)
def _load(path: Path, mtime_ns: int) -> dict[str, dict[str, Any]]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"The litellm price map {path} is not valid JSON ({exc}): fix it or "
                          f"remove litellm_prices from the config.") from None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"The litellm price map {path} must be a JSON object keyed by model "
                          "name.")
    as_of = dt.datetime.fromtimestamp(mtime_ns / 1e9, dt.timezone.utc).date().isoformat()
    source = f"litellm price map {path.name}"
    entries = {name: entry(data, source, as_of) for name, data in raw.items()
               if isinstance(data, Mapping)}
    return {name: data for name, data in entries.items() if data is not None}


def entry(data: Mapping[str, Any], source: str, as_of: str) -> dict[str, Any] | None:
    """One litellm row as a catalog entry; None for rows without input and output prices."""
    if data.get("mode") not in PRICED_MODES:
        return None
    try:
        prices = _prices(data, "")
        if prices.get("input") is None or prices.get("output") is None:
            return None
        result: dict[str, Any] = {**prices, "source": source, "as_of": as_of,
                                  "context_window": _int(data.get("max_input_tokens")),
                                  "max_output": _int(data.get("max_output_tokens")
                                                     or data.get("max_tokens"))}
        if data.get("litellm_provider"):
            result["provider"] = str(data["litellm_provider"])
        tiers = sorted(int(m.group(1)) for m in map(TIER_KEY.match, data) if m)
        if tiers:
            above = tiers[0]
            result["long_context"] = {**prices, **_prices(data, f"_above_{above}k_tokens"),
                                      "threshold": above * 1000}
    except (InvalidOperation, TypeError, ValueError):
        return None
    return result


def _prices(data: Mapping[str, Any], suffix: str) -> dict[str, Decimal]:
    found = {name: data.get(key + suffix) for name, key in PER_TOKEN_FIELDS.items()}
    return {name: per_million(value) for name, value in found.items() if value is not None}


def per_million(per_token: Any) -> Decimal:
    """3e-06 dollars per token -> Decimal('3') per million, without float noise."""
    if isinstance(per_token, bool):
        raise TypeError("a price cannot be true or false")
    value = (Decimal(str(per_token)) * MILLION).normalize()
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


def _int(value: Any) -> int | None:
    return None if value is None else int(value)
