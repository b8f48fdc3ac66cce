"""The first `%%opus` cell of a fresh kernel: when its first word shows, sent right after
`%load_ext` (as Run All sends it) and after a pause (as when the cell is typed)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .harness import SimProcess, kernel_setup, median, spread
from .peers import SHORT_TOKENS, OpusMagic
from .streaming import LOAD_EXTENSION, MODEL, package_kernel, probe_word

PROMPT = "How does prompt caching change the cost of a long conversation?"
PAUSE_S = 1.0  # a scenario, not a wait for something: a user takes longer to type a cell


def first_visible(sim: SimProcess, workdir: Path, pause_s: float) -> float:
    """Seconds from sending the first cell to the first output carrying a word of its answer."""
    with package_kernel(sim, workdir) as kernel:
        kernel.check(kernel_setup(LOAD_EXTENSION))
        if pause_s:
            time.sleep(pause_s)
        execution = kernel.run(OpusMagic(sim.base_url).cell(PROMPT), {}, timeout_s=120,
                               probe=probe_word(SHORT_TOKENS, PROMPT, MODEL))
        if execution.status != "ok" or execution.visible_s is None:
            raise RuntimeError(f"the first cell failed: {execution.error}")
        return execution.visible_s


def measure_first_cell(sim: SimProcess, workdir: Path, rounds: int) -> dict[str, Any]:
    """Medians over `rounds` fresh kernels of each kind, alternating."""
    sim.configure(answer_tokens=SHORT_TOKENS, tokens_per_second=None)
    at_once, paused = [], []
    for _ in range(rounds):
        at_once.append(first_visible(sim, workdir, 0.0))
        paused.append(first_visible(sim, workdir, PAUSE_S))
    return {"rounds": rounds, "at_once_s": median(at_once), "at_once_spread": spread(at_once),
            "at_once_max_s": max(at_once), "paused_s": median(paused),
            "paused_spread": spread(paused), "pause_s": PAUSE_S}
