"""The results kept between runs: `--only` measures some sections again and keeps the others.

RESULTS.json holds every section's numbers and, in `measured`, when each was measured and how
loaded the machine was then; RESULTS.md is rendered again from the whole of it.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RUN_FIELDS = ("started", "quick", "machine", "versions", "load_start", "load_end", "duration_s")


def stamp(results: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """The run's results with when (and under what load) each of its sections was measured."""
    load = results.get("load_start") or (None,)
    measured = {name: {"at": results["started"], "load": load[0]} for name in names
                if name in results}
    return {**results, "measured": {**results.get("measured", {}), **measured}}


def read(path: Path) -> dict[str, Any] | None:
    """The results stored at `path` (RESULTS.json), or None when there are none to keep."""
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return stored if isinstance(stored, dict) and "started" in stored else None


def merge(stored: dict[str, Any], fresh: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """The stored results with the sections `names` replaced by this run's; the machine, the
    versions and the load are this run's, each section keeps when it was measured."""
    merged = {**stored, **{key: fresh[key] for key in RUN_FIELDS if key in fresh}}
    measured = dict(stored.get("measured") or {})
    for name, section in stored.items():  # results written before sections were stamped
        if name not in RUN_FIELDS and name not in ("timings", "measured") and name not in measured:
            at = section.get("run_at") if isinstance(section, dict) else None
            measured[name] = {"at": at or stored["started"], "load": None}
    timings = dict(stored.get("timings") or {})
    for name in names:
        merged[name] = fresh[name]
        timings[name] = fresh["timings"][name]
        measured[name] = fresh["measured"][name]
    merged["timings"], merged["measured"] = timings, measured
    return merged


def when(results: dict[str, Any], names: Sequence[str]) -> str | None:
    """When the sections `names` were measured, said once per distinct time; None when every
    section of the report was measured in one run (its header says when)."""
    measured = results.get("measured") or {}
    if len({entry["at"] for entry in measured.values()}) <= 1:
        return None
    times: dict[str, list[str]] = {}
    for name in names:
        if name in measured:
            entry = measured[name]
            load = f", load {entry['load']:.2f}" if entry.get("load") is not None else ""
            times.setdefault(f"{entry['at']}{load}", []).append(name)
    if not times:
        return None
    if len(times) == 1:
        return f"Measured on {next(iter(times))}."
    return "Measured on " + "; ".join(f"{at} ({', '.join(group)})"
                                      for at, group in times.items()) + "."
