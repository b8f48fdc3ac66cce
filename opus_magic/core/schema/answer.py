"""An answer checked against its schema: parsed and valid, or kept as text with why not.

Pydantic checks an answer asked for with a pydantic model, jsonschema any other schema. Where
OpenAI's strict mode made an optional property required and nullable (`wire/body/schemas.py`), a
null it got back counts as absent. An answer cut short (stop reason `max_tokens`, a refusal) is
usually not JSON at all: the error says the stop reason too.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from opus_magic.core.schema.spec import OutputSchema

FENCED = re.compile(r"```(?:json)?\s*(.*?)\s*```", re.DOTALL)
CUT = {"max_tokens": "the answer was cut at max_tokens", "length": "the answer was cut at "
       "max_tokens", "refusal": "the model refused", "content_filter": "a content filter cut it"}


@dataclass(frozen=True)
class Checked:
    """`parsed` (JSON) when the answer is valid, else `error`: one line on why not."""

    parsed: Any = None
    error: str | None = None


def check(text: str, schema: OutputSchema, finish_reason: str | None = None) -> Checked:
    """Parse `text` as JSON and check it against `schema`; never raises."""
    why = f" ({CUT[finish_reason]})" if finish_reason in CUT else ""
    raw = text.strip()
    fenced = FENCED.fullmatch(raw)
    try:
        value = json.loads(fenced.group(1) if fenced else raw)
    except ValueError as exc:
        return Checked(error=f"The answer is not JSON{why}: {exc}.")
    value = without_null_optionals(value, schema.json_schema)
    error = _model_error(value, schema) if schema.model is not None else _schema_error(
        value, schema.json_schema)
    if error is not None:
        return Checked(error=f"The answer does not match schema {schema.name}{why}: {error}.")
    if schema.model is not None:
        value = schema.model.model_validate(value).model_dump(mode="json")
    return Checked(parsed=value)


def without_null_optionals(value: Any, schema: Any) -> Any:
    """`value` without the nulls of properties `schema` does not require (nested objects too)."""
    if not isinstance(value, dict) or not isinstance(schema, dict):
        return value
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    return {key: without_null_optionals(item, properties.get(key))
            for key, item in value.items() if item is not None or key in required
            or key not in properties}


def _model_error(value: Any, schema: OutputSchema) -> str | None:
    from pydantic import ValidationError

    try:
        schema.model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the answer"
        return f"{where}: {first['msg']}"
    return None


def _schema_error(value: Any, schema: dict[str, Any]) -> str | None:
    import jsonschema

    try:
        error = jsonschema.exceptions.best_match(
            jsonschema.validators.validator_for(schema)(schema).iter_errors(value))
    except jsonschema.exceptions.SchemaError as exc:
        return f"the schema itself is not valid ({exc.message})"
    if error is None:
        return None
    where = ".".join(str(part) for part in error.absolute_path) or "the answer"
    return f"{where}: {error.message}"
