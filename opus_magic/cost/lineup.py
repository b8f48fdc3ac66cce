"""Where a model stands in its lineup: current or legacy, its successor and how their prices
compare, and the short names people use for them (`Opus 5.5`)."""
from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Protocol

from opus_magic.cost.model_info import ModelInfo

CLAUDE_ID = re.compile(r"^claude-([a-z]+)-(\d+(?:-\d+)?)$")


class Lookup(Protocol):
    """Anything that finds a model's entry by name (a Catalog)."""

    def get(self, name: str) -> ModelInfo | None: ...


def is_current(info: ModelInfo) -> bool:
    """Neither legacy nor retired: a model to start new work on."""
    return not (info.legacy or info.retired)


def display_name(model_id: str) -> str:
    """`claude-opus-5-5` -> `Opus 5.5`; ids of another shape are shown as they are."""
    found = CLAUDE_ID.match(model_id)
    if found is None:
        return model_id
    return f"{found[1].capitalize()} {found[2].replace('-', '.')}"


def change(old: Decimal, new: Decimal) -> str:
    """`20 % cheaper`, `10 % dearer` or `the same price`."""
    percent = (1 - new / old) * 100
    if percent == 0:
        return "the same price"
    return f"{abs(percent):.0f} % {'cheaper' if percent > 0 else 'dearer'}"


def price_change(old: ModelInfo, new: ModelInfo) -> str | None:
    """How `new`'s input and output prices compare with `old`'s; None when a price is unknown."""
    before, after = old.prices, new.prices
    if not (before.input and before.output and after.input is not None
            and after.output is not None):
        return None
    change_in, change_out = change(before.input, after.input), change(before.output, after.output)
    return change_in if change_in == change_out else f"input {change_in}, output {change_out}"


def legacy_note(info: ModelInfo | None, catalog: Lookup) -> str | None:
    """`legacy: Opus 5.5 is current, 20 % cheaper` for a legacy or retired model, else None."""
    if info is None or is_current(info):
        return None
    state = "retired" if info.retired else "legacy"
    current = catalog.get(info.successor) if info.successor else None
    if current is None:
        return state
    compared = price_change(info, current)
    return (f"{state}: {display_name(current.id)} is current"
            + (f", {compared}" if compared else ""))


def cheapest_current(models: Iterable[ModelInfo]) -> ModelInfo | None:
    """The current model with the lowest input plus output price (None when none is priced)."""
    priced = [m for m in models if is_current(m) and m.prices.input is not None
              and m.prices.output is not None]
    return min(priced, key=lambda m: (m.prices.input + m.prices.output, m.id), default=None)
