"""The report bodies of the simulator in each provider's shape: a bucket of results grouped as
asked, and a page of buckets with its cursor (fields as in wire/reports/anthropic.py and
wire/reports/openai.py)."""
from __future__ import annotations

import base64
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from opus_magic.sim.reports.billing import KINDS, Charge

TOKEN_TYPES = {"uncached_input": "uncached_input_tokens", "cache_read": "cache_read_input_tokens",
               "cache_write_5m": "cache_creation.ephemeral_5m_input_tokens",
               "cache_write_1h": "cache_creation.ephemeral_1h_input_tokens",
               "output": "output_tokens"}
LINE_ITEMS = {"uncached_input": "input", "cache_read": "cached input",
              "cache_write_5m": "cache write", "cache_write_1h": "cache write", "output": "output"}
LABELS = {"uncached_input": "Input Tokens", "cache_read": "Cache Read Tokens",
          "cache_write_5m": "Cache Write Tokens (5m)", "cache_write_1h": "Cache Write Tokens (1h)",
          "output": "Output Tokens"}


@dataclass(frozen=True)
class Query:
    """How a report is grouped, and the prices that drifted from the catalog."""

    group_by: list[str] = field(default_factory=list)
    drift: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)


def moment(text: str) -> float:
    """An RFC 3339 time or Unix seconds, as Unix seconds."""
    if text.lstrip("-").isdigit():
        return float(text)
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def iso(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.timezone.utc).isoformat().replace("+00:00", "Z")


def cursor_of(start: float | None) -> str | None:
    return None if start is None else base64.urlsafe_b64encode(str(start).encode()).decode()


def start_of(cursor: str) -> float:
    return float(base64.urlsafe_b64decode(cursor.encode()).decode())


def grouped(charges: list[Charge], fields: dict[str, Callable[[Charge], Any]],
            asked: list[str]) -> dict[tuple[Any, ...], list[Charge]]:
    """Charges by the fields asked for (the others null), in a stable order."""
    groups: dict[tuple[Any, ...], list[Charge]] = defaultdict(list)
    for charge in charges:
        groups[tuple(get(charge) if name in asked else None
                     for name, get in fields.items())].append(charge)
    return dict(sorted(groups.items(), key=lambda item: str(item[0])))


def tallies(charges: list[Charge], fields: dict[str, Callable[[Charge], Any]], asked: list[str]
            ) -> list[tuple[dict[str, Any], list[int], int]]:
    """Per group: its fields (null where not asked for), its tokens of each kind, its requests."""
    return [(dict(zip(fields, key)), [sum(c.tokens[i] for c in group) for i in range(len(KINDS))],
             len(group)) for key, group in grouped(charges, fields, asked).items()]


def dollars(charges: list[Charge], drift: Mapping[str, Mapping[str, Decimal]]
            ) -> dict[tuple[str, str, str], Decimal]:
    """Dollars per (model, kind, tier): the catalog's prices, drifted ones where set."""
    out: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for charge in charges:
        for kind, amount in (charge.dollars(drift) or {}).items():
            if charge.tokens[KINDS.index(kind)]:
                out[(charge.model, kind, charge.tier)] += amount
    return dict(sorted(out.items()))


class AnthropicUsage:
    """`usage_report/messages`: tokens per bucket, grouped by model, key and tier."""

    FIELDS: dict[str, Callable[[Charge], Any]] = {
        "model": lambda c: c.model, "api_key_id": lambda c: c.key_id,
        "service_tier": lambda c: c.tier}

    def bucket(self, start: float, end: float, charges: list[Charge],
               query: Query) -> dict[str, Any]:
        results = [{"uncached_input_tokens": t[0], "cache_read_input_tokens": t[1],
                    "cache_creation": {"ephemeral_5m_input_tokens": t[2],
                                       "ephemeral_1h_input_tokens": t[3]},
                    "output_tokens": t[4], "server_tool_use": {"web_search_requests": 0},
                    **fields, "workspace_id": None, "context_window": None,
                    "inference_geo": None}
                   for fields, t, _ in tallies(charges, self.FIELDS, query.group_by)]
        return {"starting_at": iso(start), "ending_at": iso(end), "results": results}

    def page(self, data: list[dict[str, Any]], next_start: float | None) -> dict[str, Any]:
        return {"data": data, "has_more": next_start is not None,
                "next_page": cursor_of(next_start)}


class AnthropicCost(AnthropicUsage):
    """`cost_report`: cents per bucket, per model, token type and tier with `description`."""

    def bucket(self, start: float, end: float, charges: list[Charge],
               query: Query) -> dict[str, Any]:
        amounts = dollars(charges, query.drift)
        if "description" not in query.group_by:
            whole = sum(amounts.values(), Decimal(0))
            results = [self.result(whole, None, None, None)] if amounts else []
        else:
            results = [self.result(amount, *key) for key, amount in amounts.items()]
        return {"starting_at": iso(start), "ending_at": iso(end), "results": results}

    @staticmethod
    def result(amount: Decimal, model: str | None, kind: str | None,
               tier: str | None) -> dict[str, Any]:
        described = f"{model} Usage - {LABELS[kind]}" if model and kind else None
        return {"currency": "USD", "amount": format(amount * 100, "f"), "workspace_id": None,
                "description": described, "cost_type": "tokens" if kind else None,
                "context_window": "0-200k" if kind else None, "model": model,
                "service_tier": tier, "token_type": TOKEN_TYPES.get(kind or ""),
                "inference_geo": None}


class OpenAIUsage:
    """`usage/completions`: tokens per bucket (input with the cached ones), requests counted."""

    FIELDS: dict[str, Callable[[Charge], Any]] = {
        "model": lambda c: c.model, "api_key_id": lambda c: c.key_id,
        "batch": lambda c: c.tier == "batch", "project_id": lambda c: None,
        "user_id": lambda c: None}

    def bucket(self, start: float, end: float, charges: list[Charge],
               query: Query) -> dict[str, Any]:
        results = [{"object": "organization.usage.completions.result",
                    "input_tokens": sum(t[:4]), "output_tokens": t[4],
                    "input_cached_tokens": t[1], "input_cache_write_tokens": t[2] + t[3],
                    "input_audio_tokens": 0, "output_audio_tokens": 0,
                    "num_model_requests": requests, **fields, "service_tier": None}
                   for fields, t, requests in tallies(charges, self.FIELDS, query.group_by)]
        return {"object": "bucket", "start_time": int(start), "end_time": int(end),
                "results": results}

    def page(self, data: list[dict[str, Any]], next_start: float | None) -> dict[str, Any]:
        return {"object": "page", "data": data, "has_more": next_start is not None,
                "next_page": cursor_of(next_start)}


class OpenAICosts(OpenAIUsage):
    """`costs`: dollars per bucket, per line item (`"MODEL, input"`, `", output"`, …)."""

    def bucket(self, start: float, end: float, charges: list[Charge],
               query: Query) -> dict[str, Any]:
        items: dict[str | None, Decimal] = defaultdict(Decimal)
        for (model, kind, _), amount in dollars(charges, query.drift).items():
            line = f"{model}, {LINE_ITEMS[kind]}" if "line_item" in query.group_by else None
            items[line] += amount
        results = [{"object": "organization.costs.result",
                    "amount": {"value": float(amount), "currency": "usd"}, "line_item": line,
                    "project_id": None} for line, amount in items.items()]
        return {"object": "bucket", "start_time": int(start), "end_time": int(end),
                "results": results}


BODIES: dict[str, Any] = {"usage_report": AnthropicUsage(), "cost_report": AnthropicCost(),
                          "openai_usage": OpenAIUsage(), "openai_costs": OpenAICosts()}
