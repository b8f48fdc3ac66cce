"""One model's facts as data: prices, price modifiers, limits, what it accepts, source and date."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

PRICE_FIELDS = ("input", "output", "cache_read", "cache_write", "cache_write_1h")
MODIFIER_FIELDS = ("batch", "fast", "cache_write_5m", "cache_write_1h", "cache_read",
                   "inference_geo_us")
ORIGIN_NAMES = {"package": "catalog.json", "config": "your config"}


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
        """Prices from a catalog entry's fields (strings or numbers, dollars per million)."""
        return cls(**{name: _decimal(data.get(name)) for name in PRICE_FIELDS})


@dataclass(frozen=True)
class Modifiers:
    """Multipliers the cost functions apply, read from the catalog's provider and model data.

    `batch` and `fast` multiply every price of a batch or fast-mode request (None: no such price
    is known, so such a cost is unknown); `inference_geo_us` every price of a request served in
    the US only (Anthropic's `inference_geo: "us"`). The cache factors are fractions of the input
    price used only where the model publishes no cache price of its own (reads cost 10 % of input
    on most Claude models, 5 % on Opus 5.5 and Sonnet 5.5, 2.5 % on Fable and Mythos); a 1-hour
    write without its own factor costs what a 5-minute write does.
    """

    batch: Decimal | None = None
    fast: Decimal | None = None
    cache_write_5m: Decimal = Decimal(1)
    cache_write_1h: Decimal | None = None
    cache_read: Decimal = Decimal(1)
    inference_geo_us: Decimal | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Modifiers:
        """Modifiers from a mapping of factors; missing ones keep their defaults."""
        given = {name: _decimal(data[name]) for name in MODIFIER_FIELDS if data.get(name) is not None}
        return cls(**given)


@dataclass(frozen=True)
class Accepts:
    """Request parameters a model takes; None where the data does not say (then none is refused).

    `thinking`: "budget" (manual `budget_tokens` only), "adaptive" (adaptive or a budget) or
    "adaptive-only". `efforts`: the effort levels it takes, () when it takes none.
    `forced_tool_choice`: False where a `tool_choice` of `any` or `tool` is answered with 400.
    """

    default_sampling_only: bool | None = None
    thinking: str | None = None
    efforts: tuple[str, ...] | None = None
    forced_tool_choice: bool | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Accepts:
        """Read `{"sampling": "default-only", "thinking": ..., "effort": [...],
        "forced_tool_choice": false}`."""
        sampling = data.get("sampling")
        efforts = data.get("effort")
        return cls(default_sampling_only=None if sampling is None else sampling == "default-only",
                   thinking=data.get("thinking"),
                   efforts=None if efforts is None else tuple(efforts),
                   forced_tool_choice=data.get("forced_tool_choice"))

    def to_mapping(self) -> dict[str, Any]:
        """The inverse of from_mapping (unknown fields left out)."""
        data: dict[str, Any] = {"thinking": self.thinking,
                                "forced_tool_choice": self.forced_tool_choice}
        if self.default_sampling_only is not None:
            data["sampling"] = "default-only" if self.default_sampling_only else "any"
        if self.efforts is not None:
            data["effort"] = list(self.efforts)
        return {key: value for key, value in data.items() if value is not None}


@dataclass(frozen=True)
class ToolPrompt:
    """Tokens of the system prompt the API adds when a request carries tools: with `tool_choice`
    auto or none, and forced (`any` or a named tool; None where unknown or refused)."""

    auto: int
    forced: int | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ToolPrompt:
        return cls(int(data["auto"]), _int(data.get("forced")))

    def tokens(self, forced: bool = False) -> int | None:
        """The overhead for this `tool_choice`; None when the forced figure is unknown."""
        return self.forced if forced else self.auto


@dataclass(frozen=True)
class ServerToolFee:
    """What a server tool (web search, web fetch) costs a request beyond tokens, per request the
    provider ran, with where the figure comes from."""

    name: str
    per_request: Decimal
    source: str = ""
    as_of: str = ""

    @classmethod
    def from_mapping(cls, name: str, data: Mapping[str, Any]) -> ServerToolFee:
        """`{"per_1000": "10", "source": ..., "as_of": ...}`: dollars per 1,000 requests."""
        return cls(name, Decimal(str(data["per_1000"])) / 1000, str(data.get("source", "")),
                   str(data.get("as_of", "")))

    def to_mapping(self) -> dict[str, Any]:
        return {"per_1000": f"{(self.per_request * 1000).normalize():f}", "source": self.source,
                "as_of": self.as_of}


@dataclass(frozen=True)
class ModelInfo:
    """One catalog entry; `origin` says which source priced it (package, genai-prices, a litellm
    map's path, config) and `source`/`as_of` what that source cites and when."""

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
    provider: str | None = None
    modifiers: Modifiers = field(default_factory=Modifiers)
    accepts: Accepts = field(default_factory=Accepts)
    legacy: bool = False
    successor: str | None = None
    tool_prompt: ToolPrompt | None = None
    inputs: tuple[str, ...] | None = None  # "text", "image", "pdf"; None where the data is silent
    image_tokens: str | None = None  # the rule images are counted by, e.g. "claude-hires"
    estimate_ratio: Decimal | None = None  # own tokenizer's tokens per tiktoken token, if known
    server_tools: tuple[ServerToolFee, ...] = ()  # fees of the provider's server tools

    def server_tool_fee(self, name: str) -> Decimal | None:
        """Dollars per request of server tool `name` ("web_search"); None where unknown."""
        return next((fee.per_request for fee in self.server_tools if fee.name == name), None)

    @property
    def priced(self) -> bool:
        return self.prices.input is not None and self.prices.output is not None

    @property
    def price_source(self) -> str:
        """Where the price comes from and its date, e.g. `genai-prices 0.2.3 (2026-11)`."""
        name = ORIGIN_NAMES.get(self.origin, self.source)
        return f"{name} ({self.as_of})" if self.as_of else name

    def tool_prompt_tokens(self, forced: bool = False) -> int:
        """Tokens of the tool-use system prompt a request with tools adds (0 where unknown; the
        auto figure where the forced one is)."""
        if self.tool_prompt is None:
            return 0
        counted = self.tool_prompt.tokens(forced)
        return self.tool_prompt.auto if counted is None else counted

    def prices_for(self, input_tokens: int) -> Prices:
        """The price tier that applies to a request with this many input tokens."""
        if (self.long_context_prices is not None and self.long_context_threshold is not None
                and input_tokens > self.long_context_threshold):
            return self.long_context_prices
        return self.prices

    @classmethod
    def from_mapping(cls, model_id: str, data: Mapping[str, Any], origin: str,
                     providers: Mapping[str, Mapping[str, Any]] | None = None) -> ModelInfo:
        """An entry from catalog data; `providers` gives each provider's default modifiers."""
        long = data.get("long_context") or None
        provider = data.get("provider")
        terms = (providers or {}).get(provider or "", {})
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
            provider=provider,
            modifiers=Modifiers.from_mapping({**terms, **(data.get("modifiers") or {})}),
            accepts=Accepts.from_mapping(data.get("accepts") or {}),
            legacy=bool(data.get("legacy", False)),
            successor=data.get("successor"),
            tool_prompt=ToolPrompt.from_mapping(data["tool_prompt"]) if data.get("tool_prompt")
            else None,
            inputs=tuple(data["inputs"]) if data.get("inputs") is not None else None,
            image_tokens=data.get("image_tokens"),
            estimate_ratio=_decimal(data.get("estimate_ratio")),
            server_tools=tuple(ServerToolFee.from_mapping(name, fee) for name, fee in {
                **terms.get("server_tools", {}), **(data.get("server_tools") or {})}.items()),
        )

    def to_mapping(self) -> dict[str, Any]:
        """The entry as catalog data again, so a partial override keeps every other field."""
        data: dict[str, Any] = dataclasses.asdict(self.prices)
        data.update(context_window=self.context_window, max_output=self.max_output,
                    min_cache_prefix=self.min_cache_prefix, source=self.source, as_of=self.as_of,
                    retired=self.retired, provider=self.provider, legacy=self.legacy,
                    successor=self.successor, accepts=self.accepts.to_mapping(),
                    tool_prompt=(dataclasses.asdict(self.tool_prompt) if self.tool_prompt
                                 else None),
                    inputs=list(self.inputs) if self.inputs is not None else None,
                    image_tokens=self.image_tokens, estimate_ratio=self.estimate_ratio,
                    server_tools={fee.name: fee.to_mapping() for fee in self.server_tools},
                    modifiers={key: value for key, value in
                               dataclasses.asdict(self.modifiers).items() if value is not None})
        if self.long_context_prices is not None:
            data["long_context"] = {"threshold": self.long_context_threshold,
                                    **dataclasses.asdict(self.long_context_prices)}
        return data


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _int(value: Any) -> int | None:
    return None if value is None else int(value)
