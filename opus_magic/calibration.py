"""How far tiktoken's counts are from a model's own tokenizer, learned from that model's history."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .store import Store

WINDOW = 20
MIN_RUNS = 3
# One indexed lookup (runs_model: model, created_at) over the model's latest runs with server usage;
# the engine stores its own tiktoken counts in params only when the server's usage arrived.
LATEST_COUNTS = """
SELECT count(*), sum(input_tokens + output_tokens), sum(counted) FROM (
    SELECT input_tokens, output_tokens,
           json_extract(params, '$.tiktoken_input')
           + json_extract(params, '$.tiktoken_output') AS counted
    FROM runs
    WHERE model IN ({names}) AND endpoint = ?
      AND json_extract(params, '$.tiktoken_input') IS NOT NULL
    ORDER BY created_at DESC LIMIT ?)
"""


@dataclass(frozen=True)
class Calibration:
    """Server tokens per tiktoken token for one model, and how many runs taught it."""

    ratio: float
    runs: int

    def scale(self, tokens: int) -> int:
        return round(tokens * self.ratio)

    def __str__(self) -> str:
        return f"calibrated from {self.runs} runs: ×{self.ratio:.3f}"


def learn(store: Store, names: Sequence[str], endpoint: str, window: int = WINDOW,
          min_runs: int = MIN_RUNS) -> Calibration | None:
    """The ratio over the latest `window` runs of `names` on this endpoint; None if too few.

    Per endpoint, so a simulator's or a proxy's counting never calibrates another endpoint's model.
    """
    if not names:
        return None
    sql = LATEST_COUNTS.format(names=", ".join("?" for _ in names))
    runs, served, counted = next(store.iter_rows(sql, (*names, endpoint, window)))
    if runs < min_runs or not counted or not served:
        return None
    return Calibration(served / counted, runs)
