"""Walking a JSON schema: every subschema with the path to it, which ones are objects, and
whether a `$ref` leads back into itself. The wire fits schemas to an API with it, the simulator
refuses the ones an API refuses."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

SUBSCHEMA_MAPS = ("properties", "$defs", "definitions")
SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf")
Path = tuple[str, ...]


def walk(schema: Any, where: Path = ()) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every subschema of `schema` (itself first) with the path to it, e.g. ('properties',
    'address')."""
    if not isinstance(schema, dict):
        return
    yield where, schema
    for key in SUBSCHEMA_MAPS:
        for name, sub in (schema.get(key) or {}).items():
            yield from walk(sub, (*where, key, name))
    for key in SUBSCHEMA_LISTS:
        for index, sub in enumerate(schema.get(key) or ()):
            yield from walk(sub, (*where, key, str(index)))
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from walk(schema[key], (*where, key))


def is_object(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind) or (
        kind is None and "properties" in schema)


def recursive(root: dict[str, Any]) -> bool:
    """Whether some `$ref` leads back to a schema that contains it."""
    def target(ref: str) -> Any:
        node: Any = root
        for part in [p for p in ref[1:].split("/") if p]:
            node = node.get(part) if isinstance(node, dict) else None
        return node

    def visit(schema: Any, seen: tuple[str, ...]) -> bool:
        for _, sub in walk(schema):
            ref = sub.get("$ref")
            if isinstance(ref, str) and ref.startswith("#") and (
                    ref == "#" or ref in seen or visit(target(ref), (*seen, ref))):
                return True
        return False

    return visit({k: v for k, v in root.items() if k not in ("$defs", "definitions")}, ())
