"""What the simulated model answers on the Messages API, as content blocks: thinking, tool calls,
server tool blocks, and text (prose, the quoted tool results, or JSON for a requested schema).

Output tokens: thinking as billed; a `tool_use` or `server_tool_use` block the tokens of its
name plus its input's compact JSON; a text block one token a piece; server result blocks none.
The text is cut at max_tokens (stop_reason max_tokens), JSON included.
"""
from __future__ import annotations

import base64
import hashlib
import json
import random
from dataclasses import dataclass, field
from typing import Any

from opus_magic.cost.tokens import count_text
from opus_magic.sim.content.answers import token_pieces
from opus_magic.sim.content.attachments import opening
from opus_magic.sim.content.choices import choice_answer
from opus_magic.sim.content.schema_values import Filler, broken
from opus_magic.sim.content.text import WORDS, answer_chunks, request_seed
from opus_magic.sim.content.tool_calls import plan, random_id, results_text
from opus_magic.sim.faults import Scenario
from opus_magic.sim.native import tools as native_tools
from opus_magic.sim.native.cache import NativeUsage
from opus_magic.sim.native.server_tools import server_turn

THINKING_WORDS = 40  # shown (summarized) thinking; the billed thinking is longer
BILLED_PER_SHOWN = 4
JSON_TOKENS_A_DELTA = 3  # tokens of tool input a streamed input_json_delta carries
DELTA_FIELDS = {"text_delta": "text", "thinking_delta": "thinking",
                "input_json_delta": "partial_json"}
tool_use_id = random_id("toolu_01", 22)


@dataclass
class Block:
    """One content block: how it starts a stream, its deltas, its whole form, its output tokens."""

    start: dict[str, Any]
    whole: dict[str, Any]
    delta: str = ""  # the delta type its pieces are sent as; "" for a block sent whole
    pieces: list[str] = field(default_factory=list)
    tokens: int = 0
    before: list[dict[str, Any]] = field(default_factory=list)  # deltas ahead of the pieces
    after: list[dict[str, Any]] = field(default_factory=list)  # deltas after them

    @property
    def field(self) -> str:
        return DELTA_FIELDS.get(self.delta, "")


def text_block(pieces: list[str], citations: list[dict[str, Any]] | None = None) -> Block:
    whole: dict[str, Any] = {"type": "text", "text": "".join(pieces)}
    start: dict[str, Any] = {"type": "text", "text": ""}
    before = []
    if citations:
        whole["citations"], start["citations"] = citations, []
        before = [{"type": "citations_delta", "citation": c} for c in citations]
    return Block(start, whole, "text_delta", pieces, len(pieces), before)


def call_block(kind: str, call_id: str, name: str, arguments: dict[str, Any],
               model: str) -> Block:
    """A `tool_use` or `server_tool_use` block; streamed as "" then JSON pieces, as Anthropic
    does (a call without arguments sends only "")."""
    text = json.dumps(arguments, separators=(",", ":")) if arguments else ""
    tokens = token_pieces(text, model)
    pieces = [""] + ["".join(tokens[i:i + JSON_TOKENS_A_DELTA])
                     for i in range(0, len(tokens), JSON_TOKENS_A_DELTA)]
    whole = {"type": kind, "id": call_id, "name": name, "input": arguments}
    return Block({**whole, "input": {}}, whole, "input_json_delta", pieces,
                 count_text(name, model) + len(tokens))


def chat_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The request as chat messages, for the answer text (system instructions included)."""
    system = body.get("system")
    if isinstance(system, list):
        system = " ".join(str(b.get("text", "")) for b in system)
    out = [{"role": "system", "content": system}] if system else []
    for message in body["messages"]:
        content = message.get("content")
        if isinstance(content, list):
            content = " ".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
        out.append({"role": message.get("role"), "content": content})
    return out


class Answer:
    """What the simulated model says to one request: its blocks, stop reason and usage."""

    def __init__(self, body: dict[str, Any], usage: NativeUsage, answer_tokens: int | None,
                 scenario: Scenario | None) -> None:
        messages = chat_messages(body)
        model, limit = body["model"], int(body.get("max_tokens") or 1024)
        self.model, self.usage = model, usage
        self.blocks: list[Block] = []
        self.server_usage: dict[str, int] | None = None
        self.extra_input = 0
        served = scenario is not None and scenario.name == "served"  # how usage says it was served
        self.served = ({"inference_geo": scenario["inference_geo"], "speed": scenario["speed"]}
                       if served else {})
        self.thinking_tokens = self._thinking(body, messages, limit)
        self.stop_reason = "end_turn"
        bad = scenario["kind"] if scenario is not None and scenario.name == "bad_output" else None
        rng = random.Random(request_seed(body["messages"], model + "tools"))
        turn = native_tools.turn(body)
        calls = plan(native_tools.tools(body), native_tools.choice(body), turn, rng, tool_use_id,
                     bad)
        if calls:
            self.blocks += [call_block("tool_use", c.id, c.name, c.input, model) for c in calls]
            self.stop_reason = "tool_use"
            return
        server = server_turn(body, turn.prompt, rng, scenario)
        if server is not None:
            self.server_usage, self.extra_input = server.usage(), server.input_tokens
            for block in server.blocks:
                self.blocks.append(call_block(block["type"], block["id"], block["name"],
                                              block["input"], model)
                                   if block["type"] == "server_tool_use" else Block(block, block))
            if server.paused:
                self.stop_reason = "pause_turn"
                return
        chunks = self._cut(self._text(body, messages, turn, rng, answer_tokens, bad), limit,
                           scenario, bad == "truncated" and native_tools.output_schema(body))
        self.blocks.append(text_block(chunks, server.citations if server else None))

    def _cut(self, chunks: list[str], limit: int, scenario: Scenario | None,
             halve: object) -> list[str]:
        """The text within max_tokens, or cut short by a scenario (stop reason set to match)."""
        room = limit - self.output_tokens
        if len(chunks) > room:
            chunks, self.stop_reason = chunks[:max(room, 0)], "max_tokens"
        name = scenario.name if scenario else None
        if name in ("length", "content_filter"):
            chunks = chunks[:int(scenario["after"])]
            self.stop_reason = "max_tokens" if name == "length" else "refusal"
        if halve:
            chunks, self.stop_reason = chunks[:len(chunks) // 2], "max_tokens"
        return chunks

    def _thinking(self, body: dict[str, Any], messages: list[dict[str, Any]], limit: int) -> int:
        thinking = body.get("thinking") or {}
        if thinking.get("type") not in ("adaptive", "enabled"):
            return 0
        rng = random.Random(request_seed(messages, self.model + "thinking"))
        pieces = [("" if i == 0 else " ") + rng.choice(WORDS) for i in range(THINKING_WORDS)]
        budget = int(thinking.get("budget_tokens") or limit)
        tokens = min(THINKING_WORDS * BILLED_PER_SHOWN, budget, limit)
        signature = base64.b64encode(hashlib.sha256("".join(pieces).encode()).digest()).decode()
        self.blocks.append(Block(
            {"type": "thinking", "thinking": "", "signature": ""},
            {"type": "thinking", "thinking": "".join(pieces), "signature": signature},
            "thinking_delta", pieces, tokens,
            after=[{"type": "signature_delta", "signature": signature}]))
        return tokens

    def _text(self, body: dict[str, Any], messages: list[dict[str, Any]], turn: Any,
              rng: random.Random, answer_tokens: int | None, bad: str | None) -> list[str]:
        """The text: JSON for a requested schema, the tools' results quoted, one of the options
        a classification prompt offers, or prose."""
        found = native_tools.output_schema(body)
        if found is not None:
            schema = found[1]["schema"]
            text = "\n".join([turn.prompt, *(r.content for r in turn.results)])
            value = Filler(text, rng, schema).value(schema)
            if bad in ("missing_field", "wrong_type"):
                value = broken(value, schema, bad)
            return token_pieces(json.dumps(value), self.model)
        if turn.results:
            return token_pieces(results_text(turn.results), self.model)
        return (choice_answer(body["messages"], self.model)
                or answer_chunks(messages, answer_tokens, self.model,
                                 opening(body["messages"], self.model)))

    @property
    def chunks(self) -> list[str]:
        """The pieces of the final text block (none when the answer ends in a tool call)."""
        last = self.blocks[-1] if self.blocks else None
        return last.pieces if last is not None and last.delta == "text_delta" else []

    @property
    def output_tokens(self) -> int:
        return sum(block.tokens for block in self.blocks)

    def final_usage(self) -> dict[str, Any]:
        body = self.usage.body()
        body["input_tokens"] += self.extra_input
        out = {**body, "output_tokens": self.output_tokens,
               "output_tokens_details": {"thinking_tokens": self.thinking_tokens},
               "service_tier": "standard", **self.served}
        if self.server_usage is not None:
            out["server_tool_use"] = self.server_usage
        return out

    def content(self) -> list[dict[str, Any]]:
        return [block.whole for block in self.blocks]

    def message(self, message_id: str) -> dict[str, Any]:
        """The whole answer of a request sent without streaming."""
        return {"id": message_id, "type": "message", "role": "assistant", "model": self.model,
                "content": self.content(), "stop_reason": self.stop_reason,
                "stop_sequence": None, "usage": self.final_usage()}
