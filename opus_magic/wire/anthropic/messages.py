"""The wire for Claude's native Messages API over httpx2, read as raw lines.

The event stream is read line by line and parsed with `json.loads` (the SDK's typed stream costs
~100× that per event, and importing the SDK 1.4 s on a first cell). Requests are sent as
anthropic-version 2026-10-21, the version the current SDK sends, except those that carry a
temperature: that version rejects temperature, top_p and top_k, so they go as 2023-06-01, the
version that still takes them (models that take only their default sampling refuse them in any
version: cost/capabilities.py says so before sending).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opus_magic.cost.capabilities import SAMPLING_PARAMS
from opus_magic.errors import RequestError, StreamInterrupted
from opus_magic.wire.anthropic.stream import MessagesState
from opus_magic.wire.body.attachments import cache_control
from opus_magic.wire.body.attachments import messages_turns as with_attachments
from opus_magic.wire.body.request import ServerTool, WireRequest
from opus_magic.wire.body.schemas import Fitted, for_claude
from opus_magic.wire.body.tool_turns import messages_turns
from opus_magic.wire.client import Response, key_of, post
from opus_magic.wire.endpoints import Endpoint
from opus_magic.wire.explain import Hold

API_VERSION = "2026-10-21"
SERVER_TOOL_TYPES = {"web_search": "web_search_20260318", "web_fetch": "web_fetch_20260318"}
SAMPLING_VERSION = "2023-06-01"  # the last version that takes temperature, top_p and top_k


def api_root(base_url: str) -> str:
    """The API's root, without `/v1` (paths are appended with it); users give either."""
    root = base_url.rstrip("/")
    return root[:-3] if root.endswith("/v1") else root


def version_of(body: dict[str, Any] | None) -> str:
    """The anthropic-version a body is sent as: the newest, unless it sets a temperature."""
    sampled = body is not None and any(key in body for key in SAMPLING_PARAMS)
    return SAMPLING_VERSION if sampled else API_VERSION


def headers(endpoint: Endpoint, body: dict[str, Any] | None = None) -> dict[str, str]:
    """What every Messages request carries: the key and the API version its body needs."""
    return {"x-api-key": key_of(endpoint) or "no-key", "anthropic-version": version_of(body)}


def request_body(request: WireRequest) -> dict[str, Any]:
    """A Messages body from OpenAI-format messages and tools (tool turns as `tool_use` and
    `tool_result` blocks), each user turn's attachments before its text, with `cache_control`
    on each of the request's breakpoints: "tools" (the last tool), "system", "attachments" (the
    last attachment), "turn" (the end of the previous turn); the schema the answer must follow
    in `output_config.format`, server tools after the notebook's own."""
    mark, breakpoints = cache_control(request.ttl), request.breakpoints
    messages = request.messages
    system = " ".join(str(m.get("content") or "") for m in messages if m.get("role") == "system")
    turns = messages_turns(with_attachments(
        [m for m in messages if m.get("role") != "system"], request.attachments,
        request.ttl if "attachments" in breakpoints else None))
    if "turn" in breakpoints and len(turns) > 1:
        turns[-2] = {**turns[-2], "content": _marked(turns[-2]["content"], mark)}
    body: dict[str, Any] = {"model": request.model, "max_tokens": request.max_tokens,
                            "messages": turns}
    if system:
        body["system"] = _marked(system, mark) if "system" in breakpoints else system
    body.update(_tools(request, mark))
    body.update(_options(request))
    if request.stream:
        body["stream"] = True
    return body


def _tools(request: WireRequest, mark: dict[str, str]) -> dict[str, Any]:
    """The declared tools (the notebook's, then server tools), the last one marked for caching
    where asked, and one tool call a turn where parallel calls are off."""
    declared = ([native_tool(tool) for tool in request.tools or ()]
                + [server_tool(t) for t in request.server_tools])
    if not declared:
        return {}
    if "tools" in request.breakpoints:
        declared[-1]["cache_control"] = mark
    part: dict[str, Any] = {"tools": declared}
    if request.tools and not request.parallel_tools:
        part["tool_choice"] = {"type": "auto", "disable_parallel_tool_use": True}
    return part


def _options(request: WireRequest) -> dict[str, Any]:
    """Thinking, effort and the answer's schema (`output_config`), and a temperature."""
    options: dict[str, Any] = {}
    thinking = request.thinking
    if thinking is not None:
        options["thinking"] = ({"type": "adaptive"} if thinking == "adaptive"
                               else {"type": "enabled", "budget_tokens": int(thinking)})
    output = request.output
    config = {**({"effort": request.effort} if request.effort is not None else {}),
              **({"format": {"type": "json_schema", "schema": output.schema}} if output else {})}
    if config:
        options["output_config"] = config
    if request.temperature is not None:
        options["temperature"] = request.temperature
    return options


def _marked(content: Any, mark: dict[str, str]) -> list[dict[str, Any]]:
    """Content as text blocks, the last one carrying the cache breakpoint."""
    blocks = ([dict(b) for b in content] if isinstance(content, list)
              else [{"type": "text", "text": str(content)}])
    blocks[-1]["cache_control"] = mark
    return blocks


def native_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI-format function tool as a Messages tool (name, description, input_schema)."""
    function = tool.get("function", tool)
    native = {"name": function.get("name", ""),
              "input_schema": function.get("parameters") or function.get("input_schema")
              or {"type": "object", "properties": {}}}
    if function.get("description"):
        native["description"] = function["description"]
    return native


def server_tool(tool: ServerTool) -> dict[str, Any]:
    """A server tool as Messages declares it: web search with its `max_uses`, web fetch."""
    declared: dict[str, Any] = {"type": SERVER_TOOL_TYPES[tool.name], "name": tool.name}
    if tool.max_uses is not None:
        declared["max_uses"] = tool.max_uses
    return declared


def open_response(endpoint: Endpoint, body: dict[str, Any], timeout_s: float,
                  hold: Hold | None = None,
                  opened: Callable[[Response], None] | None = None) -> Response:
    """Send one Messages request (no retries here) and return the response once the answer has
    begun, or raise RequestError; each `data:` line names its event's type, so `event:` lines
    are skipped."""
    response = post(endpoint, api_root(endpoint.base_url) + "/v1/messages",
                    headers(endpoint, body), body, timeout_s, hold)
    if opened is not None:
        opened(response)
    response.read_to_first_answer()
    return response


def count_tokens(endpoint: Endpoint, body: dict[str, Any], timeout_s: float) -> int:
    """Exact input tokens of a Messages body from the free `/v1/messages/count_tokens`."""
    left_out = ("max_tokens", "stream", *SAMPLING_PARAMS)  # count_tokens takes no sampling
    fields = {k: v for k, v in body.items() if k not in left_out}
    response = post(endpoint, api_root(endpoint.base_url) + "/v1/messages/count_tokens",
                    headers(endpoint), fields, timeout_s, None)
    try:
        counted = next(response.chunks(), {})
    except StreamInterrupted as exc:  # a stall too (StreamTimedOut is one)
        raise RequestError(f"count_tokens failed: {exc}") from None
    finally:
        response.close()
    if not isinstance(counted.get("input_tokens"), int):
        raise RequestError("count_tokens answered without input_tokens.")
    return counted["input_tokens"]


class Messages:
    """Claude's native Messages API: cache breakpoints, thinking, effort and exact counts."""

    api = "anthropic"
    caches = True
    counts = True
    files = True

    def version_for(self, body: dict[str, Any] | None) -> str | None:
        return version_of(body)

    def body(self, request: WireRequest) -> dict[str, Any]:
        return request_body(request)

    def fit_schema(self, name: str, schema: dict[str, Any]) -> Fitted:
        return for_claude(name, schema)

    def open(self, endpoint: Endpoint, body: dict[str, Any], timeout_s: float,
             hold: Hold | None = None,
             opened: Callable[[Response], None] | None = None) -> Response:
        return open_response(endpoint, body, timeout_s, hold, opened)

    def state(self) -> MessagesState:
        return MessagesState()

    def count(self, endpoint: Endpoint, body: dict[str, Any], timeout_s: float) -> int:
        return count_tokens(endpoint, body, timeout_s)


MESSAGES = Messages()
