"""Accumulating an Anthropic Messages stream: a pure state object, one event at a time.

The input side of usage (with cache reads and writes) is exact from `message_start`; the output
side arrives with `message_delta`, whose usage is cumulative: each one replaces the last.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from opus_magic.records import Usage
from opus_magic.wire.stream import (
    Event,
    Finished,
    StreamFailed,
    StreamState,
    TextDelta,
    UsageReported,
)

SERVED = ("speed", "inference_geo")
CALLS = ("tool_use", "server_tool_use")  # blocks whose input streams as input_json_delta pieces
DELTA_FIELDS = {"text_delta": "text", "thinking_delta": "thinking",
                "signature_delta": "signature", "input_json_delta": "partial_json"}


@dataclass(frozen=True)
class ThinkingDelta:
    """A piece of the (summarized) thinking text Claude returns before its answer."""

    text: str


@dataclass(frozen=True)
class InputKnown:
    """`message_start` arrived: the input side of usage is exact from now on."""

    usage: Usage


def usage_from_messages(raw: dict[str, Any]) -> Usage:
    """Our Usage from a Messages `usage` object, whose `input_tokens` excludes cache reads and
    writes (ours includes them); thinking is part of `output_tokens`; `server_tool_use` counts
    the web searches and fetches the server ran."""
    creation = raw.get("cache_creation") or {}
    written = int(raw.get("cache_creation_input_tokens") or 0)
    one_hour = int(creation.get("ephemeral_1h_input_tokens") or 0)
    five_min = int(creation.get("ephemeral_5m_input_tokens") or written - one_hour)
    read = int(raw.get("cache_read_input_tokens") or 0)
    thinking = int((raw.get("output_tokens_details") or {}).get("thinking_tokens") or 0)
    server = raw.get("server_tool_use") or {}
    return Usage(input_tokens=int(raw.get("input_tokens") or 0) + read + written,
                 output_tokens=int(raw.get("output_tokens") or 0), cache_read_tokens=read,
                 cache_write_tokens=written, reasoning_tokens=thinking,
                 cache_write_1h_tokens=one_hour, thinking_tokens=thinking,
                 cache_write_5m_tokens=five_min,
                 web_search_requests=int(server.get("web_search_requests") or 0),
                 web_fetch_requests=int(server.get("web_fetch_requests") or 0))


class MessagesState(StreamState):
    """Text, thinking, tool calls, stop reason and usage of one Messages answer, without I/O.

    `content` keeps the answer's blocks as they came (thinking with its signature, text with its
    citations, `tool_use`, `server_tool_use` and its result), so a tool loop or a paused turn can
    send them back; only blocks started as `tool_use` become tool calls.

    `usage` stays None until `message_delta` brings the output count; `input_usage` holds the
    exact input side from `message_start` meanwhile.
    """

    def __init__(self) -> None:
        super().__init__()
        self.thinking_parts: list[str] = []
        self.signature = ""
        self._raw_usage: dict[str, Any] = {}
        self._blocks: dict[int, dict[str, Any]] = {}  # blocks still streaming, by index

    @property
    def thinking_text(self) -> str:
        return "".join(self.thinking_parts)

    def handle_chunk(self, chunk: dict[str, Any]) -> list[Event | ThinkingDelta | InputKnown]:
        """Apply one stream event (or a whole non-streamed message) and say what changed."""
        kind = chunk.get("type")
        if kind == "message":
            return self._whole(chunk)
        if kind == "message_start":
            message = chunk.get("message") or {}
            self.response_model = message.get("model") or self.response_model
            self._raw_usage = dict(message.get("usage") or {})
            self._note_served()
            self.input_usage = usage_from_messages(self._raw_usage)
            return [InputKnown(self.input_usage)]
        if kind == "content_block_start":
            return self._start(int(chunk.get("index") or 0), chunk.get("content_block") or {})
        if kind == "content_block_delta":
            return self._delta(int(chunk.get("index") or 0), chunk.get("delta") or {})
        if kind == "content_block_stop":
            self._stop(int(chunk.get("index") or 0))
            return []
        if kind == "message_delta":
            return self._message_delta(chunk)
        if kind == "error":
            error = chunk.get("error") or {}
            self.error = f"{error.get('type', 'error')}: {error.get('message') or 'no message'}"
            return [StreamFailed(self.error)]
        return []  # ping, message_stop and event types added later

    def _start(self, index: int, block: dict[str, Any]) -> list[Any]:
        self._blocks[index] = {**block, "partial_json": ""} if block.get("type") in CALLS else (
            dict(block))
        if block.get("type") == "text" and block.get("text"):
            self._blocks[index]["text"] = ""
            return self._delta(index, {"type": "text_delta", "text": block["text"]})
        return []

    def _delta(self, index: int, delta: dict[str, Any]) -> list[Any]:
        """Apply one delta to its block; only a block started as a call collects input JSON."""
        kind, block = delta.get("type"), self._blocks.get(index, {})
        events: list[Any] = []
        if kind == "text_delta" and delta.get("text"):
            self.parts.append(delta["text"])
            events.append(TextDelta(delta["text"]))
        elif kind == "thinking_delta" and delta.get("thinking"):
            self.thinking_parts.append(delta["thinking"])
            events.append(ThinkingDelta(delta["thinking"]))
        elif kind == "signature_delta":
            self.signature += delta.get("signature") or ""
        elif kind == "citations_delta" and delta.get("citation"):
            block.setdefault("citations", []).append(delta["citation"])
        field = DELTA_FIELDS.get(str(kind))
        if field and block and (field != "partial_json" or block.get("type") in CALLS):
            block[field] = str(block.get(field) or "") + str(delta.get(field) or "")
        return events

    def _stop(self, index: int) -> None:
        """A finished block joins the answer's content; a `tool_use` block also becomes a tool
        call (no arguments at all, `""`, means `{}`)."""
        block = self._blocks.pop(index, None)
        if block is None:
            return
        if block.get("type") in CALLS:
            raw = block.pop("partial_json") or "{}"
            block["input"] = _parsed(raw)  # sent back as an object, whatever came
            if block["type"] == "tool_use":
                self.tool_calls.append({"id": block.get("id"), "type": "function", "function": {
                    "name": block.get("name") or "", "arguments": raw}})
        self.content.append(block)

    def assistant_turn(self) -> dict[str, Any]:
        """The answer as the next request sends it back, its content blocks as they came."""
        return {**super().assistant_turn(), "blocks": [dict(b) for b in self.content]}

    def _whole(self, message: dict[str, Any]) -> list[Any]:
        """A non-streamed answer: replay it as the events a stream would have sent."""
        events: list[Any] = self.handle_chunk({"type": "message_start", "message": {
            "model": message.get("model"), "usage": message.get("usage") or {}}})
        for index, block in enumerate(message.get("content") or ()):
            if block.get("type") == "thinking":
                events += self._delta(index, {"type": "thinking_delta",
                                              "thinking": block.get("thinking")})
                self.signature = block.get("signature") or ""
            elif block.get("type") == "tool_use":
                self.tool_calls.append({"id": block.get("id"), "type": "function", "function": {
                    "name": block.get("name") or "",
                    "arguments": json.dumps(block.get("input") or {})}})
            elif block.get("type") == "text":
                events += self._delta(index, {"type": "text_delta", "text": block.get("text")})
            self.content.append(dict(block))
        return events + self._message_delta({"delta": {"stop_reason": message.get("stop_reason")},
                                             "usage": message.get("usage")})

    def _message_delta(self, chunk: dict[str, Any]) -> list[Any]:
        events: list[Any] = []
        reason = (chunk.get("delta") or {}).get("stop_reason")
        if reason:
            self.finish_reason = reason
            events.append(Finished(reason))
        usage = chunk.get("usage")
        if usage:
            # Cumulative: the fields it carries replace ours; the rest stay from message_start.
            self._raw_usage.update({k: v for k, v in usage.items() if v is not None})
            self._note_served()
            self.usage = usage_from_messages(self._raw_usage)
            events.append(UsageReported(self.usage, None))
        return events

    def _note_served(self) -> None:
        """Keep `usage.speed` and `usage.inference_geo` where the usage names them: they set
        the price (fast mode, US-only inference)."""
        self.served.update({key: self._raw_usage[key] for key in SERVED
                            if isinstance(self._raw_usage.get(key), str)})


def _parsed(raw: str) -> dict[str, Any]:
    """A call's input JSON object; {} when it is not one (the call keeps the text as it came)."""
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
