"""A hostile endpoint on 127.0.0.1 that reflects the Authorization header it receives into every
place a server can put text (error bodies of every shape, mid-stream errors, answers split
across chunks or written with JSON escapes, headers, a redirect's Location), and sends answer
shapes the simulator does not (streamed refusals, implausible usage, a redirect elsewhere).

The first path segment picks the case: `http://127.0.0.1:PORT/<case>/v1`; a test can plant
its own reply under a case name (`PLANTED`), in either API's format (`chunk`, `messages`).
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = tuple[int, dict[str, str], Any]  # status, headers, JSON body / SSE events / text


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "echo", "object": "chat.completion.chunk", "model": "echo-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


chunk = _chunk


class Raw(str):
    """An event sent exactly as written (e.g. with JSON escapes json.dumps would not make)."""


def escaped(text: str) -> Raw:
    """A chunk whose content writes every `-` as the JSON escape \\u002d."""
    return Raw(json.dumps(_chunk({"content": text})).replace("-", "\\u002d"))


def key_of(header: str) -> str:
    return header.split()[-1] if header else ""


def messages(text: str, start_usage: Any, end_usage: Any, index: Any = 0) -> list[Any]:
    """A Messages API stream: one text block at `index`, usage at the start and at the end."""
    return [{"type": "message_start", "message": {"id": "msg_echo", "model": "claude-echo",
                                                  "usage": start_usage}},
            {"type": "content_block_start", "index": index,
             "content_block": {"type": "text", "text": ""}},
            {"type": "content_block_delta", "index": index,
             "delta": {"type": "text_delta", "text": text}},
            {"type": "content_block_stop", "index": index},
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": end_usage},
            {"type": "message_stop"}]


CASES: dict[str, Callable[[str], Reply]] = {
    "string": lambda a: (400, {}, {"error": {"message": f"Bad credentials: {a}", "type": "x"}}),
    "list": lambda a: (401, {}, {"error": {"message": ["Invalid key", a], "code": "bad_key"}}),
    "dict": lambda a: (403, {}, {"error": {"message": {"msg": f"denied for {a}", "key": a}}}),
    "vllm": lambda a: (400, {}, {"object": "error", "message": f"model refused {a}", "code": 400}),
    "detail": lambda a: (422, {}, {"detail": [{"loc": ["header"], "msg": f"bad header {a}"}]}),
    "text": lambda a: (500, {}, f"upstream proxy failed with header {a}"),
    "header": lambda a: (429, {"x-echo-auth": a, "retry-after": "0"},
                         {"error": {"message": "slow down", "type": "rate_limit"}}),
    "midstream": lambda a: (200, {"x-echo-auth": a}, [
        _chunk({"role": "assistant", "content": "Partial "}),
        {"error": {"message": ["upstream failed", {"auth": a}], "code": 502}}]),
    "midstream_text": lambda a: (200, {}, [
        _chunk({"content": "Partial "}), {"error": f"connection reset, request had {a}"}]),
    "answer": lambda a: (200, {"x-echo-auth": a}, [
        _chunk({"role": "assistant", "content": f"You sent {a}."}), _chunk({}, "stop"),
        {**_chunk({}), "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 5}}]),
    "split": lambda a: (200, {}, [
        _chunk({"role": "assistant", "content": f"Split: {a[:len(a) // 2]}"}),
        _chunk({"content": f"{a[len(a) // 2:]} end."}), _chunk({}, "stop"),
        {**_chunk({}), "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 5}}]),
    "escaped": lambda a: (200, {}, [
        escaped(f"Escaped: {a}."), _chunk({}, "stop"),
        {**_chunk({}), "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 5}}]),
    "escaped_error": lambda a: (400, {}, Raw(json.dumps(
        {"error": {"message": f"Bad key {a}", "type": "x"}}).replace("-", "\\u002d"))),
    "redirect_echo": lambda a: (307, {"location": f"https://elsewhere.example/v1?key={key_of(a)}"},
                                ""),
}


USAGE = {"prompt_tokens": 12, "completion_tokens": 7}
PLANTED: dict[str, Reply | list[Reply]] = {}  # case -> the reply a test set up, or replies
_planted_lock = threading.Lock()                # in turn (the last one repeats)


def planted(case: str) -> Reply:
    with _planted_lock:
        reply = PLANTED[case]
        if isinstance(reply, list):
            return reply.pop(0) if len(reply) > 1 else reply[0]
        return reply
STALL = None  # in a list of events: send nothing more until the server stops
STALLING = threading.Event()  # set once a stalled answer has sent its first events
HANGING = threading.Event()  # set once a request is held without any answer at all

# Answers real endpoints send that the simulator does not (no key involved).
SHAPES: dict[str, Callable[[str], Reply]] = {
    "refusal": lambda a: (200, {}, [
        _chunk({"role": "assistant", "content": None, "refusal": "I can't help with "}),
        _chunk({"refusal": "that request."}), _chunk({}, "stop"),
        {**_chunk({}), "choices": [], "usage": USAGE}]),
    "zero_usage": lambda a: (200, {}, [
        _chunk({"role": "assistant", "content": "Hello there, a real answer."}), _chunk({}, "stop"),
        {**_chunk({}), "choices": [], "usage": {"prompt_tokens": 0, "completion_tokens": 0}}]),
    "stall": lambda a: (200, {}, [
        _chunk({"role": "assistant", "content": "The first words"}), STALL]),
    "redirect": lambda a: (307, {"location": "https://elsewhere.example/v1/chat/completions"},
                           ""),
    "null_after_stop": lambda a: (200, {}, [
        _chunk({"role": "assistant", "content": "Done."}), _chunk({}, "stop"),
        {**_chunk({}, None), "usage": USAGE}]),
}


class EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        case = self.path.strip("/").split("/")[0]
        if case == "hang":  # not even headers: a gateway that never answers
            HANGING.set()
            self.server.stopping.wait(60)  # type: ignore[attr-defined]
            return
        auth = self.headers.get("authorization") or self.headers.get("x-api-key", "")
        if self.path.endswith("/count_tokens"):
            status, headers, payload = 200, {}, {"input_tokens": 12}
        elif case in PLANTED:
            status, headers, payload = planted(case)
        else:
            status, headers, payload = {**CASES, **SHAPES}[case](auth)
        if status == 200 and not body.get("stream") and isinstance(payload, list):
            status, payload = 200, _whole(payload)
        if isinstance(payload, list) and STALL in payload:
            self._stall(payload[:payload.index(STALL)])
            return
        events = isinstance(payload, list)
        data = (b"".join(b"data: " + _line(e).encode() + b"\n\n" for e in payload)
                + b"data: [DONE]\n\n" if events
                else (payload if isinstance(payload, str) else json.dumps(payload)).encode())
        self.send_response(status)
        self.send_header("content-type", "text/event-stream" if events else "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _stall(self, events: list[dict[str, Any]]) -> None:
        """Send the events, then nothing until the server stops (a model that hangs)."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()
        self.wfile.write(b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events))
        self.wfile.flush()
        STALLING.set()
        self.server.stopping.wait(60)  # type: ignore[attr-defined]


def _line(event: Any) -> str:
    return event if isinstance(event, Raw) else json.dumps(event)


def _whole(events: list[Any]) -> Any:
    """The same answer without streaming (an error event stays an error body)."""
    if any(isinstance(e, Raw) for e in events):  # escapes kept: the whole body as one Raw
        plain = [json.loads(e) if isinstance(e, Raw) else e for e in events]
        return Raw(json.dumps(_whole(plain)).replace("-", "\\u002d"))
    if events and events[0].get("type") == "message_start":
        return _whole_message(events)
    deltas = [c["choices"][0]["delta"] for c in events if c.get("choices")]
    text = "".join(d.get("content") or "" for d in deltas)
    refusal = "".join(d.get("refusal") or "" for d in deltas) or None
    error = next((e["error"] for e in events if "error" in e), None)
    if error is not None:
        return {"error": error}
    return {"id": "echo", "object": "chat.completion", "model": "echo-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text or None,
                                                 "refusal": refusal}, "finish_reason": "stop"}],
            "usage": next((e["usage"] for e in events if "usage" in e), USAGE)}


def _whole_message(events: list[dict[str, Any]]) -> dict[str, Any]:
    """A Messages stream as the one message a request without streaming gets."""
    start = events[0]["message"]
    text = "".join(e["delta"].get("text", "") for e in events
                   if e.get("type") == "content_block_delta")
    end = next(e for e in events if e.get("type") == "message_delta")
    return {**start, "type": "message", "role": "assistant", "stop_reason": "end_turn",
            "content": [{"type": "text", "text": text}], "usage": end["usage"]}


@contextmanager
def echo_endpoint() -> Iterator[str]:
    """The server's root URL (`http://127.0.0.1:PORT`), served until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    server.daemon_threads = True
    server.stopping = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.stopping.set()  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()
