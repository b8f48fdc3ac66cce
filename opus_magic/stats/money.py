"""Money in and out of the float arithmetic of resampling.

Costs arrive as `Decimal` dollars and leave as `Decimal` dollars: a point estimate is computed
exactly in Decimal (Σ cost / n) and only interval bounds pass through floats. Every amount is
quantized to the nano-dollar (1e-9), the precision of a mean cost elsewhere in the package;
an unbounded bound (a ratio whose denominator can resample to zero) is `Decimal("Infinity")`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

NANO = Decimal("1e-9")
INFINITY = Decimal("Infinity")


def to_money(amount: float) -> Decimal:
    """A float amount of dollars as Decimal to the nano-dollar; infinity stays infinite."""
    if math.isinf(amount):
        return INFINITY if amount > 0 else -INFINITY
    return Decimal(repr(amount)).quantize(NANO)


def exact_mean(amounts: Sequence[Decimal]) -> Decimal:
    """Σ amounts / n in Decimal, to the nano-dollar (n > 0)."""
    return (sum(amounts, Decimal(0)) / len(amounts)).quantize(NANO)


def is_money(values: Sequence[float] | Sequence[Decimal]) -> bool:
    """Whether values are Decimal dollars (decided by the first; they are never mixed)."""
    return bool(values) and isinstance(values[0], Decimal)
