"""How far tiktoken's counts are from a model's own tokenizer: learned from that model's history,
else the catalog's ratio for tokenizers known to count differently (Claude 4.7 and later)."""
from __future__ import annotations

from dataclasses import dataclass

from opus_magic.cost.model_info import ModelInfo
from opus_magic.wording import plural

WINDOW = 20
MIN_RUNS = 3


@dataclass(frozen=True)
class Calibration:
    """Server tokens per tiktoken token for one model, and how many runs taught it (0: the
    catalog's ratio for the model's tokenizer, not yet measured here)."""

    ratio: float
    runs: int

    def scale(self, tokens: int) -> int:
        return round(tokens * self.ratio)

    @property
    def basis(self) -> str:
        """What the estimate rests on, for the meter's ≈ label: `tiktoken × 1.3`."""
        return f"tiktoken × {self.ratio:.3f}" if self.runs else f"tiktoken × {self.ratio:g}"

    def __str__(self) -> str:
        if self.runs:
            return f"calibrated from {plural(self.runs, 'run')}: ×{self.ratio:.3f}"
        return (f"estimated: tiktoken × {self.ratio:g}, as this model's own tokenizer counts "
                f"about {(self.ratio - 1) * 100:.0f} % more")


def learn(runs: int, served: int | None, counted: int | None,
          min_runs: int = MIN_RUNS) -> Calibration | None:
    """The ratio of the server's token counts to tiktoken's over a model's latest runs with usage
    (`runs` of them); None if too few runs or no counts."""
    if runs < min_runs or not counted or not served:
        return None
    return Calibration(served / counted, runs)


def prior(info: ModelInfo | None) -> Calibration | None:
    """The catalog's tokenizer ratio (`estimate_ratio`) before any run taught one; None where
    tiktoken's count is taken as it is."""
    if info is None or info.estimate_ratio is None:
        return None
    return Calibration(float(info.estimate_ratio), 0)
