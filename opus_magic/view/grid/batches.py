"""Batches as text: the list with each one's state, and what a collect recorded."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

from opus_magic.core.batch.lost import LOST, LOST_REASON
from opus_magic.records import BatchRow, RunRecord
from opus_magic.view import format as fmt
from opus_magic.wording import plural

COUNT_ORDER = ("processing", "succeeded", "errored", "expired", "canceled")


def counts_text(counts: dict[str, int]) -> str:
    """`2 succeeded · 1 errored`: the non-zero counts, in a fixed order."""
    return " · ".join(f"{counts[k]} {k}" for k in COUNT_ORDER if counts.get(k)) or "no requests"


def batch_state(row: BatchRow) -> str:
    """In words: collected, or what ended it when no request came back; else where it stands."""
    if row.status == LOST:
        return LOST
    if row.collected_at:
        if row.counts and not (row.counts.get("succeeded") or row.counts.get("errored")):
            ended = "canceled" if row.counts.get("canceled") else "expired"
            return f"{ended} before any answer, nothing billed"
        return "collected"
    return "ended, not collected" if row.status == "ended" else row.status.replace("_", " ")


def elapsed_text(seconds: float) -> str:
    """`45 s`, `12 min`, `3 h 05 min`."""
    if seconds < 60:
        return f"{max(seconds, 0):.0f} s"
    minutes = int(seconds // 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def status_line(row: BatchRow, now: dt.datetime) -> str:
    """What a live view shows of a batch: its state, since when (once collected, how long it
    took: a time that no longer moves says so), and its counts."""
    submitted = dt.datetime.fromisoformat(row.submitted_at)
    if row.collected_at:
        took = (dt.datetime.fromisoformat(row.collected_at) - submitted).total_seconds()
        when = f"{elapsed_text(took)} after it was submitted"
    else:
        when = f"submitted {elapsed_text((now - submitted).total_seconds())} ago"
    return f"batch {row.id} · {batch_state(row)} · {when} · {counts_text(row.counts)}"


def batches_table(rows: Sequence[BatchRow]) -> str:
    """One line per batch: id, the grid it runs, provider id, state, when submitted, counts."""
    if not rows:
        return "No batches in this history yet."
    table = [("batch", "grid", "provider id", "state", "submitted", "requests")]
    table += [(row.id, row.grid_id or "–", row.provider_batch_id[:34], batch_state(row),
               row.submitted_at[:19].replace("T", " "), counts_text(row.counts)) for row in rows]
    lost = any(row.status == LOST for row in rows)
    return fmt.text_table(table, left=range(6)) + (f"\nlost: {LOST_REASON}" if lost else "")


def collected_text(rows: Sequence[BatchRow], runs: Sequence[RunRecord]) -> str:
    """What one collect recorded, batch by batch, with the cost at the batch price."""
    if not rows:
        return "No batches waiting to be collected."
    lines = []
    for row in rows:
        mine = [run for run in runs if run.batch_id == row.id]
        if row.status == LOST:
            lines.append(f"{row.id}: lost: {LOST_REASON}")
            continue
        if not mine:
            why = ("already collected" if row.collected_at else
                   f"still {batch_state(row)} ({counts_text(row.counts)})")
            lines.append(f"{row.id}: nothing new, {why}.")
            continue
        outcomes = Counter(run.status for run in mine)
        spent = sum((run.cost for run in mine if run.cost is not None), Decimal(0))
        lines.append(f"{row.id}: recorded {plural(len(mine), 'run')} ("
                     + ", ".join(f"{n} {status}" for status, n in sorted(outcomes.items()))
                     + f"), cost {fmt.money(spent)} at the batch price.")
    return "\n".join(lines)
