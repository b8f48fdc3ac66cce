"""Tool turns written each API's way, from the neutral form `WireRequest` carries them in.

Neutral (OpenAI's own form, plus two fields): an assistant message with `tool_calls` (and, from
the Messages API, its content `blocks` as they came: thinking with its signature, server tool
blocks), then one `role: "tool"` message per result with `tool_call_id`, `content` and
`is_error`. The Messages API wants the assistant's `tool_use` blocks and then ONE user message
that starts with the `tool_result` blocks (a new prompt's text after them); chat completions
take the OpenAI form without the two extra fields (an error result says so in its text).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

Message = dict[str, Any]


def messages_turns(messages: Sequence[Message]) -> list[Message]:
    """The conversation (system messages left out) as Messages API turns."""
    turns: list[Message] = []
    for message in messages:
        role = message.get("role")
        if role == "system":
            continue
        if role == "tool":
            result = tool_result_block(message)
            if turns and turns[-1]["role"] == "user" and _starts_with_results(turns[-1]):
                turns[-1]["content"].append(result)
            else:
                turns.append({"role": "user", "content": [result]})
        elif role == "user" and turns and _starts_with_results(turns[-1]):
            turns[-1]["content"] += _blocks(message.get("content"))
        elif role == "assistant" and (message.get("blocks") or message.get("tool_calls")):
            turns.append({"role": "assistant", "content": assistant_blocks(message)})
        else:
            turns.append({"role": role, "content": message.get("content") or ""})
    return turns


def _starts_with_results(turn: Message) -> bool:
    content = turn.get("content")
    return (isinstance(content, list) and bool(content)
            and content[0].get("type") == "tool_result" and content[-1].get("type") ==
            "tool_result")


def _blocks(content: Any) -> list[Message]:
    if isinstance(content, list):
        return [dict(block) for block in content]
    return [{"type": "text", "text": str(content or "")}]


def assistant_blocks(message: Message) -> list[Message]:
    """An assistant turn's content blocks: as they came, else its text and `tool_use` blocks."""
    if message.get("blocks"):
        return [dict(block) for block in message["blocks"]]
    blocks = [{"type": "text", "text": message["content"]}] if message.get("content") else []
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        blocks.append({"type": "tool_use", "id": call.get("id"), "name": function.get("name"),
                       "input": arguments(function.get("arguments"))})
    return blocks


def arguments(raw: Any) -> dict[str, Any]:
    """A call's arguments as an object (its JSON text parsed; {} when it is not an object)."""
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def tool_result_block(message: Message) -> Message:
    block: Message = {"type": "tool_result", "tool_use_id": message.get("tool_call_id"),
                      "content": str(message.get("content") or "")}
    if message.get("is_error"):
        block["is_error"] = True
    return block


def chat_messages(messages: Sequence[Message]) -> list[Message]:
    """The conversation as chat completions take it: the extra fields of tool turns left out."""
    out = []
    for message in messages:
        if message.get("role") == "tool":
            content = str(message.get("content") or "")
            if message.get("is_error") and not content.startswith("Error"):
                content = f"Error: {content}"
            out.append({"role": "tool", "tool_call_id": message.get("tool_call_id"),
                        "content": content})
        elif message.get("role") == "assistant" and "blocks" in message:
            out.append({k: v for k, v in message.items() if k != "blocks"})
        else:
            out.append(message)
    return out
