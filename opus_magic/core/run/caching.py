"""Where prompt-cache breakpoints pay on Claude's native API, and what a cache write costs.

A breakpoint caches the prefix up to it (tools, then system, then messages) when that prefix
reaches the model's minimum; the write costs 1.25× input (5 minutes) or 2× (1 hour), each later
read 0.1×. `auto` marks the tools and the system prompt when they reach the minimum, and the end
of the previous turn in a continued conversation, with the five-minute lifetime.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from opus_magic.cost import pricing
from opus_magic.cost.catalog import ModelInfo
from opus_magic.records import Usage

LIFETIMES = {"5m": "5 minutes", "1h": "1 hour"}


@dataclass(frozen=True)
class CachePlan:
    """The breakpoints to mark ("tools", "system", "turn", "attachments"), their lifetime, and
    the prefix they cache (what a first call writes); `why` says why nothing is marked, `last`
    names the attachment that carries the attachments' breakpoint."""

    breakpoints: tuple[str, ...] = ()
    ttl: str = "5m"
    prefix_tokens: int = 0
    why: str = ""
    last: str = ""


def plan_cache(mode: str, model_id: str, info: ModelInfo | None, tools_tokens: int,
               system_tokens: int, history_tokens: int, attachment_tokens: int = 0,
               last: str = "") -> CachePlan:
    """Breakpoints for `mode` (auto, 5m, 1h, off) given the token length of each prefix part;
    `history_tokens` is the earlier turns of a continued conversation (0 on a first turn),
    `attachment_tokens` this prompt's attachments, marked at `last` only when 5m or 1h asks
    (auto writes no document that may be asked about once)."""
    if mode == "off":
        return CachePlan(why="Caching: off (--cache off); nothing is marked for caching.")
    minimum = info.min_cache_prefix if info else None
    if minimum is None:
        return CachePlan(why=f"Caching: {model_id} has no prompt caching (or its minimum is "
                             f"unknown); nothing is marked.")
    ttl = "1h" if mode == "1h" else "5m"
    total = tools_tokens + system_tokens + history_tokens
    parts = (("tools", tools_tokens, tools_tokens),
             ("system", system_tokens, tools_tokens + system_tokens),
             ("turn", history_tokens, total),
             ("attachments", int(bool(last)) if mode in LIFETIMES else 0,
              total + attachment_tokens))
    marks = tuple(name for name, own, upto in parts if own and upto >= minimum)
    prefix = max((upto for name, _, upto in parts if name in marks), default=0)
    if "attachments" in marks:
        return CachePlan(marks, ttl, prefix, last=last)
    if last and not marks and mode == "auto":
        return CachePlan(why="Caching: nothing marked: attachments are marked only with --cache "
                             "5m or 1h (a document asked about once is not worth a write); mark "
                             "them to ask about them again at the cache price.")
    if not total:
        return CachePlan(why="Caching: nothing marked: only a system prompt, tools and earlier "
                             "turns are marked, and this run has none (a one-off prompt is not "
                             "worth a write); put a long, repeated part in -s to cache it.")
    if not marks:
        return CachePlan(why=f"Caching: nothing marked: the tools, system prompt and earlier turns "
                             f"come to about {total:,} tokens, under {model_id}'s "
                             f"{minimum:,}-token minimum cacheable prefix.")
    return CachePlan(marks, ttl, prefix)


def write_premium(plan: CachePlan, info: ModelInfo | None, input_tokens: int) -> Decimal | None:
    """What writing the prefix costs above sending it as plain input."""
    if not plan.breakpoints:
        return Decimal(0)
    plain = pricing.usage_cost(Usage(input_tokens), info)
    written = pricing.usage_cost(cache_usage(plan, input_tokens), info)
    return None if plain is None or written is None else written - plain


def read_saving(plan: CachePlan, info: ModelInfo | None, input_tokens: int) -> Decimal | None:
    """What one later call saves by reading the prefix instead of sending it as plain input."""
    plain = pricing.usage_cost(Usage(input_tokens), info)
    read = pricing.usage_cost(Usage(input_tokens, cache_read_tokens=plan.prefix_tokens), info)
    return None if plain is None or read is None else plain - read


def cache_usage(plan: CachePlan, input_tokens: int) -> Usage:
    """The input side of a first call, which writes the whole marked prefix."""
    written = min(plan.prefix_tokens, input_tokens)
    return Usage(input_tokens, cache_write_tokens=written,
                 cache_write_1h_tokens=written if plan.ttl == "1h" else 0,
                 cache_write_5m_tokens=0 if plan.ttl == "1h" else written)


def cache_line(plan: CachePlan, info: ModelInfo | None, input_tokens: int) -> str:
    """The pre-flight line: what is marked, what the write costs now, from which call it pays."""
    if not plan.breakpoints:
        return plan.why
    premium = write_premium(plan, info, input_tokens)
    saving = read_saving(plan, info, input_tokens)
    marked = " + ".join(plan.breakpoints).replace("turn", "earlier turns").replace(
        "attachments", f"attachments (the breakpoint on the last, {plan.last})")
    # an estimate before sending; the server's own count follows the run (read or written)
    head = (f"Caching: {marked} marked (≈{plan.prefix_tokens:,} tokens, {plan.ttl} lifetime)")
    if premium is None or not saving:
        return f"{head}; prices unknown."
    calls = math.ceil(premium / saving) + 1
    again = (": another question about the same attachments reads them at the cache price"
             if plan.last else "")
    return (f"{head}: a write costs {pricing.format_usd(premium)} more than plain input now "
            f"(nothing if already cached); pays off from the {ordinal(calls)} call within "
            f"{LIFETIMES[plan.ttl]}, each read saving {pricing.format_usd(saving)}{again}.")


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th … 11th, 12th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
