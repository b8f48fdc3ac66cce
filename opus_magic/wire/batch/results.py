"""A provider batch's results, one line at a time, read into plain `BatchResult`s: whatever a
line holds that cannot be right (a count, a shape) is noted and the result kept, never raised."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opus_magic.records import Usage
from opus_magic.wire.usage import Untrusted, messages_usage, openai_usage, shown

FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
          "tool_use": "tool_calls", "refusal": "content_filter"}


@dataclass(frozen=True)
class BatchResult:
    """One request's outcome: succeeded (text, usage, finish), errored, canceled or expired."""

    custom_id: str
    outcome: str
    text: str = ""
    usage: Usage | None = None
    finish_reason: str | None = None
    response_model: str | None = None
    error: str | None = None
    tool_calls: tuple[dict[str, Any], ...] = ()  # the calls it asked for, OpenAI's form
    ignored: list[str] = field(default_factory=list)  # values it held that could not be right


def anthropic_result(line: Any) -> BatchResult:
    """One line of a Message Batch's results."""
    custom_id, result = _line(line, "result")
    kind = result.get("type")
    if kind == "errored":
        return BatchResult(custom_id, "errored", error=error_message(result.get("error", {})))
    if kind != "succeeded":
        return BatchResult(custom_id, _outcome(kind), error=f"The request was {kind}.")
    message = result.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("content"), list):
        return _unreadable(custom_id, "its message has no content")
    blocks = [b for b in message["content"] if isinstance(b, dict)]
    text = "".join(b.get("text") or "" for b in blocks if b.get("type") == "text")
    calls = tuple({"id": b.get("id"), "type": "function", "function": {
        "name": b.get("name"), "arguments": json.dumps(b.get("input") or {})}}
        for b in blocks if b.get("type") == "tool_use")
    usage, notes = _usage(messages_usage, message.get("usage"))
    reason = message.get("stop_reason")
    return BatchResult(custom_id, "succeeded", _string(text), usage, FINISH.get(reason, reason)
                       if isinstance(reason, str) else None, _string(message.get("model")) or None,
                       tool_calls=calls, ignored=notes)


def openai_result(line: Any) -> BatchResult:
    """One line of an OpenAI batch's output or error file."""
    custom_id, response = _line(line, "response")
    error = line.get("error")
    if error:
        code = str(error.get("code") or "") if isinstance(error, dict) else ""
        outcome = {"batch_expired": "expired", "batch_cancelled": "canceled"}.get(code, "errored")
        return BatchResult(custom_id, outcome, error=error_message(error) or code)
    body = response.get("body") or {}
    if response.get("status_code") != 200 or not isinstance(body, dict):
        return BatchResult(custom_id, "errored", error=f"HTTP {response.get('status_code')}: "
                                                       f"{error_message(body)}")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return _unreadable(custom_id, "its answer has no choices")
    message = choices[0].get("message") or {}
    usage, notes = _usage(openai_usage, body.get("usage"))
    reason = choices[0].get("finish_reason")
    calls = message.get("tool_calls") if isinstance(message, dict) else None
    return BatchResult(custom_id, "succeeded",
                       _string(message.get("content") if isinstance(message, dict) else None),
                       usage, reason if isinstance(reason, str) else None,
                       _string(body.get("model")) or None,
                       tool_calls=tuple(c for c in calls or () if isinstance(c, dict)),
                       ignored=notes)


class Unreadable(ValueError):
    """A results line without a custom_id the batch knows: no run can be told it was this one."""


def _line(line: Any, part: str) -> tuple[str, dict[str, Any]]:
    """A results line's custom_id and its result (or response) object."""
    if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
        raise Unreadable(f"a results line without a custom_id: {shown(line)}")
    inner = line.get(part) or {}
    return line["custom_id"], inner if isinstance(inner, dict) else {}


def _outcome(kind: Any) -> str:
    return kind if kind in ("canceled", "expired") else "errored"


def _unreadable(custom_id: str, why: str) -> BatchResult:
    return BatchResult(custom_id, "succeeded", ignored=[
        f"Ignored what the provider sent: {why}; the cost is unknown."])


def _usage(read: Callable[[Any], Usage], raw: Any) -> tuple[Usage | None, list[str]]:
    """The result's usage, or None with a note when a count in it cannot be right."""
    try:
        return read(raw or {}), []
    except Untrusted as exc:
        return None, [f"Ignored what the provider sent: its usage ({exc}); the cost is unknown."]


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def error_message(body: Any) -> str:
    """The message of an error body of either API."""
    error = body.get("error", body) if isinstance(body, dict) else body
    return str(error.get("message") if isinstance(error, dict) else error)
