"""How many paired rows a comparison needs to see a gap of a given size.

For McNemar's test on paired pass/fail rows (Connor, 1987), with ψ the share of discordant rows
(rows where exactly one arm passes), δ the gap in pass rate to detect, α two-sided and power
1 − β:

    n = ( z_{1−α/2}·√ψ + z_{1−β}·√(ψ − δ²) )² / δ²,   rounded up.

ψ is taken from the rows observed. A true gap of δ needs at least δ of the rows to disagree, so
ψ is floored at δ (which also covers arms that never disagreed). Example: ψ = 0.20, δ = 0.05,
α = 0.05, 80 % power: (1.95996·0.44721 + 0.84162·0.44441)² / 0.0025 = 1.25058² / 0.0025 → 626.
"""
from __future__ import annotations

import math
from statistics import NormalDist


def rows_to_detect(discordance: float, gap: float = 0.05, alpha: float = 0.05,
                   power: float = 0.8) -> int:
    """Paired rows needed to detect a `gap` in pass rate with McNemar's test (formula above)."""
    if not 0 < gap < 1 or not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError("gap, alpha and power are proportions strictly between 0 and 1")
    psi = min(1.0, max(discordance, gap))
    normal = NormalDist()
    z_alpha, z_power = normal.inv_cdf(1 - alpha / 2), normal.inv_cdf(power)
    root = z_alpha * math.sqrt(psi) + z_power * math.sqrt(psi - gap * gap)
    return math.ceil(root * root / (gap * gap))
