"""Grids: frontend messages per second during a 12-column grid, and kernel memory for a
1,000-cell grid (rate-limited grids are measured in `pacing.py`)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .harness import SimProcess
from .streaming import magic_kernel

RSS = "__import__('resource').getrusage(__import__('resource').RUSAGE_SELF).ru_maxrss"


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


def measure_grids(sim: SimProcess, workdir: Path, columns_rows: int, big: int) -> dict[str, Any]:
    """Every grid measurement but pacing."""
    return {"columns": twelve_columns(sim, workdir, columns_rows),
            "memory": thousand_cells(sim, workdir, big)}
