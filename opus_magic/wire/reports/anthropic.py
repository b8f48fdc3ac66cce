"""Anthropic's Usage & Cost Admin API: the Messages usage report and the cost report.

As documented (platform.claude.com, Admin API › Usage and Cost API; checked 2026-12-06):

- `GET /v1/organizations/usage_report/messages` with an admin key (`x-api-key: sk-ant-admin01-…`)
  and `anthropic-version: 2023-06-01`. Query: `starting_at` (RFC 3339; buckets snap to the start
  of the minute, hour or day in UTC), `ending_at` (buckets that end before it), `bucket_width`
  `1d` | `1h` | `1m` (default 1d), `limit` (buckets a page: 1d default 7, at most 31; 1h 24/168;
  1m 60/1440), `page` (the previous body's `next_page`), `group_by[]` any of `api_key_id`,
  `workspace_id`, `model`, `service_tier`, `context_window`, `inference_geo` (plus filters
  `models[]`, `api_key_ids[]`, `workspace_ids[]`, `service_tiers[]`, `context_window[]`).
  Body: `{data: [{starting_at, ending_at, results: [{uncached_input_tokens,
  cache_creation: {ephemeral_5m_input_tokens, ephemeral_1h_input_tokens},
  cache_read_input_tokens, output_tokens, server_tool_use: {web_search_requests}, model,
  api_key_id, workspace_id, service_tier, context_window, inference_geo}]}], has_more,
  next_page}`; a field not grouped by is null (`api_key_id` is null for Console usage).
- `GET /v1/organizations/cost_report`: the same `starting_at`, `ending_at`, `limit` (default 7,
  at most 31), `page`; `bucket_width` only `1d`; `group_by[]` `workspace_id` and/or
  `description`, which parses each line into `model`, `cost_type` (`tokens`, `web_search`,
  `code_execution`), `token_type` (`uncached_input_tokens`, `output_tokens`,
  `cache_read_input_tokens`, `cache_creation.ephemeral_5m_input_tokens`,
  `cache_creation.ephemeral_1h_input_tokens`), `service_tier` (`standard`, `batch`),
  `context_window` and `inference_geo`. `amount` is a decimal string in cents (`"123.45"` USD
  is $1.23); Priority Tier costs are not in it.
- Data appears about 5 minutes after a request; the API supports polling once a minute for
  sustained use, more often for short bursts such as following a report's pages.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from opus_magic.wire.anthropic.messages import api_root
from opus_magic.wire.client import key_of
from opus_magic.wire.endpoints import Endpoint
from opus_magic.wire.reports.day import (
    Call,
    CostLine,
    Fetched,
    Tokens,
    UsageLine,
    collect,
    direct,
    grouped,
)

USAGE = "/v1/organizations/usage_report/messages"
COST = "/v1/organizations/cost_report"
VERSION = "2023-06-01"
MAX_DAYS_A_PAGE = 31
TOKEN_TYPES = {"uncached_input_tokens": "uncached_input", "cache_read_input_tokens": "cache_read",
               "cache_creation.ephemeral_5m_input_tokens": "cache_write_5m",
               "cache_creation.ephemeral_1h_input_tokens": "cache_write_1h",
               "output_tokens": "output"}


def usage_line(day: str, result: dict[str, Any]) -> UsageLine:
    """One result of the usage report."""
    creation = result.get("cache_creation") or {}
    tokens = Tokens(int(result.get("uncached_input_tokens") or 0),
                    int(result.get("cache_read_input_tokens") or 0),
                    int(creation.get("ephemeral_5m_input_tokens") or 0),
                    int(creation.get("ephemeral_1h_input_tokens") or 0),
                    int(result.get("output_tokens") or 0))
    return UsageLine(day, result.get("model"), tokens, result.get("service_tier") or "standard",
                     result.get("api_key_id"))


def cost_line(day: str, result: dict[str, Any]) -> CostLine:
    """One result of the cost report: cents as a decimal string, in dollars."""
    kind = TOKEN_TYPES.get(result.get("token_type") or "")
    return CostLine(day, Decimal(str(result.get("amount") or 0)) / 100,
                    result.get("model") if kind else None, kind,
                    result.get("service_tier") or "standard", str(result.get("description") or ""))


def bucket_day(bucket: dict[str, Any]) -> str:
    return str(bucket["starting_at"])[:10]


def fetch(endpoint: Endpoint, days: list[str], timeout_s: float,
          call: Call[dict[str, Any]] = direct) -> Fetched:
    """Both reports for `days` (consecutive UTC days, oldest first), every page followed; each
    request goes through `call` (which may retry it)."""
    start = dt.date.fromisoformat(days[0])
    span = [("starting_at", f"{start.isoformat()}T00:00:00Z"),
            ("ending_at", f"{start + dt.timedelta(days=len(days))}T00:00:00Z"),
            ("bucket_width", "1d"), ("limit", min(len(days), MAX_DAYS_A_PAGE))]
    root = api_root(endpoint.base_url)
    headers = {"x-api-key": key_of(endpoint) or "no-key", "anthropic-version": VERSION}
    usage, first = collect(endpoint, root + USAGE, [*span, *(("group_by[]", g) for g in (
        "model", "api_key_id", "service_tier"))], headers, timeout_s, call, bucket_day)
    costs, second = collect(endpoint, root + COST, [*span, ("group_by[]", "description")],
                            headers, timeout_s, call, bucket_day)
    return Fetched(grouped(days, [usage_line(d, r) for d, r in usage],
                           [cost_line(d, r) for d, r in costs]), first + second)
