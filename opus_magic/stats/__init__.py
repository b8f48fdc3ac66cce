"""Statistics for comparing prompt variants honestly: pure functions, no I/O.

- `intervals.py`: Wilson intervals (plain and clustered by row), bootstrap means;
- `paired.py`: McNemar's exact test, paired bootstrap differences, Holm's correction;
- `power.py`: rows needed to detect a gap in a paired comparison;
- `arms.py` and `verdict.py`: arms aligned on shared rows, compared pairwise, a typed verdict;
- `savings.py`: what one way of answering saves against another on the same rows;
- `forecast.py`: a seeded row sample and the full run's cost and time projected from it;
- `resample.py` and `money.py`: the seeded joint resampling and Decimal dollars they share.
Each module's docstring gives its formulas.
"""
from opus_magic.stats.arms import Arm, ArmSummary, RowOutcome
from opus_magic.stats.forecast import Forecast, Limits, SampledRow, forecast, sample_rows
from opus_magic.stats.intervals import (
    ClusteredRate,
    Interval,
    bootstrap_mean,
    wilson,
    wilson_clustered,
)
from opus_magic.stats.paired import PairedDifference, holm, mcnemar_exact, paired_bootstrap
from opus_magic.stats.power import rows_to_detect
from opus_magic.stats.savings import saving
from opus_magic.stats.verdict import CheaperArm, PairComparison, Verdict, compare_arms

__all__ = [
    "Arm", "ArmSummary", "CheaperArm", "ClusteredRate", "Forecast", "Interval", "Limits",
    "PairComparison", "PairedDifference", "RowOutcome", "SampledRow", "Verdict", "bootstrap_mean",
    "compare_arms", "forecast", "holm", "mcnemar_exact", "paired_bootstrap", "rows_to_detect",
    "sample_rows", "saving", "wilson", "wilson_clustered",
]
