"""The simulator's usage and cost reports, shaped as Anthropic's Admin API and OpenAI's
organization endpoints shape theirs (see wire/reports/anthropic.py, wire/reports/openai.py),
over what it billed (`billing.py`): Claude models in Anthropic's reports, the others in
OpenAI's; buckets of a day (an hour, a minute), grouped as asked, paged with a cursor.

Like the real endpoints they want an admin key: an ordinary API key (`sk-…` that is not an
admin key) is refused with 401. Fault scenarios (a 429 with retry-after, …) apply to them too.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from opus_magic.secret import admin_provider
from opus_magic.sim import headers as api_headers
from opus_magic.sim.faults import error_reply
from opus_magic.sim.log import RequestLog
from opus_magic.sim.reports.billing import anthropic_bills, charges
from opus_magic.sim.reports.bodies import BODIES, Query, moment, start_of

ROUTES = {"/v1/organizations/usage_report/messages": "usage_report",
          "/v1/organizations/cost_report": "cost_report",
          "/v1/organization/usage/completions": "openai_usage",
          "/v1/organization/costs": "openai_costs"}
ANTHROPIC = ("usage_report", "cost_report")
CONTROL = "/sim/reports"
WIDTHS = {"1d": (86_400, 7, 31), "1h": (3_600, 24, 168), "1m": (60, 60, 1_440)}  # s, default, max
COSTS_AT_MOST = {"cost_report": 31, "openai_costs": 180}
Params = dict[str, list[str]]


@dataclass
class Refused(Exception):
    """A report request answered with an error."""

    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def route(handler: BaseHTTPRequestHandler, state: Any, method: str, path: str) -> bool:
    """Answer a report request or the reports' control; False for any other path."""
    if path == CONTROL and method == "POST":
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        try:
            state.reports.configure(**json.loads(raw or b"{}"))
            _send(handler, 200, {"ok": True})
        except (TypeError, ValueError, KeyError) as exc:
            _send(handler, 400, _error(400, str(exc)))
        return True
    report = ROUTES.get(path)
    if report is None or method != "GET":
        return False
    params = parse_qs(urlsplit(handler.path).query, keep_blank_values=True)
    entry = RequestLog(id=f"report_{uuid.uuid4().hex[:16]}", model="", stream=False, messages=[],
                       max_tokens=None, tools=None, api=report, body={"query": params})
    state.record(entry)
    headers: dict[str, str] = {}
    try:
        entry.status, body = 200, _answer(handler.headers, state, report, params)
    except Refused as exc:
        entry.status, body, headers = exc.status, _error(exc.status, exc.message), exc.headers
    _send(handler, entry.status, body, headers)
    entry.completed, entry.ended_at = entry.status == 200, time.time()
    return True


def _answer(headers: Any, state: Any, report: str, params: Params) -> dict[str, Any]:
    _check_key(headers, report)
    reply = error_reply(state.book.take(), stream=False)
    if reply is not None:
        raise Refused(reply.status, str((reply.body.get("error") or {}).get("message", "")),
                      reply.headers)
    width, start, end = _span(report, params)
    starts, after = _page(start, end, width, params, report, state.reports.page_size)
    billed = [c for c in charges(state) if anthropic_bills(c.model) == (report in ANTHROPIC)]
    shape = BODIES[report]
    query = Query(params.get("group_by[]", []) + params.get("group_by", []), state.reports.drift)
    data = [shape.bucket(b, b + width, [c for c in billed if b <= c.at < b + width], query)
            for b in starts]
    return shape.page(data, after)


def _check_key(headers: Any, report: str) -> None:
    """The admin key the real endpoints want: present, and not an ordinary API key."""
    refused = api_headers.refusal(headers) if report in ANTHROPIC else None
    if refused is not None:
        raise Refused(*refused)
    auth = headers.get("authorization") or ""
    key = headers.get("x-api-key") or (auth[7:] if auth.lower().startswith("bearer ") else "")
    if not key:
        raise Refused(401, "An admin key is required: Authorization: Bearer sk-admin-….")
    if key.startswith("sk-") and not admin_provider(key):
        raise Refused(401, "This endpoint needs an admin API key: an ordinary API key cannot "
                           "read the organization's usage and cost reports.")


def _span(report: str, params: Params) -> tuple[int, float, float]:
    """Bucket width (seconds) and the range asked for, its start snapped to a whole bucket."""
    name = (params.get("bucket_width") or ["1d"])[0]
    if name not in WIDTHS or (report in COSTS_AT_MOST and name != "1d"):
        raise Refused(400, f"bucket_width: {name!r} is not supported here")
    width = WIDTHS[name][0]
    first, last = ("starting_at", "ending_at") if report in ANTHROPIC else ("start_time",
                                                                            "end_time")
    if not params.get(first):
        raise Refused(400, f"{first}: Field required")
    start = moment(params[first][0]) // width * width
    end = moment(params[last][0]) if params.get(last) else (time.time() // width + 1) * width
    return width, start, max(end, start)


def _page(start: float, end: float, width: int, params: Params, report: str,
          page_size: int | None) -> tuple[list[float], float | None]:
    """This page's bucket starts, and the next page's first (None on the last page)."""
    default, most = WIDTHS[(params.get("bucket_width") or ["1d"])[0]][1:]
    most = COSTS_AT_MOST.get(report, most)
    try:
        limit = int((params.get("limit") or [default])[0])
        start = start_of(params["page"][0]) if (params.get("page") or [""])[0] else start
    except ValueError:
        raise Refused(400, "limit or page: not a value this endpoint takes") from None
    if not 1 <= limit <= most:
        raise Refused(400, f"limit: Input should be between 1 and {most}")
    count = min(limit, page_size or limit)
    starts = [start + n * width for n in range(count) if start + n * width < end]
    after = start + count * width
    return starts, after if after < end else None


def _error(status: int, message: str) -> dict[str, Any]:
    kind = {401: "authentication_error", 429: "rate_limit_error"}.get(
        status, "invalid_request_error" if status < 500 else "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


def _send(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any],
          headers: dict[str, str] | None = None) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("request-id", f"req_sim{uuid.uuid4().hex[:12]}")
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)
