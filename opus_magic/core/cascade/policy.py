"""The cascade's policy, pure: which answers are accepted, where each row goes next, and the
path a row took (`haiku ✗ → sonnet ✓`).

A row's attempt at stage k (of K):
- answered and accepted (every check passes; a score at `accept` or above) → settled at k;
- answered and not accepted, or failed (an error, a stream that stayed broken) → on to stage
  k + 1; at the last stage an answer stands as it is, a failure leaves the row unsettled;
- not run (the budget, Stop), or a check that failed itself → unsettled, with the reason.

Accepting and passing differ only in the score a score-valued check needs: `--accept` for the
row to stop at a stage, 0.5 (the grid's own pass) for the quality the summary counts, so a
lenient --accept shows up as lost quality.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from opus_magic.core.grid.checks import Result, errored
from opus_magic.records import RunRecord

ACCEPT_SCORE = 0.5  # a score-valued check accepts at this score or above unless --accept says
ANSWERED = ("ok", "reused")
FAILED = ("error", "interrupted")


def accepted(checks: Mapping[str, Result], accept: float = ACCEPT_SCORE) -> bool | None:
    """Whether every check accepts the answer (a bool as it is, a score at `accept` or above);
    None when a check failed itself, so nothing can be said."""
    if any(errored(value) for value in checks.values()):
        return None
    return all(value is True if isinstance(value, bool) or value is None
               else float(value) >= accept for value in checks.values())


@dataclass(frozen=True, kw_only=True)
class Attempt:
    """One row at one stage: the cell's status, its verdict and what it cost."""

    stage: int
    model: str
    status: str
    accepted: bool | None = None  # the checks accept it at --accept: the row stops here
    passed: bool | None = None  # the checks pass it (a score at 0.5): what quality counts
    cost: Decimal | None = None  # every billed attempt of the cell, retries included
    record: RunRecord | None = None
    reason: str | None = None  # why the cell did not run or failed

    @property
    def answered(self) -> bool:
        return self.status in ANSWERED

    @property
    def mark(self) -> str:
        if self.answered:
            return "✓" if self.accepted else "?" if self.accepted is None else "✗"
        return "✗ error" if self.status in FAILED else f"– {self.status}"


@dataclass
class RowPath:
    """A row's way through the stages, and whether (and where) it settled."""

    row: int
    attempts: list[Attempt] = field(default_factory=list)
    unsettled: str | None = None  # why the row has no answer that stands
    onward: bool = False  # its last attempt sends it to the next stage

    @property
    def last(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def settled_at(self) -> int | None:
        """The stage whose answer stands; None while the row is open or left unsettled."""
        last = self.last
        if self.unsettled is not None or self.onward or last is None or not last.answered:
            return None
        return last.stage

    @property
    def passed(self) -> bool | None:
        """Whether the answer that stands passes its checks; None when none stands."""
        return None if self.settled_at is None or self.last is None else bool(self.last.passed)

    @property
    def cost(self) -> Decimal | None:
        """What every attempt at the row cost; None when a price is unknown."""
        costs = [a.cost for a in self.attempts if a.cost is not None]
        return sum(costs, Decimal(0)) if len(costs) == len(self.attempts) else None

    def text(self) -> str:
        """`haiku ✗ → sonnet ✓`; a row left unsettled ends with why."""
        steps = " → ".join(f"{a.model} {a.mark}" for a in self.attempts)
        return steps if self.unsettled is None else f"{steps} ({self.unsettled})".strip()


def step(path: RowPath, attempt: Attempt, stages: int) -> bool:
    """Record a stage's attempt at the row; True when the row goes on to the next stage."""
    path.attempts.append(attempt)
    path.onward = _onward(path, attempt, attempt.stage >= stages)
    return path.onward


def _onward(path: RowPath, attempt: Attempt, last_stage: bool) -> bool:
    if attempt.answered:
        if attempt.accepted is None:
            path.unsettled = "a check failed itself"
            return False
        return not attempt.accepted and not last_stage
    if attempt.status in FAILED and not last_stage:
        return True
    path.unsettled = attempt.reason or ("failed" if attempt.status in FAILED else attempt.status)
    return False


def settled_shares(paths: Sequence[RowPath], stages: int) -> list[int]:
    """How many rows settled at each stage (index 0 for stage 1)."""
    counts = [0] * stages
    for path in paths:
        if path.settled_at is not None:
            counts[path.settled_at - 1] += 1
    return counts
