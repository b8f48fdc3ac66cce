"""Grids: a 200-cell grid under 60 requests and 20,000 tokens a minute (time against what the
limits allow, 429s received), frontend messages per second during a 12-column grid, and kernel
memory for a 1,000-cell grid."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .harness import SimProcess
from .streaming import magic_kernel

FACTS = ("[(r.status, r.usage.input_tokens, r.usage.output_tokens) for r in "
         "opus_magic.history(limit=None) if r.grid_id == opus_magic.last_run().grid_id]")
RSS = "__import__('resource').getrusage(__import__('resource').RUSAGE_SELF).ru_maxrss"


def allowed_s(cells: int, tokens: int, requests_limit: int, tokens_limit: int,
              window_s: float) -> float:
    """The least time the limits allow: buckets start full and refill at limit/window a second."""
    by_requests = max(cells - requests_limit, 0) * window_s / requests_limit
    by_tokens = max(tokens - tokens_limit, 0) * window_s / tokens_limit
    return max(by_requests, by_tokens)


def rate_limited(sim: SimProcess, workdir: Path, cells: int, requests: int, tokens: int,
                 window_s: float) -> dict[str, Any]:
    """The rate-limited grid in a fresh kernel: wall, the ideal, 429s and failed cells."""
    with magic_kernel(sim, workdir) as kernel:
        sim.control.reset()
        sim.configure(tokens_per_second=200.0, ttft_s=0.2, answer_tokens=None)
        sim.control.limit(requests=requests, tokens=tokens, window_s=window_s)
        kernel.check("import opus_magic\n"
                     f"items = [f'support question {{i}}' for i in range({cells})]")
        execution = kernel.run("%%opus --each items -m haiku --max-tokens 120 -o grid\n"
                               "Answer this {item} in two sentences.", {"facts": FACTS},
                               timeout_s=cells * window_s / requests * 3 + 120)
        facts = execution.value("facts")
        sent = sim.control.requests()
        sim.control.limit()
        sim.configure(tokens_per_second=None, ttft_s=0.0)
    used = sum(i + o for _, i, o in facts)
    ideal = allowed_s(cells, used, requests, tokens, window_s)
    return {"cells": cells, "wall_s": execution.wall_s, "ideal_s": ideal,
            "ratio": execution.wall_s / ideal if ideal else None, "tokens": used,
            "failed": sum(1 for status, _, _ in facts if status != "ok"),
            "refused_429": sum(1 for r in sent if r.status == 429), "limits": (requests, tokens)}


def twelve_columns(sim: SimProcess, workdir: Path, rows: int) -> dict[str, Any]:
    """3 variants × 4 models streaming at 300 tokens/s: widget messages per second."""
    with magic_kernel(sim, workdir) as kernel:
        sim.configure(tokens_per_second=300.0, answer_tokens=None)
        kernel.check(f"rows = [{{'topic': f'topic {{i}}'}} for i in range({rows})]\n"
                     "prompts = {'a': 'Explain {topic}.', 'b': 'Describe {topic}.', "
                     "'c': 'Summarise {topic}.'}")
        execution = kernel.run("%%opus --each rows --variants prompts "
                               "-m opus,sonnet,haiku,4o --max-tokens 150 --concurrency 12\n#",
                               timeout_s=300)
        sim.configure(tokens_per_second=None)
    span = (execution.last_update_s or 0) - (execution.first_update_s or 0)
    updates = execution.counts["comm_msg"]
    return {"cells": rows * 12, "wall_s": execution.wall_s, "comm_msg": updates,
            "per_s": updates / span if span > 0 else None}


def thousand_cells(sim: SimProcess, workdir: Path, cells: int) -> dict[str, Any]:
    """Kernel peak memory growth while a grid of `cells` short answers runs at full speed."""
    with magic_kernel(sim, workdir) as kernel:
        sim.configure(tokens_per_second=None, answer_tokens=None)
        kernel.check(f"items = [f'thing {{i}}' for i in range({cells})]\n"
                     "import pandas; _before = " + RSS)
        execution = kernel.run("%%opus --each items -m haiku --max-tokens 20\nName {item}.",
                               {"growth_kib": f"{RSS} - _before"}, timeout_s=600)
    return {"cells": cells, "wall_s": execution.wall_s,
            "growth_mib": execution.value("growth_kib") / 1024}


def measure_grids(sim: SimProcess, workdir: Path, cells: int, window_s: float,
                  columns_rows: int, big: int) -> dict[str, Any]:
    """Every grid measurement; a full run takes about three minutes (the limits set the pace)."""
    requests, tokens = 60, 20_000
    if window_s < 60:  # --quick: the same limits per shorter window
        requests, tokens = int(requests * window_s / 60) or 1, int(tokens * window_s / 60)
    return {"rate_limited": rate_limited(sim, workdir, cells, requests, tokens, window_s),
            "columns": twelve_columns(sim, workdir, columns_rows),
            "memory": thousand_cells(sim, workdir, big)}
