"""The reconciliation table: recorded and reported side by side per model (× UTC day), the
difference and its reasons, shares per user, project or API key, and the total (pure)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from opus_magic.core.reconcile.cells import (
    Recorded,
    Reported,
    recorded,
    reported_cost,
    reported_usage,
    row_tokens,
    total,
    value,
)
from opus_magic.core.reconcile.reasons import Reason, checked, explain
from opus_magic.cost.catalog import Catalog
from opus_magic.cost.pricing import from_pico
from opus_magic.store.reconcile import RecordedRow
from opus_magic.wire.reports.day import DayReport, Tokens

CELLS = ("day", "model")
SHARES = ("user", "project", "key")
GROUPINGS = CELLS + SHARES
OTHER = "(other charges)"
Key = tuple[str, ...]


@dataclass(frozen=True)
class Part:
    """A share of a row: what one user or project recorded, or one API key was billed for
    (its tokens at catalog prices)."""

    dimension: str
    name: str
    tokens: Tokens
    dollars: Decimal | None
    runs: int | None = None


@dataclass(frozen=True)
class Row:
    """One cell: its key (`Reconciliation.cells` order), both sides and why they differ."""

    key: Key
    recorded: Recorded
    reported: Reported
    reported_dollars: Decimal
    at_catalog: bool = False  # the cost report said nothing: reported tokens at catalog prices
    reasons: tuple[Reason, ...] = ()
    parts: tuple[Part, ...] = ()

    @property
    def difference(self) -> Decimal:
        return self.reported_dollars - self.recorded.dollars

    @property
    def percent(self) -> Decimal | None:
        if not self.recorded.dollars:
            return None
        return self.difference / self.recorded.dollars * 100


@dataclass(frozen=True)
class Reconciliation:
    """A provider's bill beside the history for a run of UTC days."""

    provider: str
    where: str
    days: tuple[str, ...]
    cells: tuple[str, ...]
    rows: tuple[Row, ...]
    total: Row
    fetched: str


def cells_of(by: Sequence[str]) -> tuple[str, ...]:
    """The cell's dimensions in the order asked, the model always among them."""
    asked = tuple(d for d in by if d in CELLS)
    return asked if "model" in asked else (*asked, "model")


def reconcile(rows: Iterable[RecordedRow], reports: Mapping[str, DayReport], catalog: Catalog,
              by: Sequence[str], keep: Callable[[str], bool] = lambda model: True) -> list[Row]:
    """Rows per cell, sorted by their key; `keep` says which models the provider bills."""
    cells = cells_of(by)
    sides: dict[Key, tuple[Recorded, Reported]] = defaultdict(lambda: (Recorded(), Reported()))
    parts: dict[Key, dict[tuple[str, str], Part]] = defaultdict(dict)

    def key(day: str, model: str) -> Key:
        return tuple(day if dimension == "day" else model for dimension in cells)

    for row in rows:
        model = catalog.resolve(row.response_model or row.model)
        if keep(model):
            k = key(row.day, model)
            sides[k] = (sides[k][0] + recorded(row), sides[k][1])
            for dimension in (d for d in by if d in ("user", "project")):
                share(parts[k], dimension, getattr(row, dimension) or f"(no {dimension})",
                      row_tokens(row), from_pico(row.cost_pico), row.runs)
    for day, report in reports.items():
        for line in report.usage:
            k = key(day, catalog.resolve(line.model) if line.model else "(all models)")
            sides[k] = (sides[k][0], sides[k][1] + reported_usage(line))
        for cost in report.costs:
            k = key(day, catalog.resolve(cost.model) if cost.model else OTHER)
            sides[k] = (sides[k][0], sides[k][1] + reported_cost(cost))
    return [row_of(k, *sides[k], cells, parts[k], catalog, "key" in by) for k in sorted(sides)]


def share(found: dict[tuple[str, str], Part], dimension: str, name: str, tokens: Tokens,
          dollars: Decimal | None, runs: int | None) -> None:
    old = found.get((dimension, name), Part(dimension, name, Tokens(), Decimal(0), 0))
    found[(dimension, name)] = Part(dimension, name, old.tokens + tokens,
                                    None if old.dollars is None or dollars is None
                                    else old.dollars + dollars,
                                    None if runs is None else (old.runs or 0) + runs)


def row_of(key: Key, mine: Recorded, theirs: Reported, cells: Sequence[str],
           parts: dict[tuple[str, str], Part], catalog: Catalog, keys: bool) -> Row:
    """One cell with its reasons and shares."""
    model = key[cells.index("model")]
    info = None if model == OTHER else catalog.get(model)
    catalog_value = value(theirs.tokens, info)
    at_catalog = not theirs.has_costs and catalog_value is not None
    dollars = theirs.billed if not at_catalog else catalog_value
    assert dollars is not None
    if model == OTHER:
        reasons = [Reason("other", dollars, "charges not per token (web search, code "
                                            "execution), which the history does not price")]
    else:
        reasons = checked(explain(model, mine, theirs, info), dollars - mine.dollars)
    if keys:
        for name, tokens in theirs.keys.items():
            share(parts, "key", name, tokens, value({"standard": tokens}, info), None)
    ordered = sorted(parts.values(), key=lambda p: (p.dimension, -(p.dollars or 0), p.name))
    return Row(key, mine, theirs, dollars, at_catalog, tuple(reasons), tuple(ordered))


def total_row(rows: Sequence[Row]) -> Row:
    """Every row summed, with every row's reasons."""
    mine = sum((row.recorded for row in rows), Recorded())
    theirs = sum((row.reported for row in rows), Reported())
    return Row(("total",), mine, theirs, sum((row.reported_dollars for row in rows), Decimal(0)),
               any(row.at_catalog for row in rows),
               tuple(reason for row in rows for reason in row.reasons))


def tokens_of(side: Recorded | Reported) -> Tokens:
    return total(side.tokens)
