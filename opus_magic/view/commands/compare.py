"""`%opus compare`: runs side by side, a word-level diff of their answers, and their numbers."""
from __future__ import annotations

import difflib
import html
import re
from collections.abc import Callable, Sequence
from decimal import Decimal

from opus_magic.core.comparison import rank
from opus_magic.records import RunRecord
from opus_magic.view import format as fmt
from opus_magic.view.tables import Rendered, html_table

WORD = re.compile(r"\S+\s*")
CLOSE = 0.5  # below this share of words in common a word diff is noise: answers shown whole
INS_STYLE = f"background:{fmt.tint('ok', 30)};color:inherit;text-decoration:none"
DEL_STYLE = f"background:{fmt.tint('error', 30)};color:inherit"


def word_diff(old: str, new: str) -> tuple[list[tuple[str, str]], float]:
    """Pieces turning `old` into `new` word by word (op '=', '-' or '+'), and the share in common."""
    a, b = WORD.findall(old), WORD.findall(new)
    matcher = difflib.SequenceMatcher(None, [w.strip() for w in a], [w.strip() for w in b],
                                      autojunk=False)
    pieces: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            text = "".join(b[j1:j2])
            if not text[-1:].isspace():  # `new` ends here: keep `old`'s space before what follows
                text = "".join(b[j1:j2 - 1]) + a[i2 - 1]
            pieces.append(("=", text))
            continue
        if i2 > i1:
            pieces.append(("-", "".join(a[i1:i2])))
        if j2 > j1:
            pieces.append(("+", "".join(b[j1:j2])))
    return pieces, matcher.ratio()


def diff_html(pieces: list[tuple[str, str]]) -> str:
    marks = {"=": "{}", "-": f'<del style="{DEL_STYLE}">{{}}</del>',
             "+": f'<ins style="{INS_STYLE}">{{}}</ins>'}
    return "".join(marks[op].format(html.escape(text)) for op, text in pieces)


def diff_text(pieces: list[tuple[str, str]]) -> str:
    """wdiff notation: [-removed-] {+added+}."""
    marks = {"=": "{}", "-": "[-{}-]", "+": "{{+{}+}}"}
    return "".join(marks[op].format(text.rstrip()) + text[len(text.rstrip()):] for op, text in pieces)


def label(run: RunRecord) -> str:
    return f"{run.response_model or run.model} · {run.id}"


def ratio(value: float | Decimal | None, base: float | Decimal | None) -> str:
    if value is None or base is None or base == 0:
        return ""
    return f" (×{value / base:.2f})"


def change(value: int, base: int) -> str:
    return "" if value == base else f" ({value - base:+,})"


Metric = tuple[str, Callable[[RunRecord], object], Callable[[RunRecord], str],
               Callable[[object, object], str]]
METRICS: list[Metric] = [
    ("ended", lambda r: None, fmt.end_state, lambda v, b: ""),
    ("cost", lambda r: r.cost, fmt.run_cost, ratio),
    ("input tokens", lambda r: r.usage.input_tokens, lambda r: f"{r.usage.input_tokens:,}", change),
    ("output tokens", lambda r: r.usage.output_tokens, lambda r: f"{r.usage.output_tokens:,}",
     change),
    ("cache read", lambda r: r.usage.cache_read_tokens,
     lambda r: f"{r.usage.cache_read_tokens:,}", change),
    ("TTFT", lambda r: r.ttft_s, lambda r: fmt.seconds(r.ttft_s), ratio),
    ("duration", lambda r: r.duration_s, lambda r: fmt.seconds(r.duration_s), ratio),
    ("tokens/s", lambda r: r.tokens_per_s, lambda r: fmt.speed(r.tokens_per_s), ratio),
]


def number_rows(runs: Sequence[RunRecord]) -> list[list[str]]:
    """One row per figure: its name, the first run's value, then each other run's with its change."""
    base = runs[0]
    rows = [[name, shown(base), *(shown(run) + differ(value(run), value(base)) for run in runs[1:])]
            for name, value, shown, differ in METRICS]
    marks = [", ".join(n for n, on in (("cheapest", s.cheapest), ("fastest", s.fastest)) if on)
             for s in rank(runs)]
    return [*rows, ["marks", *marks]]


def similarity_note(same: float) -> str:
    how = "word diff against the first" if same >= CLOSE else "too different for a word diff"
    return f"{same:.0%} of words as in the first: {how}"


def compare_text(runs: Sequence[RunRecord]) -> str:
    """Numbers as an aligned table, the first answer, then each other answer: as a word diff
    against the first when they are close, whole when they are not."""
    lines = [fmt.text_table([["", *(label(run) for run in runs)], *number_rows(runs)]),
             "", f"── {label(runs[0])} ──", runs[0].text]
    for run in runs[1:]:
        pieces, same = word_diff(runs[0].text, run.text)
        lines += ["", f"── {label(run)}: {similarity_note(same)} ──",
                  diff_text(pieces) if same >= CLOSE else run.text]
    return "\n".join(lines)


def column_html(title: str, note: str, body: str, extra: str = "") -> str:
    return (f'<div class="opus-compare-column" style="flex:1 1 0;min-width:220px;max-height:32em;'
            f'overflow:auto;border:1px solid {fmt.BORDER};padding:6px">'
            f'<div style="font-weight:600">{html.escape(title)}</div>'
            f'<div class="opus-similarity" style="font-size:11px">{html.escape(note)}</div>'
            f'<div style="white-space:pre-wrap;margin-top:4px">{body}</div>{extra}</div>')


def compare_html(runs: Sequence[RunRecord]) -> str:
    """Numbers table, then the answers side by side; close answers with their words marked, others
    whole with the marked diff a click away."""
    headers = ["", *(label(run) for run in runs)]
    rows = [[html.escape(cell) for cell in row] for row in number_rows(runs)]
    table = html_table(headers, rows, numeric=set(range(1, len(headers))))
    columns = [column_html(label(runs[0]), "first", html.escape(runs[0].text))]
    for run in runs[1:]:
        pieces, same = word_diff(runs[0].text, run.text)
        if same >= CLOSE:
            columns.append(column_html(label(run), similarity_note(same), diff_html(pieces)))
            continue
        diff = (f'<details style="margin-top:6px"><summary>word diff anyway</summary>'
                f'<div style="white-space:pre-wrap">{diff_html(pieces)}</div></details>')
        columns.append(column_html(label(run), similarity_note(same), html.escape(run.text), diff))
    return (f'<div style="color:{fmt.TEXT}">{table}'
            f'<div style="display:flex;gap:8px;margin-top:8px">{"".join(columns)}</div></div>')


def compare_view(runs: Sequence[RunRecord]) -> Rendered:
    """`%opus compare`: HTML side by side in a notebook, the text form elsewhere."""
    return Rendered(compare_html(runs), compare_text(runs))
