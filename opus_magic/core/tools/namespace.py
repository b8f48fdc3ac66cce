"""`--tools NAME[,NAME...]`: notebook functions, lists of them, or definition dicts, as a cell's
Toolbox. Functions run; a tool given only as a definition is sent and its calls are shown."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opus_magic.core.tools.definitions import SHAPE, validate
from opus_magic.core.tools.toolbox import Tool, Toolbox, describe
from opus_magic.errors import UsageError


def toolbox_from(namespace: Mapping[str, Any], names: str) -> Toolbox:
    """The tools named by `--tools` (comma-separated notebook names), checked."""
    definitions: list[dict[str, Any]] = []
    functions: dict[str, Tool] = {}
    for name in (n.strip() for n in names.split(",")):
        if not name or name not in namespace:
            raise UsageError(f"--tools {name or names}: no variable '{name}' in the notebook; "
                             f"define the function (or a list of tool definitions) first.")
        value = namespace[name]
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if not items:
            raise UsageError(f"--tools {name}: the list is empty; put functions or tool "
                             f"definitions in it ({SHAPE}).")
        for item in items:
            if callable(item):
                tool, definition = describe(item)
                functions[tool.name] = tool
                definitions.append(definition)
            else:
                definitions += validate([item], name)
    validate(definitions, names)  # every name once, across the variables named
    return Toolbox(tuple(definitions), functions)
