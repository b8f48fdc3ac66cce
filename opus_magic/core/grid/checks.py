"""Checks on a grid cell's answer: built-ins by name, or a notebook function f(answer, row)."""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opus_magic.core.grid.fields import answer_or_field, field_check
from opus_magic.errors import UsageError

CheckFn = Callable[[str, Mapping[str, Any]], "bool | float"]
BUILT_INS = "json, contains:TEXT, regex:PATTERN, equals:COLUMN, max_words:N, field:NAME<=3"
PASS_SCORE = 0.5  # a check returning a number passes at this score or above


@dataclass(frozen=True)
class Check:
    """A named check: `run(answer, row)` gives True/False or a score from 0 to 1."""

    name: str
    fn: CheckFn

    def run(self, answer: str, row: Mapping[str, Any]) -> bool | float | None:
        """The check's result; None when the check itself raised (counted as a fail)."""
        try:
            value = self.fn(answer, row)
        except Exception:  # a user's check raising is a failed check, not a failed grid
            return None
        if isinstance(value, bool) or value is None:
            return bool(value)
        try:
            return float(value)
        except (TypeError, ValueError):
            return bool(value)


def passed(value: bool | float | None) -> bool:
    """Whether one check's result counts as a pass."""
    if value is None or isinstance(value, bool):
        return bool(value)
    return value >= PASS_SCORE


def all_passed(results: Mapping[str, bool | float | None]) -> bool:
    return all(passed(v) for v in results.values())


def built_in(spec: str, columns: Sequence[str]) -> Check | None:
    """The built-in check named by `spec`, None when `spec` names none; UsageError when misused."""
    kind, _, arg = spec.partition(":")
    if kind == "json" and not arg:
        return Check(spec, lambda answer, row: _parses(answer))
    if kind == "contains" and arg:
        return Check(spec, lambda answer, row: arg.lower() in answer.lower())
    if kind == "regex" and arg:
        try:
            pattern = re.compile(arg)
        except re.error as exc:
            raise UsageError(f"--check {spec}: not a valid regular expression ({exc}).") from None
        return Check(spec, lambda answer, row: pattern.search(answer) is not None)
    if kind == "equals" and arg:
        if columns and arg not in columns:
            raise UsageError(f"--check {spec}: the rows have no column '{arg}' "
                             f"(they have {', '.join(columns)}).")
        return Check(spec, lambda answer, row: _same(answer_or_field(answer, arg), row.get(arg)))
    if kind == "field" and arg:
        return Check(spec, field_check(spec, arg)[1])
    if kind == "max_words" and arg:
        if not arg.isdigit():
            raise UsageError(f"--check {spec}: use a whole number, e.g. max_words:50.")
        return Check(spec, lambda answer, row: len(answer.split()) <= int(arg))
    return None


def resolve(specs: Sequence[str], namespace: Mapping[str, Any],
            columns: Sequence[str]) -> list[Check]:
    """Each `--check`: a built-in, else a callable of that name in the notebook."""
    checks = []
    for spec in specs:
        check = built_in(spec, columns)
        if check is None:
            fn = namespace.get(spec)
            if not callable(fn):
                raise UsageError(f"--check {spec}: not a built-in ({BUILT_INS}) nor a function "
                                 f"defined in the notebook; define def {spec}(answer, row): ...")
            check = Check(spec, fn)
        checks.append(check)
    return checks


def _parses(answer: str) -> bool:
    text = answer.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.DOTALL)
    try:
        json.loads(fenced.group(1) if fenced else text)
    except ValueError:
        return False
    return True


def _same(answer: str, expected: Any) -> bool:
    if expected is None:
        return False
    return answer.strip().strip(".").lower() == str(expected).strip().lower()
