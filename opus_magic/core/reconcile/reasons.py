"""Why a cell's reported dollars differ from the recorded ones, each reason with its part of the
gap, worked out so the parts add up to the gap exactly (pure).

The gap splits in three: (reported $ − its tokens at catalog prices) is about prices: a catalog
price that is wrong, a uniform markup, other charges; (reported tokens − recorded tokens) at
catalog prices is about tokens: cache writes billed at another TTL, batch discounts, runs recorded
only as estimates, runs outside this history, runs the report does not (yet) bill; and (recorded
tokens at catalog prices − recorded $) is about how the history priced them: a proxy's own price,
prices that changed since.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from opus_magic.core.reconcile.cells import (
    RATE_OF,
    Recorded,
    Reported,
    rate,
    rates,
    total,
    value,
)
from opus_magic.cost.model_info import ModelInfo
from opus_magic.cost.pricing import MILLION, format_usd
from opus_magic.wire.reports.day import KINDS, Tokens

LABELS = {"uncached_input": "uncached input", "cache_read": "cache-read",
          "cache_write_5m": "5-minute cache-write", "cache_write_1h": "1-hour cache-write",
          "output": "output"}
SAME_RATIO = Decimal("0.001")  # ratios this close are one markup
ROUNDING = Decimal("0.000001")  # dollars apart that are the reports' rounding, not a reason
LAG = ("the report can lag the runs by about 5 minutes (at times more), or they went through "
       "another organization's key")


@dataclass(frozen=True)
class Reason:
    """One named cause and its part of (reported − recorded) dollars; None when unpriced."""

    kind: str  # outside, ttl, batch, estimate, unbilled, price, markup, other, proxy, history
    amount: Decimal | None
    text: str


def runs(count: int) -> str:
    return f"{count:,} run" + ("" if count == 1 else "s")


def usd(amount: Decimal) -> str:
    return ("+" if amount > 0 else "") + format_usd(amount)


def per_million(amount: Decimal) -> str:
    return "$" + format(amount.normalize(), "f") + "/M"


def described(tokens: Tokens) -> str:
    """`1,000 more uncached input and 200 fewer output tokens`."""
    parts = [f"{abs(n):,} {'more' if n > 0 else 'fewer'} {LABELS[kind]}"
             for kind, n in zip(KINDS, tokens.counts()) if n]
    return (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]) + " tokens"


def explain(model: str, recorded: Recorded, reported: Reported,
            info: ModelInfo | None) -> list[Reason]:
    """The reasons for one cell, largest part of the story first."""
    if info is None or not info.priced:
        gap = reported.billed - recorded.dollars
        return [] if not gap else [Reason("unpriced", None, (
            f"the catalog has no price for {model}, so the gap cannot be taken apart: add one "
            f"under [models.\"{model}\"] in the config file"))]
    delta = {tier: reported.tokens.get(tier, Tokens()) - recorded.tokens.get(tier, Tokens())
             for tier in {*reported.tokens, *recorded.tokens}}
    matched = not any(delta.values())
    found = ttl(delta, info) + batch(delta, info)
    found += left_over(delta, recorded, reported, info, model)
    found += prices(model, reported, info, matched) + history(recorded, info)
    return [reason for reason in found if reason.amount]


def ttl(delta: dict[str, Tokens], info: ModelInfo) -> list[Reason]:
    """Cache writes the history has at one lifetime and the report at the other."""
    found = []
    for tier, d in delta.items():
        prices = rates(info, tier)
        if prices is None or d.cache_write_5m * d.cache_write_1h >= 0:
            continue
        moved = min(abs(d.cache_write_5m), abs(d.cache_write_1h))
        sign = 1 if d.cache_write_1h > 0 else -1
        delta[tier] = d - Tokens(cache_write_5m=-sign * moved, cache_write_1h=sign * moved)
        amount = sign * moved * (prices.cache_write_1h - prices.cache_write) / MILLION
        billed, kept = ("1-hour", "5-minute") if sign > 0 else ("5-minute", "1-hour")
        found.append(Reason("ttl", amount, (
            f"cache writes priced at another TTL: {moved:,} tokens the history priced as "
            f"{kept} writes were billed as {billed} writes, {usd(amount)}")))
    return found


def batch(delta: dict[str, Tokens], info: ModelInfo) -> list[Reason]:
    """Tokens the history has at one billing tier and the report at the other."""
    standard, discounted = delta.get("standard", Tokens()), delta.get("batch", Tokens())
    full, half = rates(info, "standard"), rates(info, "batch")
    if full is None or half is None:
        return []
    moved = Tokens(*(min(abs(s), abs(b)) * (1 if b > 0 else -1) if s * b < 0 else 0
                     for s, b in zip(standard.counts(), discounted.counts())))
    if not moved:
        return []
    delta["standard"], delta["batch"] = standard + moved, discounted - moved
    amount = sum((n * (rate(half, k) - rate(full, k)) for k, n in zip(KINDS, moved.counts())),
                 Decimal(0)) / MILLION
    how = ("the history recorded at the standard price were billed at the batch price"
           if amount < 0 else "the history recorded at the batch price were billed in full")
    return [Reason("batch", amount, f"batch discounts: {sum(map(abs, moved.counts())):,} tokens "
                                    f"{how}, {usd(amount)}")]


def left_over(delta: dict[str, Tokens], recorded: Recorded, reported: Reported,
              info: ModelInfo, model: str) -> list[Reason]:
    """Token differences left: estimates, runs outside this history, or runs not billed (yet)."""
    rest = total(delta)
    amount = value(delta, info)
    if not rest or amount is None:
        return []
    what = (f"the report bills {described(rest)} than the history recorded, {usd(amount)} at "
            f"catalog prices")
    if recorded.estimated_runs and (rest.input == 0 or recorded.inexact_estimates):
        return [Reason("estimate", amount, (
            f"{runs(recorded.estimated_runs)} recorded only as estimates (interrupted or "
            f"stopped streams, whose usage never arrived): {what}"))]
    if amount < 0:
        return [Reason("unbilled", amount, f"recorded but not billed: {what}; {LAG}")]
    keys = [key for key, tokens in sorted(reported.keys.items()) if tokens]
    whose = f" (the report's API keys here: {', '.join(keys)})" if len(keys) > 1 else ""
    none = f"; this history holds no run of {model} then" if not recorded.runs else ""
    guess = (f"; {runs(recorded.estimated_runs)} recorded as estimates may account for part of it"
             if recorded.estimated_runs else "")
    return [Reason("outside", amount,
                   f"runs made outside this history: {what}{whose}{none}{guess}")]


def prices(model: str, reported: Reported, info: ModelInfo, matched: bool) -> list[Reason]:
    """The report's dollars against its own tokens at catalog prices, kind by kind."""
    if not reported.has_costs:
        return []
    found = [Reason("other", reported.other, (
        f"charges not per token (web search, code execution), {usd(reported.other)}"))]
    expected = {kind: expected_dollars(reported, info, kind) for kind in KINDS}
    gaps = {k: reported.by_kind.get(k, Decimal(0)) - expected[k] for k in KINDS}
    gaps = {k: gap for k, gap in gaps.items() if abs(gap) >= ROUNDING}
    ratios = {k: reported.by_kind.get(k, Decimal(0)) / expected[k] for k in KINDS if expected[k]}
    if gaps and len(ratios) > 1 and max(ratios.values()) - min(ratios.values()) < SAME_RATIO:
        ratio = sum(ratios.values()) / len(ratios)
        return found + [Reason("markup", sum(gaps.values()), (
            f"a uniform markup: the report bills every kind of {model} token "
            f"{(ratio - 1) * 100:+.1f} % against the catalog's prices (a proxy's margin, or "
            f"US-only inference at ×1.1), {usd(sum(gaps.values()))}"))]
    return found + [wrong_price(model, kind, gap, ratios.get(kind), info, matched)
                    for kind, gap in gaps.items()]


def expected_dollars(reported: Reported, info: ModelInfo, kind: str) -> Decimal:
    """The reported tokens of one kind at the catalog's prices, each tier at its own."""
    amount = Decimal(0)
    for tier, tokens in reported.tokens.items():
        prices = rates(info, tier)
        if prices is not None:
            amount += getattr(tokens, kind) * rate(prices, kind)
    return amount / MILLION


def wrong_price(model: str, kind: str, gap: Decimal, ratio: Decimal | None, info: ModelInfo,
                matched: bool) -> Reason:
    """A kind of token billed at another price than the catalog's: the price the report implies."""
    listed = rates(info, "standard")
    assert listed is not None
    catalog = rate(listed, kind)
    suspect = "the token counts match, so the catalog's price is the suspect: " if matched else ""
    if ratio is None:
        return Reason("price", gap, f"{model}'s {LABELS[kind]} tokens are billed {usd(gap)} "
                                    f"although the usage report counts none of them")
    implied = (catalog * ratio).quantize(Decimal("0.0001")).normalize()
    return Reason("price", gap, (
        f"a price the catalog has wrong: {model}'s {LABELS[kind]} tokens are billed at "
        f"{per_million(implied)} where the catalog says {per_million(catalog)}, {usd(gap)}; "
        f"{suspect}if the bill is right, set [models.\"{model}\"] {RATE_OF[kind]} = "
        f"{implied} in the config file"))


def history(recorded: Recorded, info: ModelInfo) -> list[Reason]:
    """Recorded tokens at catalog prices against what the history recorded in dollars."""
    catalog, proxied = value(recorded.tokens, info), value(recorded.provider_tokens, info)
    if catalog is None or proxied is None:
        return []
    margin = proxied - recorded.provider_dollars
    rest = catalog - recorded.dollars - margin
    found = []
    if recorded.provider_runs and margin:
        share = (-margin / proxied * 100) if proxied else Decimal(0)
        found.append(Reason("proxy", margin, (
            f"a proxy's margin: {runs(recorded.provider_runs)} priced by the endpoint "
            f"itself (its usage.cost), {share:+.1f} % against the catalog, {usd(margin)}")))
    unknown = (f"; {runs(recorded.unknown_runs)} had no price when recorded"
               if recorded.unknown_runs else "")
    found.append(Reason("history", rest, (
        f"the history priced these runs otherwise than today's catalog (prices changed since, "
        f"or a long-context, fast-mode or US-only rate){unknown}, {usd(rest)}")))
    return found


def checked(reasons: list[Reason], gap: Decimal) -> list[Reason]:
    """The reasons, with what they leave unexplained of `gap` (nothing when all are priced)."""
    explained = sum((r.amount for r in reasons if r.amount is not None), Decimal(0))
    if any(r.amount is None for r in reasons) or abs(explained - gap) < ROUNDING:
        return reasons
    return [*reasons, Reason("unexplained", gap - explained,
                             f"unexplained, {usd(gap - explained)}")]
