"""Statistics for comparing prompt variants honestly: pure functions, no I/O.

- `intervals.py`: Wilson intervals (plain and clustered by row), bootstrap means;
- `resample.py` and `money.py`: the seeded joint resampling and Decimal dollars they share.
Each module's docstring gives its formulas.
"""
from opus_magic.stats.intervals import ClusteredRate, Interval, bootstrap_mean, wilson, wilson_clustered

__all__ = [
    "ClusteredRate", "Interval", "bootstrap_mean", "wilson", "wilson_clustered",
]
