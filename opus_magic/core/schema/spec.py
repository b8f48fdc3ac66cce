"""`--schema`: a pydantic model, the concise syntax (`'name, age int, bio: a short bio'`), or a
JSON-schema dict, as the one JSON schema sent and checked.

The concise syntax is simonw/llm's: fields separated by commas (by newlines when there are
any), each `name [type][: description]` with the type one of str (the default), int, float,
bool; every field is required.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opus_magic.errors import UsageError

TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}
FIELD = re.compile(r"^\s*([A-Za-z_][\w-]*)(?:\s+(\w+))?\s*(?::\s*(.*?))?\s*$")
NAME = re.compile(r"[^A-Za-z0-9_-]+")
CONCISE_NAME = "answer"


@dataclass(frozen=True)
class OutputSchema:
    """The schema an answer must follow: its name (sent with it where the API wants one), the
    JSON schema, and the pydantic model it came from, if any (`-o` then gets an instance)."""

    name: str
    json_schema: dict[str, Any]
    model: Any = None

    @property
    def fields(self) -> tuple[str, ...]:
        """The top-level properties: a grid makes each a column."""
        return tuple(self.json_schema.get("properties") or ())

    def value(self, parsed: Any) -> Any:
        """What `-o` gets for a valid answer: the model's instance, or the parsed JSON."""
        return parsed if self.model is None else self.model.model_validate(parsed)


def is_model(value: Any) -> bool:
    """Whether `value` is a pydantic model class."""
    return isinstance(value, type) and hasattr(value, "model_json_schema") and hasattr(
        value, "model_validate")


def schema_from(value: Any, name: str = CONCISE_NAME) -> OutputSchema:
    """The OutputSchema of a pydantic model, a concise-syntax string or a JSON-schema dict;
    UsageError naming what is wrong otherwise."""
    if is_model(value):
        return OutputSchema(safe_name(value.__name__), value.model_json_schema(), value)
    if isinstance(value, str):
        return OutputSchema(safe_name(name), concise(value))
    if isinstance(value, Mapping):
        schema = dict(value)
        if not isinstance(schema.get("type", "object"), (str, list)):
            raise UsageError(f"--schema {name}: its \"type\" must be a JSON-schema type name.")
        return OutputSchema(safe_name(str(schema.get("title") or name)), schema)
    raise UsageError(f"--schema {name}: use a pydantic model class, a JSON-schema dict, or the "
                     f"concise syntax, e.g. --schema 'name, age int, bio: a short bio' (got "
                     f"{type(value).__name__}).")


def safe_name(name: str) -> str:
    """A schema name the APIs take: letters, digits, _ and -, at most 64."""
    return NAME.sub("_", name).strip("_")[:64] or CONCISE_NAME


def concise(text: str) -> dict[str, Any]:
    """The JSON schema of llm's concise syntax; UsageError on a field it cannot read."""
    parts = text.splitlines() if "\n" in text.strip() else text.split(",")
    properties: dict[str, Any] = {}
    for part in (p for p in parts if p.strip()):
        found = FIELD.match(part)
        kind = found.group(2) if found else None
        if found is None or (kind is not None and kind not in TYPES):
            raise UsageError(f"--schema: cannot read the field {part.strip()!r}: write "
                             f"`name [type][: description]`, the type one of "
                             f"{', '.join(TYPES)}, e.g. 'name, age int, bio: a short bio'.")
        prop: dict[str, Any] = {"type": TYPES[kind or "str"]}
        if found.group(3):
            prop["description"] = found.group(3)
        properties[found.group(1)] = prop
    if not properties:
        raise UsageError("--schema: no fields given; e.g. --schema 'name, age int'.")
    return {"type": "object", "properties": properties, "required": list(properties)}
