"""Tool definitions (OpenAI format) from the notebook, checked, and what they cost a call."""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opus_magic.cost.pricing import format_usd, input_cost
from opus_magic.errors import UsageError

if TYPE_CHECKING:
    from opus_magic.core.run.plan import Plan

TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SHAPE = 'each looks like {"type": "function", "function": {"name": "...", "parameters": {...}}}'


def validate(value: Any, name: str = "tools") -> tuple[dict[str, Any], ...]:
    """A list of OpenAI-format function tools, or a UsageError naming the first problem."""
    if not isinstance(value, (list, tuple)) or not value:
        raise UsageError(f"--tools {name}: expected a non-empty list of tool definitions, got "
                         f"{type(value).__name__}; {SHAPE}.")
    seen: set[str] = set()
    for index, tool in enumerate(value, 1):
        problem = _problem(tool, seen)
        if problem:
            raise UsageError(f"--tools {name}: tool {index} {problem}; {SHAPE}.")
    return tuple(value)


def _problem(tool: Any, seen: set[str]) -> str | None:
    if not isinstance(tool, Mapping):
        return f"is a {type(tool).__name__}, not a dict"
    if tool.get("type") != "function":
        return f"has type {tool.get('type')!r}: only \"function\" tools can be sent"
    function = tool.get("function")
    if not isinstance(function, Mapping):
        return "has no \"function\" object"
    tool_name = function.get("name")
    if not isinstance(tool_name, str) or not TOOL_NAME.match(tool_name):
        return f"has function.name {tool_name!r}: use 1-64 letters, digits, _ or -"
    if tool_name in seen:
        return f"repeats the name {tool_name!r}"
    seen.add(tool_name)
    if "parameters" in function and not isinstance(function["parameters"], Mapping):
        return f"({tool_name}) has parameters that are not a JSON schema object"
    if not isinstance(function.get("description", ""), str):
        return f"({tool_name}) has a description that is not text"
    try:
        json.dumps(tool, allow_nan=False)
    except (TypeError, ValueError):
        return f"({tool_name}) holds values that are not JSON"
    return None


def overhead_line(plan: Plan) -> str | None:
    """`Tools: 10 tools × 200 tokens = 2,000 tokens + 286 tokens of tool-use system prompt =
    2,286 tokens = ≈$0.0091 per call on claude-opus-5-5, before any output.`"""
    tools = plan.request.tools
    if not tools or not plan.tool_tokens:
        return None
    total = plan.tool_tokens
    prompt = plan.info.tool_prompt_tokens() if plan.info is not None else 0
    count, defined = len(tools), total - prompt
    each = f"{defined // count:,}" if defined % count == 0 else f"≈{round(defined / count):,}"
    noun = "tool" if count == 1 else "tools"
    added = (f"{defined:,} tokens + {prompt:,} tokens of tool-use system prompt = " if prompt
             else "")
    cost = format_usd(input_cost(total, plan.info), estimated=True)
    return (f"Tools: {count} {noun} × {each} tokens = {added}{total:,} tokens = {cost} per call "
            f"on {plan.model_id}, before any output.")

