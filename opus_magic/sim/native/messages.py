"""The simulator's Messages API: `/v1/messages` (streamed or not) and `/v1/messages/count_tokens`.

Events follow Anthropic's sequence: message_start (exact input and cache counts), ping, a
thinking block (with its signature) when thinking is asked for, then tool_use blocks, server
tool blocks or the text block (`answer.py`), message_delta (stop reason and cumulative
usage, thinking tokens and server tool use included), message_stop. Requests are refused as
Anthropic refuses them: by their headers (`sim/headers.py`), their fields, and their tools, tool
turns and output format (`tools.py`). Faults come from the same scenarios as the
chat-completions side, sent as Anthropic's error bodies and events.
"""
from __future__ import annotations

import json
import time
import uuid
from typing import Any

from opus_magic.sim import headers as api_headers
from opus_magic.sim.content.attachments import AttachmentProblem, resolved
from opus_magic.sim.faults import Scenario, cut_connection, error_reply
from opus_magic.sim.log import RequestLog
from opus_magic.sim.native import tools as native_tools
from opus_magic.sim.native.answer import Answer
from opus_magic.sim.native.cache import TTL_S, NativeCache, count
from opus_magic.sim.native.events import EventWriter
from opus_magic.sim.native.sampling import sampling_problem
from opus_magic.sim.reports.billing import bill_native

ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
               403: "permission_error", 404: "not_found_error", 409: "conflict_error",
               413: "request_too_large", 429: "rate_limit_error", 500: "api_error",
               529: "overloaded_error"}
MESSAGES, COUNT_TOKENS = "/v1/messages", "/v1/messages/count_tokens"
RATE_LIMIT_HEADERS = {"anthropic-ratelimit-requests-limit": "4000",
                      "anthropic-ratelimit-requests-remaining": "3999",
                      "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:00Z"}


def request_id() -> str:
    return f"req_sim{uuid.uuid4().hex[:20]}"


def error_body(status: int, message: str, rid: str) -> dict[str, Any]:
    """Anthropic's error body for an HTTP status."""
    return {"type": "error", "error": {"type": ERROR_TYPES.get(status, "api_error"),
                                       "message": message}, "request_id": rid}


def invalid(body: Any, beta: str = "", version: str | None = None) -> str | None:
    """Why a Messages request cannot be answered, else None; `beta` is its anthropic-beta header,
    `version` its anthropic-version (None: the newest)."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict)
                                                                 for m in messages):
        return "messages: at least one message is required"
    sampling = sampling_problem(body, version)
    if sampling:
        return sampling
    marks = [m for m in _marks(body) if m.get("ttl", "5m") not in TTL_S]
    if marks:
        return "cache_control.ttl: Input should be '5m' or '1h'"
    return native_tools.problem(body, beta)


def _marks(body: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    system = body.get("system")
    blocks = [*(body.get("tools") or ()), *(system if isinstance(system, list) else ())]
    for message in body.get("messages") or ():
        content = message.get("content")
        blocks += content if isinstance(content, list) else []
    for block in blocks:
        if isinstance(block, dict) and isinstance(block.get("cache_control"), dict):
            found.append(block["cache_control"])
    return found


def scenario_error(scenario: Scenario | None, rid: str) -> tuple[int, dict[str, Any],
                                                                  dict[str, str]] | None:
    """A scenario's HTTP error as Anthropic sends it: status, body, headers."""
    reply = error_reply(scenario, stream=True)
    if reply is None:
        return None
    error = reply.body.get("error") or {}
    message = str(error.get("message") or f"Simulated HTTP {reply.status}")
    return reply.status, error_body(reply.status, message, rid), reply.headers


def count_body(body: Any, beta: str = "", version: str | None = None) -> tuple[int, dict[str, Any]]:
    """The count_tokens answer (status and body); it never touches the cache."""
    problem = invalid({**body, "max_tokens": 1} if isinstance(body, dict) else body, beta,
                      version)
    if problem:
        return 400, error_body(400, problem, request_id())
    return 200, {"input_tokens": count(body, body["model"])}



def handle(handler: Any, path: str, body: Any, state: Any) -> None:
    """Serve `/v1/messages` or `/v1/messages/count_tokens`; every request joins `state`'s log."""
    request = body if isinstance(body, dict) else {}
    messages = request.get("messages")
    entry = RequestLog(id=f"msg_sim{uuid.uuid4().hex[:20]}", model=str(request.get("model", "")),
                       stream=bool(request.get("stream")) and path == MESSAGES,
                       messages=messages if isinstance(messages, list) else [],
                       max_tokens=request.get("max_tokens"), tools=request.get("tools") or None,
                       api="anthropic" if path == MESSAGES else "count_tokens", body=request,
                       auth=_auth(handler.headers))
    state.record(entry)
    refused = api_headers.refusal(handler.headers)
    try:
        if refused is None:
            body = resolved(body, state.files)  # attachments read and counted once
        if refused is not None:
            entry.status, rid = refused[0], request_id()
            _send(handler, entry.status, json.dumps(error_body(*refused, rid)).encode(),
                  "application/json", {"request-id": rid})
        elif path == COUNT_TOKENS:
            entry.status, reply = count_body(body, handler.headers.get("anthropic-beta") or "",
                                             handler.headers.get("anthropic-version"))
            _send(handler, entry.status, json.dumps(reply).encode(), "application/json",
                  {"request-id": request_id()})
            entry.completed = True
        else:
            respond(handler, entry, body, state.book.take(), state.settings, state.native_cache)
    except AttachmentProblem as exc:
        entry.status, rid = 400, request_id()
        _send(handler, 400, json.dumps(error_body(400, str(exc), rid)).encode(),
              "application/json", {"request-id": rid})
    except (BrokenPipeError, ConnectionResetError):
        entry.client_disconnected = True
        handler.close_connection = True
    finally:
        entry.ended_at = time.time()


def _auth(headers: Any) -> str | None:
    """Which header carried the key (both are accepted, as Anthropic accepts both)."""
    if headers.get("x-api-key"):
        return "x-api-key"
    return "bearer" if (headers.get("authorization") or "").lower().startswith("bearer ") else None


def respond(handler: Any, entry: RequestLog, body: Any, scenario: Scenario | None, settings: Any,
            cache: NativeCache) -> None:
    """Answer one Messages request on `handler` (a BaseHTTPRequestHandler); `entry` is its log."""
    rid = request_id()
    entry.scenario = scenario.name if scenario else None
    problem = invalid(body, handler.headers.get("anthropic-beta") or "",
                      handler.headers.get("anthropic-version"))
    failure = (400, error_body(400, problem, rid), {}) if problem else scenario_error(scenario, rid)
    if failure is not None:
        entry.status = failure[0]
        _send(handler, failure[0], json.dumps(failure[1]).encode(), "application/json",
              {**failure[2], "request-id": rid})
        return
    if scenario is not None and scenario.name == "slow_first_byte":
        time.sleep(float(scenario["delay"]))
    answer = Answer(body, cache.usage(body, entry.model), settings.answer_tokens, scenario)
    bill_native(entry, handler.headers, answer)
    rate = settings.rate_for(entry.model)
    entry.status = 200
    if not entry.stream:
        if scenario is not None and scenario.name == "cut":
            cut_connection(handler, scenario["mode"])
            return
        time.sleep(settings.ttft_s + (len(answer.chunks) / rate if rate else 0.0))
        _send(handler, 200, json.dumps(answer.message(entry.id)).encode(), "application/json",
              {"request-id": rid})
        entry.chunks_sent, entry.completed = len(answer.chunks), True
        return
    handler.close_connection = True
    _send(handler, 200, None, "text/event-stream; charset=utf-8",
          {"request-id": rid, "Cache-Control": "no-cache", "Connection": "close"})
    writer = EventWriter(lambda text: handler.wfile.write(text.encode()), rate, settings.ttft_s)
    entry.chunks_sent = writer.send(answer, entry.id, scenario,
                                    lambda mode: cut_connection(handler, mode))
    entry.completed = scenario is None or scenario.name not in ("cut", "error_chunk")


def _send(handler: Any, status: int, data: bytes | None, content_type: str,
          headers: dict[str, str]) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    if data is not None:
        handler.send_header("Content-Length", str(len(data)))
    for name, value in {**RATE_LIMIT_HEADERS, **headers}.items():
        handler.send_header(name, value)
    handler.end_headers()
    if data is not None:
        handler.wfile.write(data)
