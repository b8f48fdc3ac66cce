"""How far tiktoken's counts are from a model's own tokenizer, learned from that model's history."""
from __future__ import annotations

from dataclasses import dataclass

WINDOW = 20
MIN_RUNS = 3


@dataclass(frozen=True)
class Calibration:
    """Server tokens per tiktoken token for one model, and how many runs taught it."""

    ratio: float
    runs: int

    def scale(self, tokens: int) -> int:
        return round(tokens * self.ratio)

    def __str__(self) -> str:
        return f"calibrated from {self.runs} runs: ×{self.ratio:.3f}"


def learn(runs: int, served: int | None, counted: int | None,
          min_runs: int = MIN_RUNS) -> Calibration | None:
    """The ratio of the server's token counts to tiktoken's over a model's latest runs with usage
    (`runs` of them); None if too few runs or no counts."""
    if runs < min_runs or not counted or not served:
        return None
    return Calibration(served / counted, runs)
