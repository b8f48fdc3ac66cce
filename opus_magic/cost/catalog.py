"""The model catalog: prices and limits as data, with the source and date of each entry."""
from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

PRICE_FIELDS = ("input", "output", "cache_read", "cache_write", "cache_write_1h")
VERSION_DOT = re.compile(r"(?<=\d)\.(?=\d)")
DATE_SUFFIX = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Prices:
    """Dollars per million tokens; None where the provider publishes no separate price."""

    input: Decimal | None = None
    output: Decimal | None = None
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    cache_write_1h: Decimal | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Prices:
        return cls(**{name: _decimal(data.get(name)) for name in PRICE_FIELDS})


@dataclass(frozen=True)
class ModelInfo:
    """One catalog entry."""

    id: str
    prices: Prices
    context_window: int | None = None
    max_output: int | None = None
    min_cache_prefix: int | None = None
    long_context_threshold: int | None = None
    long_context_prices: Prices | None = None
    source: str = ""
    as_of: str = ""
    origin: str = "package"
    retired: bool = False

    @property
    def priced(self) -> bool:
        return self.prices.input is not None and self.prices.output is not None

    def prices_for(self, input_tokens: int) -> Prices:
        """The price tier that applies to a request with this many input tokens."""
        if (self.long_context_prices is not None and self.long_context_threshold is not None
                and input_tokens > self.long_context_threshold):
            return self.long_context_prices
        return self.prices

    @classmethod
    def from_mapping(cls, model_id: str, data: Mapping[str, Any], origin: str) -> ModelInfo:
        long = data.get("long_context") or None
        return cls(
            id=model_id,
            prices=Prices.from_mapping(data),
            context_window=_int(data.get("context_window")),
            max_output=_int(data.get("max_output")),
            min_cache_prefix=_int(data.get("min_cache_prefix")),
            long_context_threshold=_int(long.get("threshold")) if long else None,
            long_context_prices=Prices.from_mapping(long) if long else None,
            source=str(data.get("source", "")),
            as_of=str(data.get("as_of", "")),
            origin=origin,
            retired=bool(data.get("retired", False)),
        )


@dataclass(frozen=True)
class Catalog:
    """Models by id plus aliases; immutable, extended by returning a new catalog."""

    models: Mapping[str, ModelInfo]
    aliases: Mapping[str, str]

    def resolve(self, name: str) -> str:
        """Alias or proxy name -> catalog id if known, else the name unchanged.

        `anthropic/claude-opus-4.6` (OpenRouter) and dated snapshots like `gpt-4o-2024-08-06`
        resolve to `claude-opus-4-6` and `gpt-4o` unless the catalog has the exact name.
        """
        for candidate in _candidates(name.strip()):
            if candidate in self.aliases:
                return self.aliases[candidate]
            if candidate in self.models:
                return candidate
        return name.strip()

    def get(self, name: str) -> ModelInfo | None:
        return self.models.get(self.resolve(name))

    def names_for(self, model_id: str) -> tuple[str, ...]:
        """The id and every alias that resolves to it."""
        return (model_id, *(alias for alias, target in self.aliases.items() if target == model_id))

    def extended(self, models: Mapping[str, Mapping[str, Any]] | None = None,
                 aliases: Mapping[str, str] | None = None, origin: str = "config") -> Catalog:
        """A catalog where `models` override or add entries (partial overrides keep the rest)."""
        merged = dict(self.models)
        for model_id, data in (models or {}).items():
            base = merged.get(model_id)
            if base is not None:
                data = {**_as_mapping(base), **data}
            merged[model_id] = ModelInfo.from_mapping(model_id, data, origin)
        return Catalog(merged, {**self.aliases, **(aliases or {})})


def _candidates(name: str) -> Iterator[str]:
    bare = name.rsplit("/", 1)[-1]
    dashed = VERSION_DOT.sub("-", bare)
    yield from dict.fromkeys((name, bare, dashed, DATE_SUFFIX.sub("", dashed)))


def _as_mapping(info: ModelInfo) -> dict[str, Any]:
    data: dict[str, Any] = {k: v for k, v in dataclasses.asdict(info.prices).items()}
    data.update(context_window=info.context_window, max_output=info.max_output,
                min_cache_prefix=info.min_cache_prefix, source=info.source, as_of=info.as_of,
                retired=info.retired)
    if info.long_context_prices is not None:
        data["long_context"] = {"threshold": info.long_context_threshold,
                                **dataclasses.asdict(info.long_context_prices)}
    return data


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


@functools.cache
def default_catalog() -> Catalog:
    """The catalog shipped with the package."""
    raw = json.loads((importlib.resources.files("opus_magic.cost") / "catalog.json").read_text())
    models = {mid: ModelInfo.from_mapping(mid, data, "package") for mid, data in raw["models"].items()}
    return Catalog(models, raw["aliases"])
