"""The model catalog: catalog.json's pinned entries over genai-prices' data, plus aliases.

Precedence, lowest first: genai-prices (read on first use), catalog.json, a litellm price map
(`Catalog.extended(..., origin=path)`), the user's `[models]` config. A model none of them knows
has no entry, so its cost stays unknown.
"""
from __future__ import annotations

import functools
import importlib.resources
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from opus_magic.cost.genai import GenaiPrices
from opus_magic.cost.model_info import Accepts, ModelInfo, Modifiers, Prices

__all__ = ("Accepts", "Catalog", "ModelInfo", "Modifiers", "Prices", "default_catalog")

VERSION_DOT = re.compile(r"(?<=\d)\.(?=\d)")
DATE_SUFFIX = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2})$")
# How providers dress one model: Bedrock's `global.anthropic.…-v1:0`, OpenRouter's `:batch` and
# `-fast` price variants, Vertex's `@date`, a `-latest` pointer.
ROUTING_PREFIX = re.compile(r"^(?:(?:global|regional|us|eu|apac)\.)?(?:anthropic\.)?")
VARIANT_SUFFIX = re.compile(r"(?:-v\d+:\d+|:batch|-fast|@\d{8}|-latest)+$")
ZERO_MINOR = re.compile(r"(?<=-\d)-0$")  # claude-opus-4-0 is claude-opus-4


class Fallback(Protocol):
    """A price source consulted for models the catalog itself does not hold."""

    @property
    def label(self) -> str: ...

    def lookup(self, name: str) -> ModelInfo | None: ...

    def all_models(self) -> dict[str, ModelInfo]: ...


@dataclass(frozen=True)
class Catalog:
    """Models by id plus aliases; immutable, extended by returning a new catalog."""

    models: Mapping[str, ModelInfo]
    aliases: Mapping[str, str]
    fallback: Fallback | None = None
    providers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def resolve(self, name: str) -> str:
        """Alias or proxy name -> catalog id if known, else the name unchanged.

        `anthropic/claude-opus-4.6` (OpenRouter) and dated snapshots like `gpt-4o-2024-08-06`
        resolve to `claude-opus-4-6` and `gpt-4o` unless the catalog has the exact name; names
        only the fallback knows resolve to its id (`claude-opus-4.7` -> `claude-opus-4-7`).
        """
        candidates = tuple(_candidates(name.strip()))
        for candidate in candidates:
            if candidate in self.aliases:
                return self.aliases[candidate]
            if candidate in self.models:
                return candidate
        found = self._fallback(candidates)
        return found.id if found is not None else name.strip()

    def get(self, name: str) -> ModelInfo | None:
        """The entry for a name, alias or proxy name; None when no source knows the model."""
        model_id = self.resolve(name)
        if model_id in self.models:
            return self.models[model_id]
        return self._fallback((model_id, *_candidates(name.strip())))

    def names_for(self, model_id: str) -> tuple[str, ...]:
        """The id and every alias that resolves to it."""
        return (model_id, *(alias for alias, target in self.aliases.items() if target == model_id))

    def listed(self, everything: bool = False, distinct: bool = False) -> dict[str, ModelInfo]:
        """The catalog's own entries, and with `everything` every fallback model too; `distinct`
        keeps one entry per model where providers list it under several names (every one of the
        catalog's own, else the plainest name)."""
        listed = dict(self.models)
        if everything and self.fallback is not None:
            for model_id, info in self.fallback.all_models().items():
                listed.setdefault(model_id, info)
        if not distinct:
            return listed
        seen = {canonical(model_id) for model_id in self.models}
        keep = set(self.models)
        for model_id in sorted(listed.keys() - keep, key=lambda m: (m != canonical(m), len(m), m)):
            if canonical(model_id) not in seen:
                seen.add(canonical(model_id))
                keep.add(model_id)
        return {model_id: info for model_id, info in listed.items() if model_id in keep}

    def fallback_entry(self, name: str) -> ModelInfo | None:
        """What the fallback source (genai-prices) alone says about a model, pinned or not."""
        return self._fallback(tuple(_candidates(name.strip())))

    def extended(self, models: Mapping[str, Mapping[str, Any]] | None = None,
                 aliases: Mapping[str, str] | None = None, origin: str = "config") -> Catalog:
        """A catalog where `models` override or add entries (partial overrides keep the rest,
        also of a fallback model; an entry with both prices needs no fallback lookup)."""
        merged = dict(self.models)
        for model_id, data in (models or {}).items():
            base = merged.get(model_id)
            if base is None and not {"input", "output"} <= data.keys():
                base = self._fallback((model_id,))
            if base is not None:
                data = {**base.to_mapping(), **data}
            merged[model_id] = ModelInfo.from_mapping(model_id, data, origin, self.providers)
        return Catalog(merged, {**self.aliases, **(aliases or {})}, self.fallback, self.providers)

    def _fallback(self, candidates: tuple[str, ...]) -> ModelInfo | None:
        if self.fallback is None:
            return None
        return next(filter(None, map(self.fallback.lookup, candidates)), None)


def canonical(name: str) -> str:
    """One name for a model however a provider dresses it: `global.anthropic.claude-opus-4-6-v1:0`,
    `anthropic/claude-opus-4.6:batch` and `claude-opus-4-6-20260205` are all `claude-opus-4-6`."""
    bare = VARIANT_SUFFIX.sub("", ROUTING_PREFIX.sub("", name.rsplit("/", 1)[-1].lstrip("~")))
    return ZERO_MINOR.sub("", DATE_SUFFIX.sub("", VERSION_DOT.sub("-", bare)))


def _candidates(name: str) -> Iterator[str]:
    bare = name.rsplit("/", 1)[-1]
    dashed = VERSION_DOT.sub("-", bare)
    yield from dict.fromkeys((name, bare, dashed, DATE_SUFFIX.sub("", dashed)))


@functools.cache
def default_catalog() -> Catalog:
    """The catalog shipped with the package, over the installed genai-prices data."""
    raw = json.loads((importlib.resources.files("opus_magic.cost") / "catalog.json").read_text())
    providers = raw["providers"]
    models = {mid: ModelInfo.from_mapping(mid, data, "package", providers)
              for mid, data in raw["models"].items()}
    return Catalog(models, raw["aliases"], GenaiPrices(providers, raw["genai_prices_data"]),
                   providers)
