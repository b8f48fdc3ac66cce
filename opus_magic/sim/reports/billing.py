"""What the simulator bills: the tokens of every request it answered (the tokens it sent, for a
stream cut short), priced as the engine prices them, by the package's catalog; plus what
`reports(...)` adds: runs made outside any history, a price that drifted from the catalog.
The report endpoints (`routes.py`) read their figures from here."""
from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from opus_magic.cost.catalog import default_catalog
from opus_magic.cost.pricing import MILLION, STANDARD, PriceMode, mode_rates
from opus_magic.sim.log import RequestLog

KINDS = ("uncached_input", "cache_read", "cache_write_5m", "cache_write_1h", "output")
PRICE_FIELDS = {"input": "uncached_input", "cache_read": "cache_read",
                "cache_write": "cache_write_5m", "cache_write_1h": "cache_write_1h",
                "output": "output"}  # a drifted price names its kind as the config does
RATE_OF = {kind: name for name, kind in PRICE_FIELDS.items()}
OUTSIDE_KEY = "apikey_sim_outside"


@dataclass(frozen=True)
class Charge:
    """One request as billed: when, which model and key, its tokens of each kind."""

    at: float
    model: str
    tokens: tuple[int, ...]
    key_id: str | None = None
    tier: str = "standard"
    mode: PriceMode = STANDARD

    def dollars(self, drift: Mapping[str, Mapping[str, Decimal]]) -> dict[str, Decimal] | None:
        """Dollars per kind of token at the catalog's rates for this request (its size, tier
        and mode), a drifted price replacing the catalog's; None for a model it cannot price."""
        info = default_catalog().get(self.model)
        size = sum(self.tokens[:4])
        rates, base = mode_rates(info, size, self.mode), mode_rates(info, size)
        if rates is None or base is None:
            return None
        moved = drift.get(self.model, {})
        out = {}
        for kind, count in zip(KINDS, self.tokens):
            rate, listed = getattr(rates, RATE_OF[kind]), getattr(base, RATE_OF[kind])
            if kind in moved:
                rate = moved[kind] * (rate / listed if listed else 1)
            out[kind] = count * rate / MILLION
        return out


@dataclass
class ReportBook:
    """The reports' knobs: runs outside any history, drifted prices, buckets a page."""

    outside: list[Charge] = field(default_factory=list)
    drift: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    page_size: int | None = None

    def configure(self, outside: list[dict[str, Any]] | None = None,
                  drift: Mapping[str, Mapping[str, Any]] | None = None,
                  page_size: int | None = None) -> None:
        """Add runs made outside any history, drift prices ({model: {field: $ per million}}),
        or cap the buckets a page holds (pagination)."""
        if page_size is not None and (type(page_size) is not int or page_size < 1):
            raise ValueError("page_size must be a whole number of buckets, 1 or more")
        self.outside += [outside_charge(run) for run in outside or ()]
        for model, prices in (drift or {}).items():
            unknown = set(prices) - set(PRICE_FIELDS)
            if unknown:
                raise ValueError(f"drift prices are named {', '.join(PRICE_FIELDS)}, "
                                 f"not {', '.join(sorted(unknown))}")
            self.drift.setdefault(model, {}).update(
                {PRICE_FIELDS[name]: Decimal(str(price)) for name, price in prices.items()})
        self.page_size = page_size or self.page_size


def outside_charge(run: Mapping[str, Any]) -> Charge:
    """A run made outside any history: `model`, token counts named as in a run's usage
    (`input_tokens` uncached, `output_tokens`, `cache_read_tokens`, `cache_write_tokens`,
    `cache_write_1h_tokens`), `at` (ISO time, default now), `key_id`, `batch`."""
    at = run.get("at")
    moment = dt.datetime.fromisoformat(str(at).replace("Z", "+00:00")).timestamp() if at else \
        time.time()
    names = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
             "output_tokens")
    tokens = tuple(int(run.get(name) or 0) for name in names)
    batch = bool(run.get("batch"))
    return Charge(moment, str(run["model"]), tokens,
                  str(run.get("key_id") or OUTSIDE_KEY), "batch" if batch else "standard",
                  PriceMode(batch=batch))


def anthropic_bills(model: str) -> bool:
    """Claude models are in Anthropic's reports, every other model in OpenAI's."""
    return model.rsplit("/", 1)[-1].startswith("claude")


def key_id(headers: Any) -> str:
    """A stable id for the key a request carried (never the key itself)."""
    auth = headers.get("x-api-key") or (headers.get("authorization") or "")[7:] or "no-key"
    return "apikey_sim_" + hashlib.sha256(auth.encode()).hexdigest()[:12]


def bill(entry: RequestLog, headers: Any, usage: Mapping[str, int], fixed_output: int = 0,
         served: Mapping[str, str] | None = None) -> None:
    """What a request is billed: `usage` by kind; `fixed_output` the output billed even if the
    text is cut short (thinking, tool calls); `served` how the usage says it was served."""
    entry.key_id = key_id(headers)
    entry.billed = {**usage, "fixed_output": fixed_output,
                    "us_only": int((served or {}).get("inference_geo") == "us"),
                    "fast": int((served or {}).get("speed") == "fast")}


def bill_chat(entry: RequestLog, headers: Any, usage: dict[str, Any],
              shown: bool) -> dict[str, Any] | None:
    """Bill a chat completion's usage; the usage to send (None when the scenario hides it)."""
    details = usage["prompt_tokens_details"]
    cached, written = details["cached_tokens"], details["cache_write_tokens"]
    bill(entry, headers, {"uncached_input": usage["prompt_tokens"] - cached - written,
                          "cache_read": cached, "cache_write_5m": written, "cache_write_1h": 0,
                          "output": usage["completion_tokens"]})
    return usage if shown else None


def bill_native(entry: RequestLog, headers: Any, answer: Any) -> None:
    """Bill a Messages answer: its usage, the output before its text fixed."""
    usage = answer.final_usage()
    creation = usage["cache_creation"]
    bill(entry, headers, {"uncached_input": usage["input_tokens"],
                          "cache_read": usage["cache_read_input_tokens"],
                          "cache_write_5m": creation["ephemeral_5m_input_tokens"],
                          "cache_write_1h": creation["ephemeral_1h_input_tokens"],
                          "output": usage["output_tokens"]},
         answer.output_tokens - len(answer.chunks), answer.served)


def logged_charge(entry: RequestLog) -> Charge | None:
    """A logged request's charge: its whole output once complete, else what was sent."""
    billed = entry.billed
    if billed is None or entry.status != 200:
        return None
    output = billed["output"] if entry.completed else billed["fixed_output"] + entry.chunks_sent
    tokens = (*(billed[kind] for kind in KINDS[:4]), output)
    mode = PriceMode(us_only=bool(billed["us_only"]), fast=bool(billed["fast"]))
    return Charge(entry.started_at, entry.model, tokens, entry.key_id,
                  mode=mode)


def batch_charges(batches: Any) -> list[Charge]:
    """The answered requests of every ended batch, at the batch price."""
    found = []
    for batch in list(batches.batches.values()):
        for result in list(batch.results.values()):
            if result["type"] != "succeeded" or batch.ended_at is None:
                continue
            usage = result["usage"]
            details = usage["prompt_tokens_details"]
            cached, written = details["cached_tokens"], details["cache_write_tokens"]
            tokens = (usage["prompt_tokens"] - cached - written, cached, written, 0,
                      usage["completion_tokens"])
            found.append(Charge(batch.ended_at, result["model"], tokens, None, "batch",
                                PriceMode(batch=True)))
    return found


def charges(state: Any) -> list[Charge]:
    """Everything the simulator bills: its log, its batches, and runs outside any history."""
    logged = [logged_charge(entry) for entry in state.requests()]
    return [c for c in logged if c] + batch_charges(state.batches) + list(state.reports.outside)
