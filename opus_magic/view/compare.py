"""`%opus compare`: runs side by side, a word-level diff of their answers, and their numbers."""
from __future__ import annotations

import difflib
import html
import re
from collections.abc import Callable, Sequence
from decimal import Decimal

from opus_magic.core.fanout import summarize, tokens_per_second
from opus_magic.cost.pricing import format_usd
from opus_magic.errors import UsageError
from opus_magic.records import RunRecord
from opus_magic.store.base import HistoryStore
from opus_magic.store.queries import runs_of_comparison
from opus_magic.view.history import html_table
from opus_magic.view.tables import Rendered, text_table
from opus_magic.view.text import fmt_seconds

WORD = re.compile(r"\S+\s*")
INS_STYLE = "background:#ccf5d3;text-decoration:none"
DEL_STYLE = "background:#ffd6d3;color:#8c1c13"


def find_runs(store: HistoryStore, refs: Sequence[str]) -> list[RunRecord]:
    """Runs named by id (or unique id prefix) or by comparison id, in the order given."""
    runs: list[RunRecord] = []
    for ref in refs:
        record = store.get(ref)
        group = [record] if record else runs_of_comparison(store, ref)
        if not group:
            raise UsageError(f"No run or comparison '{ref}' in history (ids are in %opus history).")
        runs.extend(group)
    if len(runs) < 2:
        raise UsageError("Compare needs at least two runs: %opus compare RUN_ID RUN_ID [...] "
                         "or %opus compare COMPARISON_ID.")
    return runs


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
    ("finish", lambda r: None, lambda r: r.finish_reason or r.status, lambda v, b: ""),
    ("cost", lambda r: r.cost, lambda r: format_usd(r.cost, not r.cost_exact), ratio),
    ("input tokens", lambda r: r.usage.input_tokens, lambda r: f"{r.usage.input_tokens:,}", change),
    ("output tokens", lambda r: r.usage.output_tokens, lambda r: f"{r.usage.output_tokens:,}",
     change),
    ("cache read", lambda r: r.usage.cache_read_tokens,
     lambda r: f"{r.usage.cache_read_tokens:,}", change),
    ("TTFT", lambda r: r.ttft_s, lambda r: fmt_seconds(r.ttft_s), ratio),
    ("duration", lambda r: r.duration_s, lambda r: fmt_seconds(r.duration_s), ratio),
    ("tokens/s", tokens_per_second,
     lambda r: "–" if tokens_per_second(r) is None else f"{tokens_per_second(r):.0f}", ratio),
]


def number_rows(runs: Sequence[RunRecord]) -> list[list[str]]:
    """One row per figure: its name, the first run's value, then each other run's with its change."""
    base = runs[0]
    rows = [[name, shown(base), *(shown(run) + differ(value(run), value(base)) for run in runs[1:])]
            for name, value, shown, differ in METRICS]
    marks = [", ".join(n for n, on in (("cheapest", s.cheapest), ("fastest", s.fastest)) if on)
             for s in summarize(runs)]
    return [*rows, ["marks", *marks]]


def compare_text(runs: Sequence[RunRecord]) -> str:
    """Numbers as an aligned table, the first answer, then each other answer as a diff against it."""
    lines = [text_table([["", *(label(run) for run in runs)], *number_rows(runs)]),
             "", f"── {label(runs[0])} ──", runs[0].text]
    for run in runs[1:]:
        pieces, same = word_diff(runs[0].text, run.text)
        lines += ["", f"── {label(run)}: {same:.0%} of words as in the first ──", diff_text(pieces)]
    return "\n".join(lines)


def compare_html(runs: Sequence[RunRecord]) -> str:
    """Numbers table, then the answers in columns with insertions and deletions highlighted."""
    headers = ["", *(label(run) for run in runs)]
    rows = [[html.escape(cell) for cell in row] for row in number_rows(runs)]
    table = html_table(headers, rows, numeric=set(range(1, len(headers))))
    columns = [(label(runs[0]), "first", html.escape(runs[0].text))]
    for run in runs[1:]:
        pieces, same = word_diff(runs[0].text, run.text)
        columns.append((label(run), f"{same:.0%} of words as in the first", diff_html(pieces)))
    cells = "".join(
        f'<div style="flex:1;min-width:220px;border:1px solid #d0d7de;padding:6px">'
        f'<div style="font-weight:600">{html.escape(title)}</div>'
        f'<div style="color:#57606a;font-size:11px">{html.escape(note)}</div>'
        f'<div style="white-space:pre-wrap;margin-top:4px">{body}</div></div>'
        for title, note, body in columns)
    return f'<div>{table}<div style="display:flex;gap:8px;margin-top:8px">{cells}</div></div>'


def compare_view(runs: Sequence[RunRecord]) -> Rendered:
    """`%opus compare`: HTML side by side in a notebook, the text form elsewhere."""
    return Rendered(compare_html(runs), compare_text(runs))
