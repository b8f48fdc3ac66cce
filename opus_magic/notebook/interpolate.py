"""`{name}` interpolation from a namespace that leaves everything else exactly as written."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

FIELD = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[-?\d+\]"
                   r"|\['[^'\]]*'\]|\[\"[^\"\]]*\"\])*)\}")
STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(-?\d+)\]|\['([^'\]]*)'\]|\[\"([^\"\]]*)\"\]")
MISSING = object()


def _lookup(expr: str, namespace: Mapping[str, Any]) -> Any:
    head = re.match(r"[A-Za-z_][A-Za-z0-9_]*", expr)
    assert head is not None
    value = namespace.get(head.group(), MISSING)
    for step in STEP.finditer(expr, head.end()):
        if value is MISSING:
            break
        attr, index, key1, key2 = step.groups()
        try:
            if attr is not None:
                value = MISSING if attr.startswith("_") else getattr(value, attr)
            elif index is not None:
                value = value[int(index)]
            else:
                value = value[key1 if key1 is not None else key2]
        except (AttributeError, LookupError, TypeError, ValueError):
            value = MISSING
    return value


def interpolate(text: str, namespace: Mapping[str, Any]) -> tuple[str, list[str]]:
    """Fill `{name}`, `{name.attr}`, `{name[0]}`; `{{`/`}}` are literal braces.

    Returns the text and the `{...}` fields left as written because they are not defined.
    """
    unresolved: list[str] = []

    def fill(match: re.Match[str]) -> str:
        token = match.group()
        if token in ("{{", "}}"):
            return token[0]
        value = _lookup(match.group(1), namespace)
        if value is MISSING:
            unresolved.append(token)
            return token
        return str(value)

    return FIELD.sub(fill, text), unresolved


# The flags whose values are text a user may fill from the notebook (`-s {manual}`); names of
# notebook values (--each, --tools, --schema ...) and grid row fields (--attach {path}) are not.
FLAG_VALUES = ("model", "max_tokens", "temperature", "system", "tag", "profile", "continue_",
               "thinking", "effort", "web_search", "max_steps", "tool_timeout", "concurrency")


def interpolate_flags(args: Any, namespace: Mapping[str, Any]) -> list[str]:
    """Fill `{name}`s in the text flags of a parsed `%%opus` line, after it was split into words
    (so a multi-line value needs no quotes and is never split); returns the fields left as
    written."""
    unresolved: list[str] = []
    for name in FLAG_VALUES:
        value = getattr(args, name, None)
        if isinstance(value, str):
            filled, missing = interpolate(value, namespace)
            setattr(args, name, filled)
            unresolved += missing
    return unresolved
