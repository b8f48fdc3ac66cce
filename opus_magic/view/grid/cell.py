"""One grid cell opened: the row it answered, the values its checks expected, each check's
verdict and why it failed (or the check's own error), then the whole answer."""
from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from opus_magic.core.grid.checks import PASS_SCORE, Result, errored, passed
from opus_magic.core.grid.summary import CellResult
from opus_magic.view import format as fmt

VALUE_CHARS = 300  # of each of the row's fields, in the opened cell


def border_colour(cell: CellResult) -> str:
    """A cell's left border: a failed check is a failure whatever the request's status."""
    if cell.status in ("ok", "reused"):
        if any(errored(v) for v in cell.checks.values()):
            return fmt.colour("interrupted")
        if cell.passed is False:
            return fmt.colour("error")
    return fmt.STATUS_COLOURS.get(cell.status, "inherit")


def short(value: Any, chars: int = VALUE_CHARS) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= chars else text[:chars - 1] + "…"


def expected(checks: Mapping[str, Result], row: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The row's columns the checks compare the answer with (`equals:label` → label)."""
    columns = [name.partition(":")[2] for name in checks if name.startswith("equals:")]
    return [(column, row[column]) for column in dict.fromkeys(columns) if column in row]


def why(name: str, result: Result, answer: str, row: Mapping[str, Any]) -> str:
    """Why a check did not pass, in words (a check error is its own text)."""
    if errored(result):
        return str(result)
    kind, _, arg = name.partition(":")
    if isinstance(result, float) and not isinstance(result, bool):
        return f"scored {result:.2f} (passes at {PASS_SCORE:g})"
    if kind == "equals" and arg:
        return f"expected {short(row.get(arg), 80)!r}, the answer is {short(answer, 80)!r}"
    if kind == "contains" and arg:
        return f"{arg!r} is not in the answer"
    if kind == "regex" and arg:
        return "the pattern does not match the answer"
    if kind == "json" and not arg:
        return "the answer is not valid JSON"
    if kind == "field" and arg:
        return f"the answer's field fails {arg}"
    if kind == "max_words" and arg:
        return f"{len(answer.split())} words, more than {arg}"
    return "returned False"


def check_lines(cell: CellResult, row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(css class, text) per check: ✓ name, ✗ name: why, ⚠ name: the check's error."""
    answer = cell.record.text if cell.record else ""
    lines = []
    for name, result in cell.checks.items():
        if errored(result):
            lines.append(("opus-check-error", f"⚠ {name}: {why(name, result, answer, row)}"))
        elif passed(result):
            lines.append(("opus-check-passed", f"✓ {name}"))
        else:
            lines.append(("opus-check-failed", f"✗ {name}: {why(name, result, answer, row)}"))
    return lines


CHECK_COLOURS = {"opus-check-passed": "ok", "opus-check-failed": "error",
                 "opus-check-error": "interrupted"}


def details_html(cell: CellResult, row: Mapping[str, Any]) -> str:
    """What an opened cell shows: input, expected, checks, then the answer (or why none)."""
    fields = "".join(f"<div><b>{html.escape(str(k))}</b> {html.escape(short(v))}</div>"
                     for k, v in row.items())
    wanted = "".join(f"<div><b>{html.escape(str(k))}</b> {html.escape(short(v))}</div>"
                     for k, v in expected(cell.checks, row))
    checks = "".join(f"<div class='{css}' style='color:{fmt.colour(CHECK_COLOURS[css])}'>"
                     f"{html.escape(text)}</div>" for css, text in check_lines(cell, row))
    record = cell.record
    answer = (record.text if record else "") or (record.error if record else None) \
        or cell.reason or ""
    parts = [("input", "opus-cell-input", fields), ("expected", "opus-cell-expected", wanted),
             ("checks", "opus-cell-checks", checks)]
    sections = "".join(f"<div class='{css}' style='margin:2px 0'><i>{title}</i>{body}</div>"
                       for title, css, body in parts if body)
    return (f"<div class='opus-cell-details' style='white-space:normal;max-width:40em'>"
            f"{sections}<div class='opus-cell-answer' style='white-space:pre-wrap;margin-top:2px'>"
            f"<i>answer</i>\n{html.escape(answer)}</div></div>")
