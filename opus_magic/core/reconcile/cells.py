"""The two sides of a reconciliation cell (a UTC day × model, or either alone): what the history
recorded and what the provider reported, each folded from its rows, and their catalog value."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from opus_magic.cost.model_info import ModelInfo
from opus_magic.cost.pricing import BATCH, MILLION, STANDARD, Rates, from_pico, mode_rates
from opus_magic.records import Usage
from opus_magic.store.reconcile import RecordedRow
from opus_magic.wire.reports.day import KINDS, CostLine, Tokens, UsageLine

Tiers = Mapping[str, Tokens]
RATE_OF = {"uncached_input": "input", "cache_read": "cache_read", "cache_write_5m": "cache_write",
           "cache_write_1h": "cache_write_1h", "output": "output"}  # also the config's field names


@dataclass(frozen=True)
class Recorded:
    """Sums over the history's runs in one cell; tokens per billing tier (standard, batch)."""

    runs: int = 0
    tokens: Tiers = field(default_factory=dict)
    dollars: Decimal = Decimal(0)
    unknown_runs: int = 0
    estimated_runs: int = 0
    inexact_estimates: int = 0  # estimated runs whose input was an estimate too
    provider_runs: int = 0  # priced by the endpoint itself (a proxy's usage.cost)
    provider_dollars: Decimal = Decimal(0)
    provider_tokens: Tiers = field(default_factory=dict)

    def __add__(self, other: Recorded) -> Recorded:
        return Recorded(self.runs + other.runs, added(self.tokens, other.tokens),
                        self.dollars + other.dollars, self.unknown_runs + other.unknown_runs,
                        self.estimated_runs + other.estimated_runs,
                        self.inexact_estimates + other.inexact_estimates,
                        self.provider_runs + other.provider_runs,
                        self.provider_dollars + other.provider_dollars,
                        added(self.provider_tokens, other.provider_tokens))


@dataclass(frozen=True)
class Reported:
    """What the provider's reports say for one cell: tokens per tier and API key, dollars per
    kind of token and other charges; `has_costs` is False when the cost report says nothing."""

    tokens: Tiers = field(default_factory=dict)
    by_kind: Mapping[str, Decimal] = field(default_factory=dict)
    other: Decimal = Decimal(0)
    has_costs: bool = False
    keys: Mapping[str, Tokens] = field(default_factory=dict)

    @property
    def billed(self) -> Decimal:
        return sum(self.by_kind.values(), self.other)

    def __add__(self, other: Reported) -> Reported:
        kinds = {k: self.by_kind.get(k, Decimal(0)) + other.by_kind.get(k, Decimal(0))
                 for k in {*self.by_kind, *other.by_kind}}
        return Reported(added(self.tokens, other.tokens), kinds, self.other + other.other,
                        self.has_costs or other.has_costs, added(self.keys, other.keys))


def added(a: Mapping[str, Tokens], b: Mapping[str, Tokens]) -> dict[str, Tokens]:
    return {key: a.get(key, Tokens()) + b.get(key, Tokens()) for key in {*a, *b}}


def total(tiers: Tiers) -> Tokens:
    return sum(tiers.values(), Tokens())


def rates(info: ModelInfo | None, tier: str) -> Rates | None:
    """The catalog's dollars per million of each kind, at the base tier of a request's size."""
    return mode_rates(info, 0, BATCH if tier == "batch" else STANDARD)


def rate(prices: Rates, kind: str) -> Decimal:
    return getattr(prices, RATE_OF[kind])


def value(tiers: Tiers, info: ModelInfo | None) -> Decimal | None:
    """Tokens at the catalog's prices, each tier at its own; None when the price is unknown."""
    amount = Decimal(0)
    for tier, tokens in tiers.items():
        prices = rates(info, tier)
        if prices is None and tokens:
            return None
        if prices is None:
            continue
        amount += sum((count * rate(prices, kind) for kind, count in zip(KINDS, tokens.counts())),
                      Decimal(0)) / MILLION
    return amount


def row_tokens(row: RecordedRow) -> Tokens:
    usage = Usage(row.input_tokens, row.output_tokens, row.cache_read_tokens,
                  row.cache_write_tokens, cache_write_1h_tokens=row.cache_write_1h_tokens)
    return Tokens(usage.uncached_input_tokens, row.cache_read_tokens,
                  row.cache_write_tokens - row.cache_write_1h_tokens, row.cache_write_1h_tokens,
                  row.output_tokens)


def recorded(row: RecordedRow) -> Recorded:
    """One row of the history's sums as a cell's recorded side."""
    tiers = {"batch" if row.batch else "standard": row_tokens(row)}
    dollars = from_pico(row.cost_pico)
    estimated = row.runs - row.unknown_cost_runs if not row.exact else 0
    provider = row.cost_source == "provider"
    return Recorded(row.runs, tiers, dollars, row.unknown_cost_runs, estimated,
                    0 if row.native else estimated, row.runs if provider else 0,
                    dollars if provider else Decimal(0), tiers if provider else {})


def reported_usage(line: UsageLine) -> Reported:
    tier = "batch" if line.tier == "batch" else "standard"
    return Reported({tier: line.tokens}, keys={line.api_key_id or "(no key id)": line.tokens})


def reported_cost(line: CostLine) -> Reported:
    if line.kind is None:
        return Reported(other=line.amount, has_costs=True)
    return Reported(by_kind={line.kind: line.amount}, has_costs=True)


def folded(parts: Iterable[Recorded]) -> Recorded:
    return sum(parts, Recorded())
