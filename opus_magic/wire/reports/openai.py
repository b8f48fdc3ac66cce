"""OpenAI's organization usage and costs endpoints, read with an admin key.

As documented (platform.openai.com, API reference › Administration › Usage and Costs; checked
2026-12-06):

- `GET /v1/organization/usage/completions` with `Authorization: Bearer sk-admin-…`. Query:
  `start_time` (Unix seconds, inclusive), `end_time` (exclusive), `bucket_width` `1m` | `1h` |
  `1d` (default 1d), `limit` (buckets a page: 1d default 7, at most 31; 1h 24/168; 1m 60/1440),
  `page` (the previous body's `next_page`), `group_by` any of `project_id`, `user_id`,
  `api_key_id`, `model`, `batch`, `service_tier` (plus filters `project_ids`, `user_ids`,
  `api_key_ids`, `models`, `batch`). Body: `{object: "page", data: [{object: "bucket",
  start_time, end_time, results: [{object: "organization.usage.completions.result",
  input_tokens (cached ones included), input_cached_tokens, output_tokens, input_audio_tokens,
  output_audio_tokens, num_model_requests, project_id, user_id, api_key_id, model, batch,
  service_tier}]}], has_more, next_page}`; a field not grouped by is null.
- `GET /v1/organization/costs`: `start_time`, `end_time`, `bucket_width` only `1d`, `limit`
  1 to 180 (default 7), `page`, `group_by` `project_id` and/or `line_item` (e.g.
  `"gpt-4o-2024-08-06, input"`, `", cached input"`, `", output"`). Results:
  `{object: "organization.costs.result", amount: {value (dollars), currency: "usd"},
  line_item, project_id}`.
"""
from __future__ import annotations

import calendar
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

USAGE = "/v1/organization/usage/completions"
COSTS = "/v1/organization/costs"
MAX_DAYS_A_PAGE = {USAGE: 31, COSTS: 180}
LINE_KINDS = {"input": "uncached_input", "cached input": "cache_read", "output": "output",
              "cache write": "cache_write_5m"}


def usage_line(day: str, result: dict[str, Any]) -> UsageLine:
    """One result of the completions usage report (its input includes the cached tokens)."""
    cached = int(result.get("input_cached_tokens") or 0)
    written = int(result.get("input_cache_write_tokens") or 0)
    tokens = Tokens(int(result.get("input_tokens") or 0) - cached - written, cached, written, 0,
                    int(result.get("output_tokens") or 0))
    return UsageLine(day, result.get("model"), tokens,
                     "batch" if result.get("batch") else "standard", result.get("api_key_id"))


def cost_line(day: str, result: dict[str, Any]) -> CostLine:
    """One result of the costs report; a line item `"MODEL, KIND"` names its model and kind."""
    item = str(result.get("line_item") or "")
    model, _, what = item.rpartition(", ")
    kind = LINE_KINDS.get(what.strip().lower()) if model else None
    amount = Decimal(str((result.get("amount") or {}).get("value") or 0))
    return CostLine(day, amount, model.strip() if kind else None, kind, "standard", item)


def bucket_day(bucket: dict[str, Any]) -> str:
    return dt.datetime.fromtimestamp(int(bucket["start_time"]), dt.timezone.utc).date().isoformat()


def unix(day: dt.date) -> int:
    return calendar.timegm(day.timetuple())


def fetch(endpoint: Endpoint, days: list[str], timeout_s: float,
          call: Call[dict[str, Any]] = direct) -> Fetched:
    """The completions usage and the costs for `days` (consecutive UTC days, oldest first),
    every page followed; each request goes through `call` (which may retry it)."""
    start = dt.date.fromisoformat(days[0])
    root = api_root(endpoint.base_url)
    headers = {"Authorization": f"Bearer {key_of(endpoint) or 'no-key'}"}

    def report(path: str, group_by: tuple[str, ...]) -> tuple[list[Any], int]:
        span = [("start_time", unix(start)),
                ("end_time", unix(start + dt.timedelta(days=len(days)))),
                ("bucket_width", "1d"), ("limit", min(len(days), MAX_DAYS_A_PAGE[path])),
                *(("group_by", g) for g in group_by)]
        return collect(endpoint, root + path, span, headers, timeout_s, call, bucket_day)

    usage, first = report(USAGE, ("model", "api_key_id", "batch"))
    costs, second = report(COSTS, ("line_item",))
    return Fetched(grouped(days, [usage_line(d, r) for d, r in usage],
                           [cost_line(d, r) for d, r in costs]), first + second)
