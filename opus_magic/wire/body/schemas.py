"""JSON schemas fitted to what each API's structured outputs take: fixed where that is safe,
refused in one line where it is not.

Claude (`output_config.format`): every object needs `additionalProperties: false` (added where
it is missing), no recursive schema, and none of the numeric, length or item-count constraints
(dropped from what is sent; the answer is still checked against them). OpenAI's strict mode
(`response_format` json_schema): the root is an object, every object has `additionalProperties:
false` (added) and lists every property in `required` (an optional property is made required
and nullable; a null it gets back counts as absent). A free-form mapping (`additionalProperties`
a schema or true) cannot be fixed safely under either.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from opus_magic.errors import SchemaRefused
from opus_magic.schema_walk import is_object, recursive, walk

DROPPED_BY_CLAUDE = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
                     "minLength", "maxLength", "maxItems")


@dataclass(frozen=True)
class Fitted:
    """The schema as it will be sent, and one note per kind of fix made to it."""

    schema: dict[str, Any]
    notes: tuple[str, ...] = ()


def _closed(name: str, schema: dict[str, Any], api: str, feature: str) -> list[str]:
    """Set `additionalProperties: false` on every object that does not say; a note when some
    were added, SchemaRefused for an object that takes any property."""
    added = 0
    for where, sub in walk(schema):
        if not is_object(sub):
            continue
        extra = sub.get("additionalProperties")
        if extra is None:
            sub["additionalProperties"] = False
            added += 1
        elif extra is not False:
            place = ".".join(where) or "the root"
            raise SchemaRefused(
                f"Schema {name}: {place} is a free-form mapping (additionalProperties "
                f"{'true' if extra is True else 'a schema'}), which {api}'s {feature} cannot "
                f"take: give it fixed properties.")
    objects = "1 object" if added == 1 else f"{added} objects"
    return [f"Schema {name}: additionalProperties false added to {objects} ({api}'s {feature} "
            f"require{'s' if feature == 'strict mode' else ''} it)."] if added else []


def for_claude(name: str, schema: dict[str, Any]) -> Fitted:
    """The schema as Claude's structured outputs take it, or SchemaRefused."""
    if recursive(schema):
        raise SchemaRefused(f"Schema {name} is recursive (a $ref leads back into itself): "
                            f"Claude's structured outputs take no recursive schema: flatten it to a "
                            f"fixed depth.")
    fitted = copy.deepcopy(schema)
    notes = _closed(name, fitted, "Claude", "structured outputs")
    dropped = sorted({key for _, sub in walk(fitted) for key in _drop(sub)})
    if dropped:
        notes.append(f"Schema {name}: {', '.join(dropped)} not sent (Claude's structured outputs "
                     f"take none); the answer is still checked against them.")
    return Fitted(fitted, tuple(notes))


def _drop(sub: dict[str, Any]) -> list[str]:
    """Remove the constraints Claude refuses from one subschema; their names."""
    gone = [key for key in DROPPED_BY_CLAUDE if sub.pop(key, None) is not None]
    if isinstance(sub.get("minItems"), int) and sub["minItems"] > 1:
        gone.append("minItems")
        del sub["minItems"]
    return gone


def for_openai(name: str, schema: dict[str, Any]) -> Fitted:
    """The schema as OpenAI's strict mode takes it, or SchemaRefused."""
    if not is_object(schema):
        raise SchemaRefused(f"Schema {name} is not an object: OpenAI's strict structured outputs "
                            f"need an object at the root: wrap it in one, e.g. {{\"items\": ...}}.")
    fitted = copy.deepcopy(schema)
    notes = _closed(name, fitted, "OpenAI", "strict mode")
    optional = [prop for _, sub in walk(fitted) if is_object(sub)
                for prop in _all_required(sub)]
    if optional:
        notes.append(f"Schema {name}: {', '.join(optional)} made required and nullable (strict "
                     f"mode requires every property); a null answer counts as absent.")
    return Fitted(fitted, tuple(notes))


def _all_required(sub: dict[str, Any]) -> list[str]:
    """Make every property of an object required, the optional ones nullable; their names."""
    required = list(sub.get("required") or ())
    optional = [name for name in sub.get("properties") or {} if name not in required]
    for name in optional:
        sub["properties"][name] = nullable(sub["properties"][name])
    if optional or "required" not in sub:
        sub["required"] = [*required, *optional]
    return optional


def nullable(schema: Any) -> dict[str, Any]:
    """`schema` that also takes null."""
    if not isinstance(schema, dict):
        return {"anyOf": [{}, {"type": "null"}]}
    kind = schema.get("type")
    if isinstance(kind, str) and "enum" not in schema:
        return {**schema, "type": [kind, "null"]}
    if isinstance(kind, list):
        return {**schema, "type": [*kind, *([] if "null" in kind else ["null"])]}
    if isinstance(schema.get("anyOf"), list):
        return {**schema, "anyOf": [*schema["anyOf"], {"type": "null"}]}
    return {"anyOf": [schema, {"type": "null"}]}
