"""Statistics for comparing prompt variants honestly: pure functions, no I/O.

- `intervals.py`: Wilson intervals (plain and clustered by row), bootstrap means;
- `paired.py`: McNemar's exact test, paired bootstrap differences, Holm's correction;
- `power.py`: rows needed to detect a gap in a paired comparison;
- `resample.py` and `money.py`: the seeded joint resampling and Decimal dollars they share.
Each module's docstring gives its formulas.
"""
from opus_magic.stats.intervals import ClusteredRate, Interval, bootstrap_mean, wilson, wilson_clustered
from opus_magic.stats.paired import PairedDifference, holm, mcnemar_exact, paired_bootstrap
from opus_magic.stats.power import rows_to_detect

__all__ = [
    "ClusteredRate", "Interval", "PairedDifference", "bootstrap_mean", "holm", "mcnemar_exact", "paired_bootstrap", "rows_to_detect", "wilson", "wilson_clustered",
]
