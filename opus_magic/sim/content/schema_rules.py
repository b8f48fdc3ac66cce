"""The JSON schemas each provider refuses for structured outputs and strict tools (400s).

Anthropic (`output_config.format`, the older `output_format`, and tools with `strict: true`):
no recursive schema, `additionalProperties: false` on every object, and none of the numeric,
string-length or array-size constraints (minItems 0 or 1 excepted). OpenAI in strict mode
(`response_format` json_schema with `strict: true`, functions with `strict: true`): the root is
an object, and every object has `additionalProperties: false` and lists every property in
`required`; recursion is allowed there.
"""
from __future__ import annotations

from typing import Any

from opus_magic.schema_walk import is_object, recursive, walk

UNSUPPORTED = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
               "minLength", "maxLength", "maxItems")


def anthropic_problem(schema: Any, where: str) -> str | None:
    """Why Anthropic refuses `schema` (the message of its 400), or None; `where` names the field,
    e.g. "output_config.format.schema"."""
    if not isinstance(schema, dict):
        return f"{where}: Input should be a valid dictionary"
    if recursive(schema):
        return f"{where}: Recursive schemas are not supported"
    for _, sub in walk(schema):
        kind = sub.get("type", "object" if is_object(sub) else "any")
        if is_object(sub) and sub.get("additionalProperties") is not False:
            return (f"{where}: For 'object' type, 'additionalProperties' must be explicitly set "
                    f"to false")
        for keyword in UNSUPPORTED:
            if keyword in sub:
                return f"{where}: For '{kind}' type, property '{keyword}' is not supported"
        if isinstance(sub.get("minItems"), int) and sub["minItems"] > 1:
            return (f"{where}: For 'array' type, 'minItems' values other than 0 or 1 are not "
                    f"supported")
    return None


def openai_strict_problem(schema: Any, what: str) -> str | None:
    """Why OpenAI's strict mode refuses `schema`, or None; `what` is e.g.
    "response_format 'Ticket'" or "function 'get_weather'"."""
    head = f"Invalid schema for {what}:"
    if not isinstance(schema, dict) or not is_object(schema):
        kind = schema.get("type") if isinstance(schema, dict) else type(schema).__name__
        return f"{head} schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{kind}\"'."
    for context, sub in walk(schema):
        if not is_object(sub):
            continue
        where = "(" + ", ".join(repr(part) for part in context) + ("," if len(context) == 1
                                                                    else "") + ")"
        if sub.get("additionalProperties") is not False:
            return (f"{head} In context={where}, 'additionalProperties' is required to be "
                    f"supplied and to be false.")
        missing = [name for name in sub.get("properties") or {}
                   if name not in (sub.get("required") or ())]
        if missing:
            return (f"{head} In context={where}, 'required' is required to be supplied and to be "
                    f"an array including every key in properties. Missing '{missing[0]}'.")
    return None
