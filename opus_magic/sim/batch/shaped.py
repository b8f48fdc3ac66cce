"""Batch requests that declare tools or ask for a schema, answered as the interactive APIs
answer them: Messages requests as whole messages (`tool_use` blocks, JSON text), chat requests
with `tool_calls` or JSON; None for every other request (the batch engine's own prose)."""
from __future__ import annotations

import secrets
from typing import Any

from opus_magic.sim.chat import tools as chat_tools
from opus_magic.sim.content.text import usage_body
from opus_magic.sim.native import tools as native_tools
from opus_magic.sim.native.answer import Answer
from opus_magic.sim.native.cache import NativeUsage, count


def shaped(api: str, request: dict[str, Any], settings: Any, cache: Any) -> dict[str, Any] | None:
    """The result of a request with tools or a schema, else None."""
    model = request["model"]
    if api == "anthropic":
        if not (native_tools.tools(request) or native_tools.output_schema(request)):
            return None
        answer = Answer(request, NativeUsage(count(request, model), 0, 0, 0),
                        settings.answer_tokens, None)
        return {"type": "succeeded", "model": model,
                "message": answer.message(f"msg_{secrets.token_hex(12)}")}
    if not (request.get("tools") or request.get("response_format")):
        return None
    reply = chat_tools.reply(request, model, None)
    if reply is None:
        return None
    completion = (chat_tools.completion_tokens(reply.calls, model) if reply.calls
                  else len(reply.chunks or []))
    usage = usage_body(cache.usage(model, request["messages"], request.get("tools")), completion,
                       settings.usage_scale)
    return {"type": "succeeded", "model": model, "text": "".join(reply.chunks or []),
            "finish": "tool_calls" if reply.calls else reply.finish or "stop", "usage": usage,
            "tool_calls": [{"id": call.id, "type": "function", "function": {
                "name": call.name, "arguments": chat_tools.arguments(call)}}
                for call in reply.calls]}
