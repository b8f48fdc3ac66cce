"""A grid read back from the history shows its columns in the order it ran them, however the
cells happened to start."""
from __future__ import annotations

import os
import sqlite3

import opus_magic
from opus_magic.core.grid.summary import from_history
from opus_magic.records import RunRecord

VARIANTS = {"short": "Label {item} in one word.", "long": "Label {item} in one word, carefully."}


def test_opus_grid_and_summary_keep_the_live_column_order(ip, simulator, capsys) -> None:
    ip.user_ns.update(items=["refund", "crash", "login"], prompts=VARIANTS)
    ip.run_cell_magic("opus", "--each items --variants prompts -m opus,haiku --max-tokens 5 "
                      "--concurrency 4 -o out", "# variants from prompts")
    live = list(dict.fromkeys(zip(ip.user_ns["out"]["variant"], ip.user_ns["out"]["model"])))
    assert [v for v, _ in live] == ["short", "short", "long", "long"]
    runs = opus_magic.history(limit=None)
    assert {(r.variant, r.model, r.column) for r in runs} == {
        (v, m, n) for n, (v, m) in enumerate(live)}
    # the last column's cells recorded first, as a busy endpoint can make them
    with sqlite3.connect(os.environ["OPUS_MAGIC_HISTORY"]) as db:
        db.execute("UPDATE runs SET created_at = '2000-01-01T00:00:00Z' WHERE grid_column = 3")
    summary = opus_magic.summary()
    assert list(zip(summary["variant"], summary["model"])) == live
    capsys.readouterr()
    ip.run_line_magic("opus", "grid")
    shown = capsys.readouterr().out
    places = [shown.index(f"{v}/{m}") if f"{v}/{m}" in shown else shown.index(v) for v, m in live]
    assert places == sorted(places), shown


def record(n: int, variant: str, model: str, column: int | None) -> RunRecord:
    return RunRecord(id=f"r{n}", created_at=f"2026-12-06T10:00:{n:02d}Z", model=model,
                     prompt="p", grid_id="g", variant=variant, row=0, column=column)


def test_runs_without_a_column_keep_the_order_they_were_first_seen() -> None:
    older = [record(0, "b", "haiku", None), record(1, "a", "opus", None)]
    assert [(c.variant, c.model) for c in from_history(older)] == [("b", "haiku"), ("a", "opus")]
    kept = [record(0, "b", "haiku", 1), record(1, "a", "opus", 0)]
    assert [(c.variant, c.model) for c in from_history(kept)] == [("a", "opus"), ("b", "haiku")]
