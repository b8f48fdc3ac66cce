"""Accumulating an Anthropic Messages stream: a pure state object, one event at a time.

The input side of usage (with cache reads and writes) is exact from `message_start`; the output
side arrives with `message_delta`, whose usage is cumulative: each one replaces the last.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from opus_magic.records import Usage
from opus_magic.wire.stream import (
    Event,
    Finished,
    StreamFailed,
    StreamState,
    UsageReported,
    malformed,
)
from opus_magic.wire.usage import Untrusted, block_index, messages_usage, shown

SERVED = ("speed", "inference_geo")
CALLS = ("tool_use", "server_tool_use")  # blocks whose input streams as input_json_delta pieces


@dataclass(frozen=True)
class ThinkingDelta:
    """A piece of the (summarized) thinking text Claude returns before its answer, as shown and
    as sent (see TextDelta)."""

    text: str
    raw: str | None = field(default=None, compare=False)

    @property
    def sent(self) -> str:
        return self.text if self.raw is None else self.raw


@dataclass(frozen=True)
class InputKnown:
    """`message_start` arrived: the input side of usage is exact from now on."""

    usage: Usage


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
        self._thinking = self.clean.stream()
        self.signature = ""
        self._raw_usage: dict[str, Any] = {}
        self._blocks: dict[int, dict[str, Any]] = {}  # blocks still streaming, by index
        # The pieces of each streaming block's text fields, joined once the block stops: adding
        # each piece to the block's string would copy the text so far on every delta.
        self._pieces: dict[int, dict[str, list[str]]] = {}

    @property
    def thinking_text(self) -> str:
        return "".join(self.thinking_parts)

    def hide(self, key: str | None) -> None:
        super().hide(key)
        self._thinking = self.clean.stream()

    def close(self) -> list[Any]:
        rest = self._thinking.flush()
        if rest:
            self.thinking_parts.append(rest)
        return ([ThinkingDelta(rest, raw="")] if rest else []) + super().close()

    def handle_chunk(self, chunk: dict[str, Any]) -> list[Event | ThinkingDelta | InputKnown]:
        """Apply one stream event (or a whole non-streamed message) and say what changed."""
        kind = chunk.get("type")
        if kind == "message":
            return self._whole(chunk)
        if kind == "message_start":
            return self._message_start(chunk.get("message") or {})
        if kind == "content_block_start":
            return self._start(self._index(chunk), self._object(chunk, "content_block"))
        if kind == "content_block_delta":
            return self._delta(self._index(chunk), self._object(chunk, "delta"))
        if kind == "content_block_stop":
            self._stop(self._index(chunk))
            return []
        if kind == "message_delta":
            return self._message_delta(chunk)
        if kind == "error":
            error = chunk.get("error") or {}
            self.error = f"{error.get('type', 'error')}: {error.get('message') or 'no message'}"
            return [StreamFailed(self.error)]
        return []  # ping, message_stop and event types added later

    def _index(self, chunk: dict[str, Any]) -> int:
        try:
            return block_index(chunk.get("index"))
        except Untrusted as exc:
            raise malformed(exc) from None

    @staticmethod
    def _object(chunk: dict[str, Any], name: str) -> dict[str, Any]:
        value = chunk.get(name) or {}
        if not isinstance(value, dict):
            raise malformed(f"{name} {shown(value)} is not an object")
        return value

    def _message_start(self, message: Any) -> list[Any]:
        """The input side of usage, exact from here on (unless a count in it cannot be right)."""
        if not isinstance(message, dict):
            raise malformed(f"message {shown(message)} is not an object")
        if isinstance(message.get("model"), str):
            self.response_model = message["model"]
        raw = message.get("usage") or {}
        # Kept even when a count in it cannot be right: the final usage is read from it again.
        self._raw_usage = dict(raw) if isinstance(raw, dict) else {"input_tokens": raw}
        try:
            usage = messages_usage(raw)
        except Untrusted as exc:
            self.ignore(f"its input usage ({exc})", "the input is counted with tiktoken")
            return []
        self._note_served()
        self.input_usage = usage
        return [InputKnown(usage)]

    def _start(self, index: int, block: dict[str, Any]) -> list[Any]:
        self._blocks[index] = ({**block, "partial_json": ""} if block.get("type") in CALLS
                               else dict(block))
        self._pieces[index] = {}
        if block.get("type") == "text" and block.get("text"):
            self._blocks[index]["text"] = ""
            return self._delta(index, {"type": "text_delta", "text": block["text"]})
        return []

    def _delta(self, index: int, delta: dict[str, Any]) -> list[Any]:
        """Apply one delta to its block; only a block started as a call collects input JSON."""
        kind, block = delta.get("type"), self._blocks.get(index, {})
        pieces = self._pieces.get(index, {})  # a block never started keeps nothing
        events: list[Any] = []
        if kind == "text_delta" and delta.get("text"):
            events = self.add_text(delta["text"])
            pieces.setdefault("text", []).append(_text(delta["text"], "text"))
        elif kind == "thinking_delta" and delta.get("thinking"):
            events = self._add_thinking(delta["thinking"])
            pieces.setdefault("thinking", []).append(delta["thinking"])
        elif kind == "signature_delta":
            piece = _text(delta.get("signature"), "signature")
            self.signature += piece
            pieces.setdefault("signature", []).append(piece)
        elif kind == "citations_delta" and delta.get("citation"):
            block.setdefault("citations", []).append(delta["citation"])
        elif kind == "input_json_delta" and block.get("type") in CALLS:
            pieces.setdefault("partial_json", []).append(
                _text(delta.get("partial_json"), "partial_json"))
        return events

    def _add_thinking(self, text: Any) -> list[Any]:
        sent = _text(text, "thinking")
        released = self._thinking.feed(sent)
        if released:
            self.thinking_parts.append(released)
        return [ThinkingDelta(released, raw=sent)]

    def _stop(self, index: int) -> None:
        """A finished block joins the answer's content; a `tool_use` block also becomes a tool
        call (no arguments at all, `""`, means `{}`)."""
        block = self._blocks.pop(index, None)
        if block is None:
            return
        for name, parts in self._pieces.pop(index, {}).items():
            block[name] = block.get(name, "") + "".join(parts)
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

    def _message_delta(self, chunk: dict[str, Any]) -> list[Any]:
        events: list[Any] = []
        reason = (chunk.get("delta") or {}).get("stop_reason")
        if reason:
            self.finish_reason = reason
            events.append(Finished(reason))
        usage = chunk.get("usage")
        if usage:
            # Cumulative: the fields it carries replace ours; the rest stay from message_start.
            self._raw_usage.update({k: v for k, v in _fields(usage).items() if v is not None})
            try:
                self.usage = messages_usage(self._raw_usage)
            except Untrusted as exc:
                self.ignore(f"its usage ({exc})", "the cost is estimated from counted tokens")
                return events
            self._note_served()
            events.append(UsageReported(self.usage, None))
        return events

    def _note_served(self) -> None:
        """Keep `usage.speed` and `usage.inference_geo` where the usage names them: they set
        the price (fast mode, US-only inference)."""
        self.served.update({key: self._raw_usage[key] for key in SERVED
                            if isinstance(self._raw_usage.get(key), str)})

    def _whole(self, message: dict[str, Any]) -> list[Any]:
        """A non-streamed answer: replay it as the events a stream would have sent."""
        events: list[Any] = self.handle_chunk({"type": "message_start", "message": {
            "model": message.get("model"), "usage": message.get("usage") or {}}})
        content = message.get("content") or []
        if not isinstance(content, list) or not all(isinstance(b, dict) for b in content):
            raise malformed(f"content {shown(content)} is not a list of blocks")
        for index, block in enumerate(content):
            if block.get("type") == "thinking":
                events += self._delta(index, {"type": "thinking_delta",
                                              "thinking": block.get("thinking")})
                self.signature = _text(block.get("signature"), "signature")
            elif block.get("type") == "tool_use":
                self.tool_calls.append({"id": block.get("id"), "type": "function", "function": {
                    "name": block.get("name") or "",
                    "arguments": json.dumps(block.get("input") or {})}})
            elif block.get("type") == "text":
                events += self._delta(index, {"type": "text_delta", "text": block.get("text")})
            self.content.append(dict(block))
        return events + self._message_delta({"delta": {"stop_reason": message.get("stop_reason")},
                                             "usage": message.get("usage")})


def _text(value: Any, name: str) -> str:
    """A string field of an event (missing or null: empty), else the event is malformed."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise malformed(f"{name} {shown(value)} is not a string")
    return value


def _fields(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise malformed(f"usage {shown(value)} is not an object")
    return value


def _parsed(raw: str) -> dict[str, Any]:
    """A call's input JSON object; {} when it is not one (the call keeps the text as it came)."""
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
