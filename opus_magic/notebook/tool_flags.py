"""The flags of tools that run, server tools and answers with a shape, read from a `%%opus` line
into the cell's fields (each problem a one-line UsageError)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opus_magic.core.schema.spec import OutputSchema, schema_from
from opus_magic.core.tools.namespace import toolbox_from
from opus_magic.core.tools.toolbox import LOOP_STEPS, TOOL_TIMEOUT_S, LoopSettings
from opus_magic.errors import UsageError
from opus_magic.wire.body.request import ServerTool

LOOP_FLAGS = ("max_steps", "approve", "tool_timeout", "no_parallel")


def tool_fields(args: Any, namespace: Mapping[str, Any]) -> dict[str, Any]:
    """`tools`, `loop`, `schema`, `server_tools` and `parallel_tools` of a CellInput."""
    if args.each and args.approve:
        raise UsageError("--approve asks before each call; a grid runs its loops without "
                         "asking: drop --approve, or try the prompt on one row first.")
    tools = toolbox_from(namespace, args.tools) if args.tools else None
    server = server_tools(args.web_search, args.web_fetch)
    loop = LoopSettings(max_steps=_whole("--max-steps", args.max_steps, LOOP_STEPS),
                        tool_timeout_s=_seconds(args.tool_timeout),
                        approve=bool(args.approve))
    given = [f"--{name.replace('_', '-')}" for name in LOOP_FLAGS if getattr(args, name)]
    if given and not ((tools is not None and tools.runnable) or server):
        raise UsageError(f"{', '.join(given)} steer a tool loop: pass notebook functions with "
                         f"--tools (or use --web-search), e.g. --tools get_weather.")
    return {"tools": tools, "loop": loop, "server_tools": server,
            "parallel_tools": not args.no_parallel,
            "schema": output_schema(args.schema, namespace) if args.schema else None}


def server_tools(searches: str | None, fetch: bool) -> tuple[ServerTool, ...]:
    """`--web-search N` (at most N searches a call) and `--web-fetch`."""
    found = []
    if searches is not None:
        found.append(ServerTool("web_search", _whole("--web-search", searches, 1)))
    if fetch:
        found.append(ServerTool("web_fetch"))
    return tuple(found)


def output_schema(given: str, namespace: Mapping[str, Any]) -> OutputSchema:
    """`--schema VAR` (a pydantic model, a dict, or a string in the concise syntax) or the concise
    syntax itself."""
    if given.isidentifier() and given in namespace:
        return schema_from(namespace[given], given)
    if given.isidentifier() and given[:1].isupper():
        raise UsageError(f"--schema {given}: no such variable in the notebook; define the model "
                         f"(class {given}(pydantic.BaseModel): ...) first, or write the fields: "
                         f"--schema 'name, age int'.")
    return schema_from(given)


def _whole(flag: str, value: str | None, default: int) -> int:
    if value is None:
        return default
    if not value.isdigit() or int(value) < 1:
        raise UsageError(f"{flag} {value}: use a whole number of 1 or more, e.g. {flag} 3.")
    return int(value)


def _seconds(value: str | None) -> float:
    if value is None:
        return TOOL_TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise UsageError(f"--tool-timeout {value}: use a number of seconds above 0, e.g. 30.")
    return seconds
