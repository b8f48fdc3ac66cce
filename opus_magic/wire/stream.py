"""Accumulating a chat-completions stream: a pure state object, one chunk at a time."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from opus_magic.errors import StreamInterrupted
from opus_magic.records import Usage
from opus_magic.wire.explain import said
from opus_magic.wire.scrub import Scrubber
from opus_magic.wire.usage import Untrusted, block_index, openai_usage, provider_cost, shown


@dataclass(frozen=True)
class TextDelta:
    """A piece of the answer as shown (`text`: the key masked, a tail that could start it held
    back), and as the server sent it (`sent`, which output tokens are counted on)."""

    text: str
    raw: str | None = field(default=None, compare=False)

    @property
    def sent(self) -> str:
        return self.text if self.raw is None else self.raw


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


MORE_CALLS = 64  # a tool call's index may skip ahead of the calls known, but not by millions


def malformed(why: object) -> StreamInterrupted:
    """An event that cannot be read as the API describes it: the answer is cut there."""
    return StreamInterrupted(f"The endpoint sent a malformed event ({why}).")


class StreamState:
    """Text, finish reason, usage and model of one answer, built from chunks without I/O.

    Text is released through a scrubber (`hide`), so an API key echoed in the answer shows only
    masked, even split across chunks; `close` releases what it held back at the end. Numbers
    that cannot be right are ignored and said so in `ignored`; an event whose shape cannot be
    read raises StreamInterrupted.
    """

    def __init__(self) -> None:
        self.clean = Scrubber(None)
        self._text = self.clean.stream()
        self.ignored: list[str] = []  # what the endpoint sent that could not be right
        self.parts: list[str] = []
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.input_usage: Usage | None = None  # the exact input side, where it comes first
        self.provider_cost: Decimal | None = None
        self.response_model: str | None = None
        self.error: str | None = None
        self.tool_calls: list[dict[str, Any]] = []
        self.refused = False
        self.implausible_usage = False
        self.served: dict[str, str] = {}  # how it was served: `speed`, `inference_geo` (Messages)
        self.content: list[dict[str, Any]] = []  # the answer's blocks, where the API has them

    def hide(self, key: str | None) -> None:
        """Mask `key` wherever the answer echoes it (set before the first chunk)."""
        self.clean = Scrubber(key)
        self._text = self.clean.stream()

    def close(self) -> list[Event]:
        """The stream is over: the text held back in case it began the key, as a last delta."""
        rest = self._text.flush()
        if not rest:
            return []
        self.parts.append(rest)
        return [TextDelta(rest, raw="")]  # its tokens were counted as it arrived

    def add_text(self, text: Any) -> list[Event]:
        """A piece of the answer, released through the scrubber."""
        if not isinstance(text, str):
            raise malformed(f"text {shown(text)} is not a string")
        released = self._text.feed(text)
        if released:
            self.parts.append(released)
        return [TextDelta(released, raw=text)]

    def ignore(self, why: str, then: str) -> None:
        """Note a value the endpoint sent that cannot be right, and what was done instead."""
        note = f"Ignored what the endpoint sent: {why}; {then}."
        if note not in self.ignored:
            self.ignored.append(note)

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
        with `tool_calls`; see `wire/body/request.py`)."""
        turn: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.tool_calls:
            turn["tool_calls"] = [dict(call, function=dict(call["function"]))
                                  for call in self.tool_calls]
        return turn

    def handle_chunk(self, chunk: dict[str, Any]) -> list[Event]:
        """Apply one `chat.completion.chunk` (or an error event) and say what changed."""
        events: list[Event] = []
        if self.response_model is None and isinstance(chunk.get("model"), str):
            self.response_model = chunk["model"]
        error = chunk.get("error")
        if error:
            self.error = said(error) or "The endpoint reported an error mid-stream."
            events.append(StreamFailed(self.error))
        choices = chunk.get("choices") or []
        if not isinstance(choices, list):
            raise malformed(f"choices {shown(choices)} is not a list")
        for choice in choices:
            events += self._choice(choice)
        if chunk.get("usage"):
            events += self._usage(chunk["usage"])
        return events

    def _choice(self, choice: Any) -> list[Event]:
        if not isinstance(choice, dict):
            raise malformed(f"a choice {shown(choice)} is not an object")
        events: list[Event] = []
        delta = choice.get("delta") or choice.get("message") or {}
        if not isinstance(delta, dict):
            raise malformed(f"delta {shown(delta)} is not an object")
        content = delta.get("content")
        if delta.get("refusal"):  # OpenAI sends a refusal in its own field, content null
            self.refused, content = True, delta["refusal"]
        if content:
            events += self.add_text(content)
        if delta.get("tool_calls"):
            self._merge_tool_calls(delta["tool_calls"])
        reason = choice.get("finish_reason")
        if reason and reason != "error":
            if not isinstance(reason, str):
                raise malformed(f"finish_reason {shown(reason)} is not a string")
            self.finish_reason = reason
            events.append(Finished(reason))
        return events

    def _usage(self, raw: Any) -> list[Event]:
        """The server's usage, unless a count in it cannot be right (then the estimate stays)."""
        try:
            usage = openai_usage(raw)
            cost = None if raw.get("cost") is None else provider_cost(raw["cost"])
        except Untrusted as exc:
            self.ignore(f"its usage ({exc})", "the cost is estimated from counted tokens")
            return []
        if self._implausible(usage):
            self.implausible_usage = True
            return []
        self.usage, self.provider_cost = usage, cost
        return [UsageReported(usage, cost)]

    def _implausible(self, usage: Usage) -> bool:
        """0 tokens in and out for an answer that has text or tool calls cannot be right."""
        return usage.input_tokens == usage.output_tokens == 0 and bool(self.parts or self.tool_calls)

    def _merge_tool_calls(self, calls: Any) -> None:
        if not isinstance(calls, list) or not all(isinstance(c, dict) for c in calls):
            raise malformed(f"tool_calls {shown(calls)} is not a list of objects")
        for call in calls:
            index = self._index(call.get("index", len(self.tool_calls)))
            while len(self.tool_calls) <= index:
                self.tool_calls.append({"id": None, "type": "function",
                                        "function": {"name": "", "arguments": ""}})
            target = self.tool_calls[index]
            target["id"] = call.get("id") or target["id"]
            function = call.get("function") or {}
            if not isinstance(function, dict):
                raise malformed(f"function {shown(function)} is not an object")
            for part in ("name", "arguments"):
                piece = function.get(part) or ""
                if not isinstance(piece, str):
                    raise malformed(f"function {part} {shown(piece)} is not a string")
                target["function"][part] += piece

    def _index(self, raw: Any) -> int:
        """A block or tool-call index; one that cannot be right makes the event malformed."""
        try:
            return block_index(raw, len(self.tool_calls) + MORE_CALLS)
        except Untrusted as exc:
            raise malformed(exc) from None
