"""Checks that name the fields of a structured answer: `equals:category` compares the answer's
`category` with the row's column of that name, `field:urgency<=3` tests one field against a
value (numbers as numbers, text ignoring case and outer spaces)."""
from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from typing import Any

from opus_magic.errors import UsageError

MISSING = object()
TEST = re.compile(r"^\s*([A-Za-z_][\w.-]*)\s*(?:(<=|>=|==|!=|=|<|>)\s*(.*?))?\s*$")
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "=": operator.eq, "!=": operator.ne,
    "<": operator.lt, ">": operator.gt}
SHAPE = "field:NAME, or field:NAME<=3 (also >=, <, >, ==, !=)"


def field_of(answer: str, name: str) -> Any:
    """The answer's field `name` (dots go deeper) when the answer is a JSON object, else MISSING."""
    try:
        value: Any = json.loads(answer)
    except ValueError:
        return MISSING
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def answer_or_field(answer: str, name: str) -> str:
    """For `equals:NAME`: the answer's field NAME where the answer is an object holding it, else
    the whole answer."""
    value = field_of(answer, name)
    return answer if value is MISSING else ("" if value is None else str(value))


def field_check(spec: str, arg: str) -> tuple[str, Callable[[str, Any], bool]]:
    """`field:NAME[OP VALUE]` as (the field's name, the check); UsageError when unreadable."""
    found = TEST.match(arg)
    if found is None or (found.group(2) and not found.group(3)):
        raise UsageError(f"--check {spec}: write {SHAPE}.")
    name, op, wanted = found.group(1), found.group(2), found.group(3)

    def check(answer: str, row: Any) -> bool:
        value = field_of(answer, name)
        if value is MISSING or value is None:
            return False
        return _compare(value, op, wanted) if op else value not in ("", [], {})

    return name, check


def _compare(value: Any, op: str, wanted: str) -> bool:
    text = wanted.strip().strip("\"'")
    try:
        return OPERATORS[op](float(value), float(text))
    except (TypeError, ValueError):
        left, right = str(value).strip().lower(), text.lower()
        if op in ("<", ">", "<=", ">="):
            return False  # text has no order worth testing
        return OPERATORS[op](left, right)
