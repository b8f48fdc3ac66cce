"""Tools on the simulator's Messages API: reading them from a request, and refusing what
Anthropic refuses (tool results out of place, a tool_choice without tools, schemas it cannot
take for structured outputs or strict tools), with Anthropic's own messages."""
from __future__ import annotations

from typing import Any

from opus_magic.cost.catalog import default_catalog
from opus_magic.sim.content.schema_rules import anthropic_problem
from opus_magic.sim.content.tool_calls import Choice, Result, Tool, Turn
from opus_magic.sim.content.tool_prompt import tool_prompt_tokens as tool_prompt

SERVER_TOOL_TYPES = ("web_search_", "web_fetch_")
CHOICES = ("auto", "any", "tool", "none")
OUTPUT_FORMAT_BETA = "structured-outputs-2025-11-13"


def is_custom(tool: dict[str, Any]) -> bool:
    return tool.get("type") in (None, "custom")


def tools(body: dict[str, Any]) -> list[Tool]:
    """The request's own (custom) tools."""
    return [Tool(str(t.get("name", "")), str(t.get("description") or ""),
                 t.get("input_schema") if isinstance(t.get("input_schema"), dict) else {})
            for t in body.get("tools") or () if isinstance(t, dict) and is_custom(t)]


def server_tool(body: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """The declared server tool of `kind` ("web_search" or "web_fetch"), if any."""
    for tool in body.get("tools") or ():
        if isinstance(tool, dict) and str(tool.get("type", "")).startswith(kind + "_"):
            return tool
    return None


def choice(body: dict[str, Any]) -> Choice:
    raw = body.get("tool_choice") if isinstance(body.get("tool_choice"), dict) else {}
    return Choice(str(raw.get("type") or "auto"), raw.get("name"),
                  not raw.get("disable_parallel_tool_use"))


def tool_prompt_tokens(body: dict[str, Any], model: str) -> int:
    """The tool-use system prompt a Messages request's tools and tool_choice add."""
    return tool_prompt(body.get("tools"), model, choice(body).forced)


def blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content or () if isinstance(b, dict)]


def text_of(content: Any) -> str:
    """A tool result's or a turn's text (images and documents are left out)."""
    if isinstance(content, str):
        return content
    return " ".join(str(b.get("text", "")) for b in content or ()
                    if isinstance(b, dict) and b.get("type") == "text")


def turn(body: dict[str, Any]) -> Turn:
    """The prompt that started the tool loop, the tools called since, and the last results."""
    messages = [m for m in body.get("messages") or () if isinstance(m, dict)]
    start = max((i for i, m in enumerate(messages) if m.get("role") == "user" and any(
        b.get("type") != "tool_result" for b in blocks(m))), default=0)
    prompt = text_of(messages[start].get("content")) if messages else ""
    called = tuple(str(b.get("name")) for m in messages[start + 1:] if m.get("role") == "assistant"
                   for b in blocks(m) if b.get("type") == "tool_use")
    last = messages[-1] if messages else {}
    if last.get("role") != "user" or len(messages) < 2:
        return Turn(prompt, called)
    names = {b.get("id"): str(b.get("name")) for b in blocks(messages[-2])
             if b.get("type") == "tool_use"}
    results = tuple(Result(names.get(b.get("tool_use_id"), "the tool"), text_of(b.get("content")),
                           bool(b.get("is_error")))
                    for b in blocks(last) if b.get("type") == "tool_result")
    return Turn(prompt, called, results)


def problem(body: dict[str, Any], beta: str = "") -> str | None:
    """Why Anthropic refuses the request's tools, tool turns or output format, else None."""
    return (_tools_problem(body) or _choice_problem(body) or _results_problem(body)
            or _format_problem(body, beta))


def _tools_problem(body: dict[str, Any]) -> str | None:
    declared = body.get("tools")
    if declared is None:
        return None
    if not isinstance(declared, list) or not all(isinstance(t, dict) for t in declared):
        return "tools: Input should be a valid list"
    for index, tool in enumerate(declared):
        if not is_custom(tool):
            continue
        if not isinstance(tool.get("name"), str) or not tool["name"]:
            return f"tools.{index}.custom.name: Field required"
        if not isinstance(tool.get("input_schema"), dict):
            return f"tools.{index}.custom.input_schema: Field required"
        if tool.get("strict"):
            found = anthropic_problem(tool["input_schema"], f"tools.{index}.custom.input_schema")
            if found:
                return found
    return None


def _choice_problem(body: dict[str, Any]) -> str | None:
    raw = body.get("tool_choice")
    if raw is None:
        return None
    if not isinstance(raw, dict) or raw.get("type") not in CHOICES:
        return "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'"
    names = [str(t.get("name")) for t in body.get("tools") or () if isinstance(t, dict)]
    if raw["type"] in ("any", "tool") and not names:
        return "tool_choice may only be specified while providing tools."
    if raw["type"] == "tool" and raw.get("name") not in names:
        return f"tool_choice.name: Tool '{raw.get('name')}' not found in the request's tools"
    info = default_catalog().get(str(body.get("model")))
    if raw["type"] in ("any", "tool") and info is not None and (
            info.accepts.forced_tool_choice is False):
        return (f"tool_choice: '{raw['type']}' is not supported by {info.id}; use 'auto' or "
                f"'none'")
    return None


def _results_problem(body: dict[str, Any]) -> str | None:
    """Anthropic's rules for tool turns: results answer the previous turn's calls, all of them,
    at the start of the next user message."""
    messages = [m for m in body.get("messages") or () if isinstance(m, dict)]
    for index, message in enumerate(messages):
        content = blocks(message)
        if message.get("role") == "user":
            before = messages[index - 1] if index else {}
            asked = {b.get("id") for b in blocks(before) if b.get("type") == "tool_use"} if (
                before.get("role") == "assistant") else set()
            for at, block in enumerate(content):
                if block.get("type") == "tool_result" and block.get("tool_use_id") not in asked:
                    return (f"messages.{index}.content.{at}: unexpected `tool_use_id` found in "
                            f"`tool_result` blocks: {block.get('tool_use_id')}. Each "
                            f"`tool_result` block must have a corresponding `tool_use` block in "
                            f"the previous message.")
        calls = [b.get("id") for b in content if b.get("type") == "tool_use"]
        if message.get("role") != "assistant" or not calls or index + 1 == len(messages):
            continue
        following = blocks(messages[index + 1])
        answered = [b.get("tool_use_id") for b in following if b.get("type") == "tool_result"]
        missing = [c for c in calls if c not in answered]
        if missing:
            return (f"messages.{index}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {', '.join(map(str, missing))}. Each `tool_use` block "
                    f"must have a corresponding `tool_result` block in the next message.")
        leading = 0
        while leading < len(following) and following[leading].get("type") == "tool_result":
            leading += 1
        if leading < len(calls):
            return (f"messages.{index + 1}: Did not find {len(calls)} `tool_result` block(s) at "
                    f"the beginning of this message. Messages following `tool_use` blocks must "
                    f"begin with a matching number of `tool_result` blocks.")
    return None


def output_schema(body: dict[str, Any]) -> tuple[str, Any] | None:
    """(where, schema) of a requested JSON output: `output_config.format`, or the older
    top-level `output_format`."""
    config = body.get("output_config") if isinstance(body.get("output_config"), dict) else {}
    for where, fmt in (("output_config.format", config.get("format")),
                       ("output_format", body.get("output_format"))):
        if fmt is not None:
            return where, fmt
    return None


def _format_problem(body: dict[str, Any], beta: str) -> str | None:
    found = output_schema(body)
    if found is None:
        return None
    where, fmt = found
    if where == "output_format" and OUTPUT_FORMAT_BETA not in beta:
        return (f"output_format: Extra inputs are not permitted (send the anthropic-beta header "
                f"{OUTPUT_FORMAT_BETA}, or use output_config.format)")
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return f"{where}.type: Input should be 'json_schema'"
    if "schema" not in fmt:
        return f"{where}.schema: Field required"
    return anthropic_problem(fmt["schema"], f"{where}.schema")
