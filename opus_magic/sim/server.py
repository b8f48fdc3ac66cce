"""The simulator's HTTP server: OpenAI-compatible chat completions, streamed or not, with faults."""
from __future__ import annotations

import dataclasses
import json
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from opus_magic.cost.tokens import count_messages, count_text
from opus_magic.sim import headers as api_headers
from opus_magic.sim.chat import tools as chat_tools
from opus_magic.sim.chat.stream import SseAnswer, whole_answer
from opus_magic.sim.content.attachments import AttachmentProblem, opening, resolved_chat
from opus_magic.sim.content.choices import choice_answer
from opus_magic.sim.content.text import answer_chunks, usage_body
from opus_magic.sim.content.tool_calls import Call
from opus_magic.sim.faults import (
    Scenario,
    cut_connection,
    error_reply,
)
from opus_magic.sim.limits import Limiter
from opus_magic.sim.log import RequestLog
from opus_magic.sim.native import messages as native
from opus_magic.sim.reports.billing import bill_chat
from opus_magic.sim.routes import routed
from opus_magic.sim.state import Settings, State

MODELS = ("claude-opus-4-6", "claude-sonnet-4-5", "claude-haiku-4-5", "gpt-4o", "gpt-4o-mini",
          "gpt-4.1")
OWNER = "opus-magic-simulator"
POLL_S = 0.05  # how soon stop() takes effect
UNBOUNDED_OUTPUT = 256  # tokens a rate limit reserves for a request without max_tokens


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: State) -> None:
        self.state = state
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up (on keep-alive connections too) are normal, not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "opus-magic-sim"
    server: Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        """Stay quiet: the request log is the record."""

    limit_headers: dict[str, str] = {}
    limit_ticket: list[float] | None = None  # the admission's share of the tokens limit

    def end_headers(self) -> None:
        self.send_header("x-opus-magic-simulator", "1")
        for name, value in self.limit_headers.items():
            self.send_header(name, value)
        super().end_headers()

    def do_GET(self) -> None:
        path = urlsplit(self.path).path.rstrip("/")
        if self._refused(path):
            return
        if routed(self, self.server.state, "GET", path):
            return
        if path == "/v1/models":
            self._json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 1700000000, "owned_by": OWNER}
                for m in MODELS]})
        elif path == "/sim/requests":
            entries = self.server.state.requests()
            self._json(200, {"requests": [dataclasses.asdict(e) for e in entries]})
        else:
            self._error(404, f"No route for GET {path}", "not_found_error")

    def do_POST(self) -> None:
        path = urlsplit(self.path).path.rstrip("/")
        if self._refused(path):
            return
        if routed(self, self.server.state, "POST", path):
            return
        body = self._read_json()
        if path == "/v1/chat/completions":
            self._chat(body)
        elif path in (native.MESSAGES, native.COUNT_TOKENS):
            native.handle(self, path, body, self.server.state)
        elif path in ("/sim/scenario", "/sim/configure", "/sim/reset", "/sim/limits"):
            self._control(path, body if isinstance(body, dict) else {})
        else:
            self._error(404, f"No route for POST {path}", "not_found_error")

    def do_DELETE(self) -> None:
        path = urlsplit(self.path).path.rstrip("/")
        if self._refused(path):
            return
        if not routed(self, self.server.state, "DELETE", path):
            self._error(404, f"No route for DELETE {path}", "not_found_error")

    def _refused(self, path: str) -> bool:
        """Answer a batches or files request of the Messages API whose headers Anthropic refuses
        (Messages and count_tokens requests are refused by `native.handle`, into the log)."""
        if path in (native.MESSAGES, native.COUNT_TOKENS) or not api_headers.is_anthropic(
                path, self.headers):
            return False
        refused = api_headers.refusal(self.headers)
        if refused is None:
            return False
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        rid = native.request_id()
        self._json(refused[0], native.error_body(refused[0], refused[1], rid), {"request-id": rid})
        return True

    def _read_json(self) -> Any:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def _control(self, path: str, body: dict[str, Any]) -> None:
        state = self.server.state
        try:
            if path == "/sim/scenario":
                state.book.choose(str(body.get("name", "")), body.get("params") or {})
            elif path == "/sim/configure":
                state.configure(**body)
            elif path == "/sim/limits":
                state.limit(**body)
            else:
                state.reset()
        except (TypeError, ValueError) as exc:
            self._error(400, str(exc), "invalid_request_error")
            return
        self._json(200, {"ok": True})

    def _json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
              ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, kind: str, param: str | None = None) -> None:
        self._json(status, {"error": {"message": message, "type": kind, "param": param,
                                      "code": None}})

    def _chat(self, body: Any) -> None:
        state = self.server.state
        request = body if isinstance(body, dict) else {}
        messages = request.get("messages")
        max_tokens = _max_tokens(request)
        entry = RequestLog(id=f"chatcmpl-sim{uuid.uuid4().hex[:20]}",
                           model=str(request.get("model", "")), stream=bool(request.get("stream")),
                           messages=messages if isinstance(messages, list) else [],
                           max_tokens=max_tokens if isinstance(max_tokens, int) else None,
                           tools=request.get("tools") or None, body=request)
        state.record(entry)
        try:
            problem = _invalid(body)
            if problem:
                entry.status = 400
                self._error(400, problem[1], "invalid_request_error", problem[0])
                return
            try:  # attachments read and counted once
                entry.messages = resolved_chat(entry.messages, entry.model)
            except AttachmentProblem as exc:
                entry.status = 400
                self._error(400, str(exc), "invalid_request_error", "messages")
                return
            reserved = self._admit(entry, state.limiter)
            if reserved is None:
                return
            scenario = state.book.take()
            entry.scenario = scenario.name if scenario else None
            self._answer(entry, request, scenario, state.settings)
            if state.limiter is not None:
                state.limiter.give_back(reserved - entry.chunks_sent, self.limit_ticket)
        except (BrokenPipeError, ConnectionResetError):
            entry.client_disconnected = True
            self.close_connection = True
        finally:
            state.ended(entry)

    def _admit(self, entry: RequestLog, limiter: Limiter | None) -> int | None:
        """Tokens reserved for output under the rate limits, or None when refused with a 429."""
        self.limit_headers = {}
        if limiter is None:
            return 0
        output = entry.max_tokens or UNBOUNDED_OUTPUT
        decision = limiter.admit(count_messages(entry.messages, entry.model) + output)
        self.limit_headers, self.limit_ticket = decision.headers, decision.ticket
        if decision.allowed:
            return output
        entry.status = 429
        self._error(429, "Rate limit reached: too many requests or tokens per minute. "
                         "Please try again later.", "rate_limit_error")
        return None

    def _answer(self, entry: RequestLog, request: dict[str, Any], scenario: Scenario | None,
                settings: Settings) -> None:
        name = scenario.name if scenario else None
        if name == "slow_first_byte":
            time.sleep(float(scenario["delay"]))
        reply = error_reply(scenario, entry.stream)
        if reply is not None:
            entry.status = reply.status
            self._json(reply.status, reply.body, reply.headers)
            return
        if name == "cut" and not entry.stream:
            cut_connection(self, scenario["mode"])
            return
        chunks, finish, calls = _content(entry, request, scenario, settings)
        completion = chat_tools.completion_tokens(calls, entry.model) if calls else len(chunks)
        usage = bill_chat(entry, self.headers, usage_body(
            self.server.state.cache.usage(entry.model, entry.messages, entry.tools),
            completion, settings.usage_scale), shown=name != "no_usage")
        rate = settings.rate_for(entry.model)
        if entry.stream:
            include = bool((request.get("stream_options") or {}).get("include_usage"))
            writer = SseAnswer(self, entry, scenario, rate, settings.ttft_s, include)
            if calls:
                writer.send_calls(calls, usage if include else None)
            else:
                writer.send(chunks, finish, usage if include else None)
            return
        time.sleep(settings.ttft_s + (len(chunks) / rate if rate else 0.0))
        entry.status = 200
        self._json(200, whole_answer(entry, "".join(chunks), finish, usage, calls))
        entry.chunks_sent, entry.completed = len(calls or chunks), True


def _content(entry: RequestLog, request: dict[str, Any], scenario: Scenario | None,
             settings: Settings) -> tuple[list[str], str, tuple[Call, ...]]:
    """The answer's text pieces, finish reason and tool calls (`chat/tools.py` first)."""
    special = chat_tools.reply(request, entry.model, scenario)
    if special is not None and special.calls:
        return [], "tool_calls", special.calls
    chunks = special.chunks if special is not None and special.chunks is not None else (
        _pieces(entry, settings))
    finish = (special.finish if special is not None else None) or "stop"
    if entry.max_tokens is not None and len(chunks) > entry.max_tokens:
        chunks, finish = chunks[:entry.max_tokens], "length"
    name = scenario.name if scenario else None
    if name in ("length", "content_filter"):
        chunks, finish = chunks[:int(scenario["after"])], name
    return chunks, finish, ()


def _pieces(entry: RequestLog, settings: Settings) -> list[str]:
    """The answer: one of the options a classification prompt offers, else prose."""
    return (choice_answer(entry.messages, entry.model, settings.accuracy)
            or answer_chunks(entry.messages, settings.answer_tokens, entry.model,
                             opening(entry.messages, entry.model)))


def load_encodings() -> None:
    """Load tiktoken's encodings now rather than inside the first request's time to first token."""
    for model in MODELS:
        count_text("", model)


def _max_tokens(request: dict[str, Any]) -> Any:
    limit = request.get("max_completion_tokens")
    return request.get("max_tokens") if limit is None else limit


def _invalid(body: Any) -> tuple[str | None, str] | None:
    """(param, message) when a chat request cannot be answered, else None."""
    if not isinstance(body, dict):
        return None, "The request body must be a JSON object."
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(
            isinstance(m, dict) for m in messages):
        return "messages", "'messages' must be a non-empty list of message objects."
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model", "'model' is required."
    tools = body.get("tools")
    if tools is not None and not (isinstance(tools, list) and all(isinstance(t, dict)
                                                                  for t in tools)):
        return "tools", "'tools' must be a list of tool objects."
    limit = _max_tokens(body)
    if limit is not None and (type(limit) is not int or limit < 1):
        return "max_tokens", "'max_tokens' must be a positive integer."
    return chat_tools.invalid(body)
