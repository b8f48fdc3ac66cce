"""Tools and structured outputs on the simulator's OpenAI chat completions, by OpenAI's rules.

`tools: [{"type": "function", "function": {name, description, parameters, strict}}]` are
called by `content/tool_calls.py`'s rules (`tool_choice` "required" is its `any`, a named
function its `tool`, `parallel_tool_calls: false` one call a turn); a turn that ends with
`role: "tool"` messages answering every call is answered in text quoting them. `response_format`
json_schema (and json_object) makes the answer JSON. Refused with 400, as OpenAI does: a `tool`
message that answers no call, calls left unanswered, a tool_choice without tools, and strict
schemas that break strict mode's rules (`content/schema_rules.py`). Completion tokens of a call:
its name plus its arguments' JSON.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from opus_magic.cost.tokens import count_text
from opus_magic.sim.content.answers import token_pieces
from opus_magic.sim.content.schema_rules import openai_strict_problem
from opus_magic.sim.content.schema_values import Filler, broken
from opus_magic.sim.content.text import request_seed
from opus_magic.sim.content.tool_calls import (
    Call,
    Choice,
    Result,
    Tool,
    Turn,
    plan,
    random_id,
    results_text,
)
from opus_magic.sim.faults import Scenario

call_id = random_id("call_", 24)
Problem = tuple[str | None, str]  # (param, message)


@dataclass(frozen=True)
class ChatReply:
    """What to answer instead of prose: tool calls, or text pieces (JSON, quoted results)."""

    calls: tuple[Call, ...] = ()
    chunks: list[str] | None = None
    finish: str | None = None  # "length" when the JSON is cut on purpose


def text_of(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def tools(body: dict[str, Any]) -> list[Tool]:
    out = []
    for tool in body.get("tools") or ():
        function = tool.get("function") if isinstance(tool.get("function"), dict) else {}
        parameters = function.get("parameters")
        out.append(Tool(str(function.get("name", "")), str(function.get("description") or ""),
                        parameters if isinstance(parameters, dict) else {}))
    return out


def choice(body: dict[str, Any]) -> Choice:
    raw = body.get("tool_choice", "auto")
    parallel = body.get("parallel_tool_calls") is not False
    if isinstance(raw, dict):
        return Choice("tool", (raw.get("function") or {}).get("name"), parallel)
    return Choice({"required": "any"}.get(str(raw), str(raw)), None, parallel)


def turn(messages: list[dict[str, Any]]) -> Turn:
    """The prompt (the last user message), the tools called since, the trailing results."""
    start = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=0)
    prompt = text_of(messages[start].get("content")) if messages else ""
    calls = {c.get("id"): str((c.get("function") or {}).get("name"))
             for m in messages[start + 1:] if m.get("role") == "assistant"
             for c in m.get("tool_calls") or () if isinstance(c, dict)}
    results = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        results.insert(0, Result(calls.get(message.get("tool_call_id"), "the tool"),
                                 text_of(message.get("content"))))
    return Turn(prompt, tuple(calls.values()), tuple(results))


def invalid(body: dict[str, Any]) -> Problem | None:
    """(param, message) when OpenAI would refuse the request's tools or format, else None."""
    declared = tools(body)
    for index, tool in enumerate(body.get("tools") or ()):
        function = tool.get("function") if isinstance(tool.get("function"), dict) else {}
        if not declared[index].name:
            return (f"tools[{index}].function.name",
                    f"Missing required parameter: 'tools[{index}].function.name'.")
        if function.get("strict"):
            found = openai_strict_problem(declared[index].schema,
                                          f"function '{declared[index].name}'")
            if found:
                return f"tools[{index}].function.parameters", found
    picked = choice(body)
    if picked.forced and not declared:
        return ("tool_choice", "Invalid value for 'tool_choice': 'tool_choice' is only allowed "
                               "when 'tools' are specified.")
    if picked.mode == "tool" and picked.name not in [t.name for t in declared]:
        return ("tool_choice", f"Invalid value for 'tool_choice': no function named "
                               f"'{picked.name}' in 'tools'.")
    return _turns_problem(body["messages"]) or _format_problem(body.get("response_format"))


def _turns_problem(messages: list[dict[str, Any]]) -> Problem | None:
    pending: list[str] = []
    asked = 0
    for index, message in enumerate([*messages, {}]):
        if message.get("role") == "tool":
            if message.get("tool_call_id") not in pending:
                return (f"messages.[{index}].role", "Invalid parameter: messages with role 'tool' "
                        "must be a response to a preceeding message with 'tool_calls'.")
            pending.remove(message["tool_call_id"])
            continue
        if pending:
            return (f"messages.[{asked}].role", "An assistant message with 'tool_calls' must be "
                    "followed by tool messages responding to each 'tool_call_id'. The following "
                    f"tool_call_ids did not have response messages: {', '.join(pending)}")
        pending = [str(c.get("id")) for c in message.get("tool_calls") or () if isinstance(c, dict)]
        asked = index
    return None


def _format_problem(fmt: Any) -> Problem | None:
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object", "json_schema"):
        return ("response_format.type", "Invalid value for 'response_format.type': expected "
                                        "'text', 'json_object' or 'json_schema'.")
    if fmt["type"] != "json_schema":
        return None
    spec = fmt.get("json_schema") if isinstance(fmt.get("json_schema"), dict) else {}
    if not spec.get("name"):
        return ("response_format.json_schema.name",
                "Missing required parameter: 'response_format.json_schema.name'.")
    if spec.get("strict"):
        found = openai_strict_problem(spec.get("schema"), f"response_format '{spec['name']}'")
        if found:
            return "response_format", found
    return None


def reply(body: dict[str, Any], model: str, scenario: Scenario | None) -> ChatReply | None:
    """Tool calls, JSON or quoted results for this request; None leaves the answer to prose."""
    messages = body["messages"]
    bad = scenario["kind"] if scenario is not None and scenario.name == "bad_output" else None
    rng = random.Random(request_seed(messages, model + "tools"))
    now = turn(messages)
    calls = plan(tools(body), choice(body), now, rng, call_id, bad)
    if calls:
        return ChatReply(calls=tuple(calls))
    fmt = body.get("response_format") if isinstance(body.get("response_format"), dict) else {}
    text = "\n".join([now.prompt, *(r.content for r in now.results)])
    if fmt.get("type") in ("json_schema", "json_object"):
        schema = (fmt.get("json_schema") or {}).get("schema") or {
            "type": "object", "properties": {"answer": {"type": "string", "description": "text"}},
            "required": ["answer"]}
        value = Filler(text, rng, schema).value(schema)
        if bad in ("missing_field", "wrong_type"):
            value = broken(value, schema, bad)
        chunks = token_pieces(json.dumps(value), model)
        if bad == "truncated":
            return ChatReply(chunks=chunks[:len(chunks) // 2], finish="length")
        return ChatReply(chunks=chunks)
    if now.results:
        return ChatReply(chunks=token_pieces(results_text(now.results), model))
    return None


def arguments(call: Call) -> str:
    return json.dumps(call.input, separators=(",", ":"))


def completion_tokens(calls: tuple[Call, ...], model: str) -> int:
    """What the calls cost as output: each call's name plus its arguments' JSON."""
    return sum(count_text(c.name, model) + count_text(arguments(c), model) for c in calls)
