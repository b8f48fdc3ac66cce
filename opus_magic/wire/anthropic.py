"""The wire for Claude's native Messages API, through the official anthropic SDK, read as raw lines.

The SDK builds the request, authenticates and maps HTTP errors to typed exceptions; the event
stream is read line by line and parsed with `json.loads` (the SDK's typed stream costs ~100× that
per event). Requests are sent as anthropic-version 2026-10-21, the version the SDK sends: it
rejects temperature, top_p and top_k, so those are refused before sending (cost/capabilities.py).
"""
from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from opus_magic.errors import RequestError
from opus_magic.wire.client import Response, answered, sdk_failure
from opus_magic.wire.endpoints import Endpoint
from opus_magic.wire.explain import Hold
from opus_magic.wire.scrub import KEY_LOGS

API_VERSION = "2026-10-21"
Thinking = int | str | None  # a budget in tokens, "adaptive", or None for no thinking


def sdk_root(base_url: str) -> str:
    """The SDK wants the host without `/v1` (it appends `/v1/messages`); users give either."""
    root = base_url.rstrip("/")
    return root[:-3] if root.endswith("/v1") else root


@functools.lru_cache(maxsize=16)
def _sdk_client(root: str, api_key: str, timeout_s: float) -> Any:
    import anthropic

    KEY_LOGS.guard(api_key)
    # The deprecation is said once, in our own words, by the plan (cost/capabilities.py).
    warnings.filterwarnings("ignore", message=".*thinking.type=enabled.* is deprecated")
    return anthropic.Anthropic(base_url=root, api_key=api_key, timeout=timeout_s, max_retries=0,
                               default_headers={"anthropic-version": API_VERSION})


def sdk_client(endpoint: Endpoint, timeout_s: float) -> Any:
    key = endpoint.api_key.reveal() if endpoint.api_key else "no-key"
    return _sdk_client(sdk_root(endpoint.base_url), key, timeout_s)


def cache_control(ttl: str) -> dict[str, str]:
    return {"type": "ephemeral", "ttl": ttl}


def request_body(model: str, messages: Sequence[dict[str, Any]], max_tokens: int, stream: bool,
                 tools: Sequence[dict[str, Any]] | None = None, thinking: Thinking = None,
                 effort: str | None = None, breakpoints: Sequence[str] = (),
                 ttl: str = "5m") -> dict[str, Any]:
    """A Messages body from OpenAI-format messages and tools, with `cache_control` on each of
    `breakpoints`: "tools" (the last tool), "system", "turn" (the end of the previous turn)."""
    mark = cache_control(ttl)
    system = " ".join(str(m.get("content") or "") for m in messages if m.get("role") == "system")
    turns = [{"role": m["role"], "content": m.get("content") or ""}
             for m in messages if m.get("role") != "system"]
    if "turn" in breakpoints and len(turns) > 1:
        turns[-2] = {**turns[-2], "content": _marked(turns[-2]["content"], mark)}
    body: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "messages": turns}
    if system:
        body["system"] = _marked(system, mark) if "system" in breakpoints else system
    if tools:
        body["tools"] = [native_tool(tool) for tool in tools]
        if "tools" in breakpoints:
            body["tools"][-1]["cache_control"] = mark
    if thinking is not None:
        body["thinking"] = ({"type": "adaptive"} if thinking == "adaptive"
                            else {"type": "enabled", "budget_tokens": int(thinking)})
    if effort is not None:
        body["output_config"] = {"effort": effort}
    if stream:
        body["stream"] = True
    return body


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


def open_response(endpoint: Endpoint, body: dict[str, Any], timeout_s: float,
                  hold: Hold | None = None,
                  opened: Callable[[Response], None] | None = None) -> Response:
    """Send one Messages request (no retries here) and return the response once the answer has
    begun, or raise RequestError; each `data:` line names its event's type, so `event:` lines
    are skipped."""
    import anthropic

    manager = sdk_client(endpoint, timeout_s).messages.with_streaming_response.create(**body)
    return answered(anthropic, manager, endpoint, body, timeout_s, hold, opened)


def count_tokens(endpoint: Endpoint, body: dict[str, Any], timeout_s: float) -> int:
    """Exact input tokens of a Messages body from the free `/v1/messages/count_tokens`."""
    import anthropic

    fields = {k: v for k, v in body.items() if k not in ("max_tokens", "stream")}
    try:
        counted = sdk_client(endpoint, timeout_s).messages.count_tokens(**fields)
    except anthropic.APIError as exc:
        failure = sdk_failure(anthropic, exc, endpoint, timeout_s, None)
        raise (failure if isinstance(failure, RequestError)
               else RequestError(f"count_tokens failed ({type(exc).__name__})")) from None
    return int(counted.input_tokens)
