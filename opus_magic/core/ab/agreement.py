"""How often a grid cell's samples (`--repeat N`) give the same answer: per row, the share of
samples that match the most common one. Pure: answers in, counts out."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from opus_magic.core.grid.summary import CellResult


@dataclass(frozen=True)
class Agreement:
    """`agreeing` of `samples` answers match the most common one; `passed` of them passed."""

    samples: int
    agreeing: int
    passed: int
    checked: int

    def label(self) -> str:
        """'2/3 agree · 3/3 ✓' (the passes only when checks ran)."""
        passes = f" · {self.passed}/{self.checked} ✓" if self.checked else ""
        return f"{self.agreeing}/{self.samples} agree{passes}"


def same_answer(text: str) -> str:
    """An answer as samples are compared: case, spacing and a closing full stop do not count."""
    return " ".join(text.split()).casefold().rstrip(".")


def agreement(texts: Iterable[str]) -> tuple[int, int]:
    """(samples, how many match the most common answer)."""
    counts = Counter(same_answer(text) for text in texts)
    return sum(counts.values()), max(counts.values(), default=0)


def by_cell(cells: Sequence[CellResult]) -> dict[tuple[int, str, str], Agreement]:
    """Each (row, variant, model) sampled more than once: its answered samples' agreement."""
    groups: dict[tuple[int, str, str], list[CellResult]] = {}
    for cell in cells:
        groups.setdefault((cell.row, cell.variant, cell.model), []).append(cell)
    out = {}
    for where, samples in groups.items():
        if len(samples) < 2:
            continue
        answered = [c for c in samples if c.record is not None and c.status in ("ok", "reused")]
        total, agreeing = agreement(c.record.text for c in answered if c.record is not None)
        checked = [c.passed for c in answered if c.passed is not None]
        out[where] = Agreement(total, agreeing, sum(checked), len(checked))
    return out
