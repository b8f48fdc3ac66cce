"""Fan-out: `%%opus -m a,b,c,d` with four ~2 s streams; the cell's wall time against the slowest."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .harness import SimProcess, median
from .streaming import magic_kernel

RATES = {"claude-opus-4-6": 500.0, "claude-sonnet-4-5": 520.0, "claude-haiku-4-5": 540.0,
         "gpt-4o": 560.0}  # tokens per second: with 1,000 tokens, 1.8 to 2.0 s each
ANSWER_TOKENS = 1_000
PROMPT = "Compare two ways of caching a long system prompt."


def measure_fan_out(sim: SimProcess, workdir: Path, rounds: int) -> dict[str, Any]:
    """Each round: one four-model cell; wall from the frontend vs the slowest run's duration."""
    models = ",".join(RATES)
    samples = []
    with magic_kernel(sim, workdir) as kernel:
        sim.configure(answer_tokens=ANSWER_TOKENS, tokens_per_second=None)
        kernel.run(f"%%opus -m {models}\nwarm up")
        sim.configure(tokens_per_second=RATES)
        for index in range(rounds):
            execution = kernel.run(f"%%opus -m {models}\n{PROMPT} ({index})",
                                   {"runs": f"_bench.comparison_facts({len(RATES)})"}, timeout_s=120)
            if execution.status != "ok":
                raise RuntimeError(f"fan-out cell failed: {execution.error}")
            runs = execution.value("runs")
            if len({r["comparison_id"] for r in runs}) != 1 or any(r["status"] != "ok" for r in runs):
                raise RuntimeError(f"fan-out runs did not all finish in one comparison: {runs}")
            slowest = max(r["seconds"] for r in runs)
            samples.append({"wall_s": execution.wall_s, "slowest_s": slowest,
                            "each_s": {r["model"]: r["seconds"] for r in runs},
                            "ratio": execution.wall_s / slowest})
        sim.configure(tokens_per_second=None)
    return {"samples": samples, "ratio": median([s["ratio"] for s in samples]),
            "wall_s": median([s["wall_s"] for s in samples]),
            "slowest_s": median([s["slowest_s"] for s in samples])}
