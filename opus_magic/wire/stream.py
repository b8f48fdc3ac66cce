"""Accumulating a chat-completions stream: a pure state object, one chunk at a time."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opus_magic.records import Usage
from opus_magic.wire.explain import said


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Finished:
    reason: str


@dataclass(frozen=True)
class UsageReported:
    usage: Usage
    provider_cost: Any


@dataclass(frozen=True)
class StreamFailed:
    message: str


Event = TextDelta | Finished | UsageReported | StreamFailed


class StreamState:
    """Text, finish reason, usage and model of one answer, built from chunks without I/O."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.input_usage: Usage | None = None  # the exact input side, where it comes first
        self.provider_cost: Any = None
        self.response_model: str | None = None
        self.error: str | None = None
        self.tool_calls: list[dict[str, Any]] = []
        self.refused = False
        self.implausible_usage = False
        self.served: dict[str, str] = {}  # how it was served: `speed`, `inference_geo` (Messages)
        self.content: list[dict[str, Any]] = []  # the answer's blocks, where the API has them

    @property
    def thinking_text(self) -> str:
        """Thinking shown before the answer; this API has none."""
        return ""

    @property
    def text(self) -> str:
        if len(self.parts) > 1:
            self.parts[:] = ["".join(self.parts)]
        return self.parts[0] if self.parts else ""

    def assistant_turn(self) -> dict[str, Any]:
        """The answer as the next request of a tool loop sends it back (neutral form: OpenAI's,
        with `tool_calls`; see `wire/request.py`)."""
        turn: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.tool_calls:
            turn["tool_calls"] = [dict(call, function=dict(call["function"]))
                                  for call in self.tool_calls]
        return turn

    def handle_chunk(self, chunk: dict[str, Any]) -> list[Event]:
        """Apply one `chat.completion.chunk` (or an error event) and say what changed."""
        events: list[Event] = []
        if self.response_model is None and chunk.get("model"):
            self.response_model = chunk["model"]
        error = chunk.get("error")
        if error:
            self.error = said(error) or "The endpoint reported an error mid-stream."
            events.append(StreamFailed(self.error))
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or choice.get("message") or {}
            content = delta.get("content")
            if delta.get("refusal"):  # OpenAI sends a refusal in its own field, content null
                self.refused, content = True, delta["refusal"]
            if content:
                self.parts.append(content)
                events.append(TextDelta(content))
            if delta.get("tool_calls"):
                self._merge_tool_calls(delta["tool_calls"])
            reason = choice.get("finish_reason")
            if reason and reason != "error":
                self.finish_reason = reason
                events.append(Finished(reason))
        usage = chunk.get("usage")
        if usage and self._implausible(Usage.from_openai(usage)):
            self.implausible_usage = True
        elif usage:
            self.usage = Usage.from_openai(usage)
            self.provider_cost = usage.get("cost")
            events.append(UsageReported(self.usage, self.provider_cost))
        return events

    def _implausible(self, usage: Usage) -> bool:
        """0 tokens in and out for an answer that has text or tool calls cannot be right."""
        return usage.input_tokens == usage.output_tokens == 0 and bool(self.parts or self.tool_calls)

    def _merge_tool_calls(self, calls: list[dict[str, Any]]) -> None:
        for call in calls:
            index = call.get("index", len(self.tool_calls))
            while len(self.tool_calls) <= index:
                self.tool_calls.append({"id": None, "type": "function",
                                        "function": {"name": "", "arguments": ""}})
            target = self.tool_calls[index]
            target["id"] = call.get("id") or target["id"]
            function = call.get("function") or {}
            target["function"]["name"] += function.get("name") or ""
            target["function"]["arguments"] += function.get("arguments") or ""
