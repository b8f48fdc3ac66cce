"""What `--sample N` projects for the whole dataset, as one paragraph every grid view shows:
"50,000 rows: $41 (38–45) interactive, $20.50 batch, ≈ 14 h at your rate limits"."""
from __future__ import annotations

from decimal import Decimal

from opus_magic.core.ab.forecast import Projection
from opus_magic.view import format as fmt
from opus_magic.view.grid.verdict_text import money

PACE = {"concurrency": "the calls in flight set the pace",
        "requests": "the requests-per-minute limit sets the pace",
        "tokens": "the tokens-per-minute limit sets the pace"}


def duration(seconds: float) -> str:
    """'45 s', '12 min', '14 h', '3.2 days'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def limits_text(projection: Projection) -> str:
    limits = projection.limits
    parts = [f"{limits.concurrency} calls at once"]
    if limits.requests_per_minute:
        parts.append(f"{limits.requests_per_minute:,.0f} requests a minute")
    if limits.tokens_per_minute:
        parts.append(f"{limits.tokens_per_minute:,.0f} tokens a minute")
    return ", ".join(parts)


NO_PROJECTION = ("No projection for the whole dataset: a sampled cell did not answer, or its "
                 "price is unknown; run the cell again to finish the sample.")


def forecast_lines(projection: Projection | None, excess: Decimal | None) -> list[str]:
    """The sample drawn, the full run's cost interactive and batch and its time, each with its
    95 % interval, and whether the budget would refuse it; or why there is no projection."""
    if projection is None:
        return [NO_PROJECTION]
    f = projection.forecast
    took = f.duration_s
    spread = (f" ({duration(took.low)}–{duration(took.high)})"
              if duration(took.low) != duration(took.high) else "")
    lines = [
        f"Sample: {f.sampled_rows:,} of {f.total_rows:,} rows drawn at random (seed "
        f"{f.sample_seed}; --seed N draws others). Projected for the whole dataset "
        f"({projection.cells:,} cells), 95 % intervals:",
        f"{f.total_rows:,} rows: {money(f.cost)} interactive, {money(f.batch_cost)} batch "
        f"({float(f.batch_discount) * 100:.0f} % off), "
        f"≈ {duration(took.estimate)}{spread} at your rate limits ({limits_text(projection)}; "
        f"{PACE[f.limited_by]}).",
    ]
    if excess is not None:
        lines.append(f"Over budget: the full run would cross what is left of the session budget "
                     f"by {fmt.money(excess)}, so it will be refused; raise the budget (%opus "
                     f"budget USD) or run it on fewer rows.")
    return lines
