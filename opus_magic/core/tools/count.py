"""What a request's tools add to its input, counted exactly where the API counts for free."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opus_magic.core.run.request import RunRequest
from opus_magic.core.run.target import Target
from opus_magic.errors import RequestError
from opus_magic.wire.body.request import WireRequest
from opus_magic.wire.endpoints import Endpoint

ExactCounter = Callable[[Endpoint, dict[str, Any], float], int]


def exact_tool_tokens(count: ExactCounter, target: Target, request: RunRequest,
                      timeout_s: float) -> int | None:
    """The tool definitions and the tool-use system prompt, as the provider counts them: a
    one-word request with the tools less the same without (each count asked once a session);
    None without tools, or when a count fails."""
    if not (request.tools or request.server_tools):
        return None

    def probe(tools: bool) -> dict[str, Any]:
        return target.transport.body(WireRequest(
            model=target.wire_model, messages=[{"role": "user", "content": "."}], max_tokens=1,
            stream=False, tools=request.tools if tools else None,
            server_tools=request.server_tools if tools else (),
            parallel_tools=request.parallel_tools))

    try:
        return (count(target.endpoint, probe(True), timeout_s)
                - count(target.endpoint, probe(False), timeout_s))
    except RequestError:
        return None
