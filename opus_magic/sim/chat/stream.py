"""One chat-completions answer written as server-sent events, paced when a token rate is set."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler
from typing import Any

from opus_magic.sim.chat.tools import arguments
from opus_magic.sim.content.answers import token_pieces
from opus_magic.sim.content.tool_calls import Call
from opus_magic.sim.faults import UPSTREAM_ERROR, Scenario, cut_connection
from opus_magic.sim.log import RequestLog

FINGERPRINT = "opus-magic-sim"
BATCH_CHUNKS = 512


class SseAnswer:
    """Writes one SSE answer, pacing it when a token rate is set."""

    def __init__(self, handler: BaseHTTPRequestHandler, entry: RequestLog, scenario: Scenario | None,
                 rate: float | None, ttft_s: float, include_usage: bool) -> None:
        self.handler, self.entry, self.scenario = handler, entry, scenario
        self.rate, self.ttft_s = rate, ttft_s
        head = {"id": entry.id, "object": "chat.completion.chunk", "created": int(time.time()),
                "model": entry.model, "system_fingerprint": FINGERPRINT}
        self.head = json.dumps(head)[:-1]
        self.tail = ', "usage": null}\n\n' if include_usage else "}\n\n"
        self.prefix = f'data: {self.head}, "choices": [{{"index": 0, "delta": {{"content": '
        self.suffix = '}, "logprobs": null, "finish_reason": null}]' + self.tail

    def send(self, chunks: list[str], finish: str, usage: dict[str, Any] | None) -> None:
        handler, entry = self.handler, self.entry
        self._open()
        self._write(self._choice({"role": "assistant", "content": ""}, None))
        name = self.scenario.name if self.scenario else None
        stop = int(self.scenario["after"]) if name in ("cut", "error_chunk") else len(chunks)
        for sent in self._content(chunks[:stop]):
            entry.chunks_sent = sent
        if name == "cut":
            cut_connection(handler, self.scenario["mode"])
        elif name == "error_chunk":
            self._write(self._event({"error": {"code": 502, "message": UPSTREAM_ERROR},
                                     "choices": [{"index": 0, "delta": {"content": ""},
                                                  "finish_reason": "error"}]}))
        else:
            self._finish(finish, usage)

    def send_calls(self, calls: Sequence[Call], usage: dict[str, Any] | None) -> None:
        """Write an answer that calls tools: each call's id, type and name with empty
        arguments, then its arguments a token at a time, then finish_reason tool_calls."""
        self._open()
        for index, call in enumerate(calls):
            head = {"index": index, "id": call.id, "type": "function",
                    "function": {"name": call.name, "arguments": ""}}
            delta = ({"role": "assistant", "content": None, "refusal": None} if index == 0
                     else {})
            self._write(self._choice({**delta, "tool_calls": [head]}, None))
            text = arguments(call)
            self._write("".join(self._choice({"tool_calls": [
                {"index": index, "function": {"arguments": piece}}]}, None)
                for piece in token_pieces(text, self.entry.model)))
        self._finish("tool_calls", usage)
        self.entry.chunks_sent = len(calls)

    def _open(self) -> None:
        handler = self.handler
        handler.close_connection = True
        self.entry.status = 200
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream; charset=utf-8")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Connection", "close")
        handler.end_headers()

    def _finish(self, finish: str, usage: dict[str, Any] | None) -> None:
        self._write(self._choice({}, finish))
        if usage is not None:
            self._write(self._event({"choices": [], "usage": usage}, "}\n\n"))
        self._write("data: [DONE]\n\n")
        self.entry.completed = True

    def _content(self, chunks: list[str]) -> Iterator[int]:
        """Write the content chunks; yields how many have been written so far."""
        words: dict[str, str] = {}
        encode = json.dumps
        if self.rate is None:
            time.sleep(self.ttft_s)
            for start in range(0, len(chunks), BATCH_CHUNKS):
                batch = chunks[start:start + BATCH_CHUNKS]
                self._write("".join(
                    self.prefix + (words.get(w) or words.setdefault(w, encode(w))) + self.suffix
                    for w in batch))
                yield start + len(batch)
            return
        begin = time.monotonic() + self.ttft_s
        for index, word in enumerate(chunks):
            delay = begin + (index + 1) / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._write(self.prefix + encode(word) + self.suffix)
            yield index + 1

    def _choice(self, delta: dict[str, Any], finish: str | None) -> str:
        return self._event({"choices": [{"index": 0, "delta": delta, "logprobs": None,
                                         "finish_reason": finish}]})

    def _event(self, fields: dict[str, Any], tail: str | None = None) -> str:
        return f"data: {self.head}, {json.dumps(fields)[1:-1]}{tail or self.tail}"

    def _write(self, text: str) -> None:
        self.handler.wfile.write(text.encode())


def whole_answer(entry: RequestLog, text: str, finish: str, usage: dict[str, Any] | None,
                 calls: Sequence[Call] = ()) -> dict[str, Any]:
    """A chat.completion body: the answer sent whole, not streamed (tool calls, or the text)."""
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if calls:
        message.update(content=None, tool_calls=[
            {"id": c.id, "type": "function", "function": {"name": c.name,
                                                           "arguments": arguments(c)}}
            for c in calls])
    body: dict[str, Any] = {
        "id": entry.id, "object": "chat.completion", "created": int(time.time()),
        "model": entry.model, "system_fingerprint": FINGERPRINT,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}]}
    if usage is not None:
        body["usage"] = usage
    return body
