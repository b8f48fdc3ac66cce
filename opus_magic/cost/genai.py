"""Prices from the `genai-prices` package's bundled data, for every model catalog.json does not pin.

Only the data shipped inside the installed package is read (upgrade the package to refresh it);
its `UpdatePrices`, which fetches from the internet, is never used. The package and its data load
on the first lookup, not when opus_magic is imported.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from opus_magic.cost.model_info import ModelInfo

ORIGIN = "genai-prices"
PRICE_KEYS = {"input": "input_mtok", "output": "output_mtok", "cache_read": "cache_read_mtok",
              "cache_write": "cache_write_mtok", "cache_write_1h": "cache_write_1h_mtok"}


class GenaiPrices:
    """The lowest-precedence price source: genai-prices entries read as catalog entries."""

    def __init__(self, providers: Mapping[str, Mapping[str, Any]],
                 data_dates: Mapping[str, str]) -> None:
        self.providers = providers
        self.data_dates = data_dates
        self._found: dict[str, ModelInfo | None] = {}

    @functools.cached_property
    def version(self) -> str:
        import importlib.metadata

        try:
            return importlib.metadata.version("genai-prices")
        except importlib.metadata.PackageNotFoundError:  # Python 3.10: the package needs 3.11
            return "(not installed)"

    @property
    def as_of(self) -> str:
        """When the installed release's data was gathered, where catalog.json records it."""
        return self.data_dates.get(self.version, "")

    @property
    def label(self) -> str:
        """`genai-prices 0.2.3 (2026-11)`: the installed release and its data's date."""
        return f"{ORIGIN} {self.version} ({self.as_of})" if self.as_of else f"{ORIGIN} {self.version}"

    def lookup(self, name: str) -> ModelInfo | None:
        """The entry genai-prices matches to `name`, or None when it knows no such model."""
        if name not in self._found:
            self._found[name] = self._match(name)
        return self._found[name]

    def _match(self, name: str) -> ModelInfo | None:
        snapshot = _snapshot()
        if snapshot is None:
            return None
        try:
            provider, model = snapshot.find_provider_model(name, None, None, None)
        except LookupError:
            return None
        return self._info(provider.id, model)

    def all_models(self) -> dict[str, ModelInfo]:
        """Every model of the bundled data, the first provider's entry where ids repeat."""
        snapshot = _snapshot()
        found: dict[str, ModelInfo] = {}
        for provider in snapshot.providers if snapshot is not None else ():
            for model in provider.models:
                if model.id not in found:
                    found[model.id] = self._info(provider.id, model)
        return found

    def _info(self, provider: str, model: Any) -> ModelInfo:
        now = dt.datetime.now(dt.timezone.utc)
        standard = model.get_prices(now)
        terms = self.providers.get(provider, {})
        data: dict[str, Any] = {"provider": provider, "context_window": model.context_window,
                                "min_cache_prefix": terms.get("min_cache_prefix"),
                                "legacy": bool(model.deprecated),
                                "source": f"{ORIGIN} {self.version}", "as_of": self.as_of,
                                **_prices(standard, tier=None)}
        values = [getattr(standard, key) for key in PRICE_KEYS.values()]
        starts = [value.tiers[0].start for value in values if _tiered(value) and value.tiers]
        if starts:
            data["long_context"] = {"threshold": min(starts), **_prices(standard, tier=0)}
        fast = model.get_prices(now, {"speed": "fast"}).input_mtok
        if fast is not None and standard.input_mtok and _base(fast) != _base(standard.input_mtok):
            data["modifiers"] = {"fast": _base(fast) / _base(standard.input_mtok)}
        return ModelInfo.from_mapping(model.id, data, ORIGIN, self.providers)


def _snapshot() -> Any:
    """The bundled data (loaded on first call), or None where the package is not installed."""
    try:
        from genai_prices import data_snapshot
    except ImportError:
        return None
    return data_snapshot.get_snapshot()


def _prices(prices: Any, tier: int | None) -> dict[str, Decimal]:
    """Our price fields from a genai-prices ModelPrice: the base, or the given tier's prices."""
    found = {}
    for name, key in PRICE_KEYS.items():
        value = getattr(prices, key)
        if value is None:
            continue
        if _tiered(value):
            value = value.tiers[tier].price if tier is not None and value.tiers else value.base
        found[name] = value
    return found


def _tiered(value: Any) -> bool:
    return hasattr(value, "tiers") and hasattr(value, "base")


def _base(value: Any) -> Decimal:
    return value.base if _tiered(value) else value
