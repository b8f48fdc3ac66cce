"""A grid's checks on its batch results: the submitting kernel's own checks (notebook functions
included, kept by its session) while it lives; in any other process the built-in checks, rebuilt
from their names."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opus_magic.core.grid.checks import Check, built_in


def labels(checks: Sequence[Check], row: Mapping[str, Any]) -> dict[str, Any]:
    """What a batch cell carries so its answer can be checked when it is collected."""
    return {"check_names": [check.name for check in checks], "row_fields": dict(row)}


def run_checks(cell_labels: Mapping[str, Any], answer: str,
               kept: Mapping[str, Sequence[Check]]) -> dict[str, bool | float | None] | None:
    """The checks of a collected answer (None when its grid has none); a notebook function
    this process does not know is left out (only the kernel that submitted knows it)."""
    names = cell_labels.get("check_names")
    if not names:
        return None
    known = {c.name: c for c in kept.get(cell_labels.get("grid_id") or "", [])}
    row = cell_labels.get("row_fields") or {}
    results: dict[str, bool | float | None] = {}
    for name in names:
        check = known.get(name) or built_in(name, [])
        if check is not None:
            results[name] = check.run(answer, row)
    return results
