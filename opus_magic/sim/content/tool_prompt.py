"""The tool-use system prompt Anthropic adds to a request that declares any tool (both formats)."""
from __future__ import annotations

from typing import Any

from opus_magic.cost.catalog import default_catalog


def tool_prompt_tokens(tools: Any, model: str, forced: bool = False) -> int:
    """The catalog's figure for the model (forced: tool_choice any or tool), 0 without tools or
    for a model the catalog does not know."""
    if not tools:
        return 0
    info = default_catalog().get(model)
    if info is None or info.tool_prompt is None:
        return 0
    return info.tool_prompt.tokens(forced) or info.tool_prompt.auto
