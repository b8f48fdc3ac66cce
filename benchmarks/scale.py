"""Scale: a 10,000-cell grid against the simulator (no limits) in a fresh kernel with the widget
view: the share of its wall time with no request in flight, the frontend's messages a second,
and the kernel's memory growth. Twice: with fast answers (a model far quicker than any real one,
so the network wait is short and the tool's own time shows), and with instant ones (the kernel
alone sets the pace: its ceiling in cells a second). Then a batch grid split into several
provider batches (the limits lowered), submitted to the simulator's batch engine and collected
as one."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .harness import SimProcess
from .streaming import magic_kernel

RSS = "__import__('resource').getrusage(__import__('resource').RUSAGE_SELF).ru_maxrss"


def busy_s(intervals: list[tuple[float, float]]) -> float:
    """How long at least one of the intervals was open (their union's length)."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


FAST = (0.02, 1_000.0)  # (s to the first token, tokens a second): fast answers
INSTANT = (0.0, None)


def big_grid(sim: SimProcess, workdir: Path, cells: int,
             pace: tuple[float, float | None]) -> dict[str, Any]:
    """`cells` five-token answers at `pace`; the server's request log says when any request
    was in flight, the kernel's iopub what reached the frontend."""
    ttft_s, tokens_per_second = pace
    with magic_kernel(sim, workdir) as kernel:
        sim.configure(tokens_per_second=tokens_per_second, ttft_s=ttft_s, answer_tokens=5)
        sim.control.reset()
        kernel.check(f"items = [f'thing {{i}}' for i in range({cells})]\n"
                     "import pandas; _before = " + RSS)
        began = time.time()
        execution = kernel.run("%%opus --each items -m haiku --max-tokens 20 -o _grid\n"
                               "Name {item}.",
                               {"growth_kib": f"{RSS} - _before", "rows": "len(_grid)",
                                "ok": "int((_grid['status'] == 'ok').sum())"},
                               timeout_s=3600)
        ended = time.time()
        sim.configure(answer_tokens=None, tokens_per_second=None, ttft_s=0.0)
    log = sim.control.requests()
    spans = [(r.started_at, r.ended_at) for r in log if r.ended_at is not None]
    in_flight = busy_s(spans)
    first, last = min(s for s, _ in spans), max(e for _, e in spans)
    wall = ended - began
    span = (execution.last_update_s or 0) - (execution.first_update_s or 0)
    updates = execution.counts["comm_msg"]
    return {"cells": cells, "ttft_s": ttft_s, "tokens_per_second": tokens_per_second,
            "requests": len(log), "rows": execution.value("rows"),
            "ok": execution.value("ok"), "wall_s": wall, "in_flight_s": in_flight,
            "outside_share": 1 - in_flight / wall if wall > 0 else None,
            "before_first_s": first - began, "after_last_s": ended - last,
            "comm_msg": updates, "per_s": updates / span if span > 0 else None,
            "growth_mib": execution.value("growth_kib") / 1024}


def split_batches(sim: SimProcess, workdir: Path, cells: int, per_batch: int) -> dict[str, Any]:
    """A grid of `cells` as a batch with the API's limit lowered to `per_batch` requests (the
    parameter a test lowers): how many batches, how long planning, splitting and submitting
    took, and whether collecting gave every cell back as one grid."""
    import os

    from opus_magic.core.batch.split import LIMITS, BatchLimits
    from opus_magic.core.batch.submit import collect
    from opus_magic.core.grid import batch as gridbatch
    from opus_magic.core.grid.spec import plan_grid
    from opus_magic.core.grid.summary import from_history
    from opus_magic.core.run.request import CellInput
    from opus_magic.core.session import Session
    from opus_magic.notebook.grid.run import build_spec
    from opus_magic.store.grids import grid_cells

    from .harness import BENCH_KEY

    os.environ.update(OPUS_MAGIC_BASE_URL=sim.base_url, OPUS_MAGIC_API_KEY=BENCH_KEY,
                      OPUS_MAGIC_HISTORY=str(workdir / "split.sqlite"))
    session = Session()
    words = [f"thing {i}" for i in range(cells)]
    began = time.perf_counter()
    spec = build_spec(CellInput(prompt="Name {item}.", models=("haiku",), max_tokens="20"),
                      {"words": words}, "words", None, [], None, False)
    grid = plan_grid(session, spec)
    plan = gridbatch.plan_batch(session, grid, record_reused=False)
    planned = time.perf_counter()
    limits = {api: BatchLimits(per_batch, limit.bytes) for api, limit in LIMITS.items()}
    rows = gridbatch.submit(session, plan, limits=limits)
    submitted = time.perf_counter()
    sim.control.batches(end_now=True)
    collect(session)
    collected = time.perf_counter()
    found = from_history(grid_cells(session.store(grid.settings), grid.id))
    return {"cells": cells, "per_batch": per_batch, "batches": len(rows),
            "sizes": [len(row.cells) for row in rows], "plan_s": planned - began,
            "submit_s": submitted - planned, "collect_s": collected - submitted,
            "collected": sum(1 for c in found if c.status == "ok"),
            "one_grid": len({c.record.batch_id for c in found if c.record}) == len(rows)}


def measure_scale(sim: SimProcess, workdir: Path, cells: int, batch_cells: int,
                  per_batch: int) -> dict[str, Any]:
    return {"grid": big_grid(sim, workdir, cells, FAST),
            "instant": big_grid(sim, workdir, cells, INSTANT),
            "split": split_batches(sim, workdir, batch_cells, per_batch)}
