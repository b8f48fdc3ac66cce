"""Checks on a grid cell's answer: built-ins by name, or a notebook function f(answer, row)."""
from __future__ import annotations

import json
import math
import numbers
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opus_magic.core.grid.fields import answer_or_field, field_check
from opus_magic.errors import UsageError

CheckFn = Callable[[str, Mapping[str, Any]], "bool | float"]
BUILT_INS = "json, contains:TEXT, regex:PATTERN, equals:COLUMN, max_words:N, field:NAME<=3"
PASS_SCORE = 0.5  # a check returning a number passes at this score or above


CHECK_ERROR = "check error: "  # how a check that failed itself is shown and stored
CHECK_TIMEOUT_S = 10.0
POLL_S = 0.05  # how often a running check looks whether the grid was stopped
Result = bool | float | str | None  # True/False, a score, or "check error: ..."


@dataclass(frozen=True)
class Check:
    """A named check: `run(answer, row)` gives True/False or a score from 0 to 1."""

    name: str
    fn: CheckFn

    def run(self, answer: str, row: Mapping[str, Any], timeout_s: float = CHECK_TIMEOUT_S,
            cancel: threading.Event | None = None) -> Result:
        """The check's result, or "check error: …" when the check itself failed: it raised
        (anything, KeyboardInterrupt included), took other arguments, ran past `timeout_s`, was
        stopped with the grid (`cancel`), or returned neither a bool nor a number. A check is
        user code: it runs in a thread of its own, so a hanging one never holds the grid."""
        done = threading.Event()
        box: dict[str, Any] = {}

        def call() -> None:
            try:
                box["value"] = self.fn(answer, row)
            except BaseException as exc:  # noqa: BLE001 (user code: anything it raises is shown)
                box["error"] = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            finally:
                done.set()

        threading.Thread(target=call, name=f"opus-check-{self.name}", daemon=True).start()
        deadline = time.monotonic() + timeout_s
        while not done.wait(min(POLL_S, max(deadline - time.monotonic(), 0))):
            if cancel is not None and cancel.is_set():
                return CHECK_ERROR + "stopped with the grid"
            if time.monotonic() >= deadline:
                return CHECK_ERROR + f"took longer than {timeout_s:g} s (check_timeout_s)"
        if "error" in box:
            return CHECK_ERROR + " ".join(box["error"].split())[:200]
        return _result(box.get("value"))


def _result(value: Any) -> Result:
    """A check's return value as a result: a bool, a finite number, else a check error."""
    if isinstance(value, bool) or type(value).__name__ in ("bool", "bool_"):  # numpy's too
        return bool(value)
    if isinstance(value, numbers.Real) and math.isfinite(float(value)):
        return float(value)
    return CHECK_ERROR + (f"returned {type(value).__name__}, not True/False or a score from "
                          f"0 to 1")


def errored(value: Result) -> bool:
    """Whether a result is a check error rather than a pass, a fail or a score."""
    return isinstance(value, str)


def passed(value: Result) -> bool:
    """Whether one check's result counts as a pass."""
    if value is None or isinstance(value, (bool, str)):
        return value is True
    return value >= PASS_SCORE


def all_passed(results: Mapping[str, Result]) -> bool | None:
    """Whether every check passed; None when a check failed itself (counted apart from ✗)."""
    if any(errored(v) for v in results.values()):
        return None
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
