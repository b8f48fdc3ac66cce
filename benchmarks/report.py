"""RESULTS.md from one run: machine, versions, the targets met or not, then every measurement."""
from __future__ import annotations

from typing import Any

from . import history_postgres, pacing, sections, stored
from .figures import targets
from .why import explain

SECTIONS = (  # (title, how it is written, the measurements it shows)
    ("1. Streaming cost and linearity", sections.section_streaming, ("streaming",)),
    ("2. Claude's native stream", sections.section_native, ("native",)),
    ("Peak memory", sections.section_memory, ("memory",)),
    ("3. Frontend traffic", sections.section_traffic, ("streaming",)),
    ("4. Fan-out", sections.section_fanout, ("fanout",)),
    ("5. History", sections.section_history, ("history",)),
    ("5b. History on PostgreSQL beside SQLite", history_postgres.section, ("history_pg",)),
    ("6. Start-up", sections.section_startup, ("startup", "profiles")),
    ("7. Peers side by side", sections.section_peers, ("peers", "first_cell")),
    ("Profiles", sections.section_profiles, ("profiles",)),
    ("8. Grids", sections.section_grid, ("grid",)),
    ("8b. Pacing under rate limits, beside promptfoo", pacing.section, ("pacing",)),
    ("9. Attachments", sections.section_attach, ("attach",)),
    ("10. Scale: a 10,000-cell grid, and a batch grid split", sections.section_scale, ("scale",)),
)


def render(results: dict[str, Any]) -> str:
    """The whole report as Markdown."""
    checks = targets(results)
    lines = ["# Benchmark results", "", written(results), "",
             "## Machine and versions", "", *machine_lines(results), "",
             "## Targets", "",
             "| # | target | measured | limit | verdict |", "|---|---|---:|---:|---|",
             *(check.row() for check in checks), ""]
    unmet = [check for check in checks if check.met is False]
    if unmet:
        lines += ["## Why some targets are not met", ""]
        given: list[str] = []
        for check in unmet:
            reason = explain(check.key, results)
            said = reason in given
            given.append(reason)
            lines += [f"- **{check.name}** ({check.measured:.3g} {check.unit} against "
                      f"{check.limit:g}): {'the same traffic as above.' if said else reason}", ""]
    for title, section, names in SECTIONS:
        measured = stored.when(results, names)
        lines += [f"## {title}", "", *([f"_{measured}_", ""] if measured else []),
                  *section(results), ""]
    return "\n".join(lines).rstrip() + "\n"


def written(results: dict[str, Any]) -> str:
    """The report's first line: when it was measured, in one run or section by section."""
    run = f"`benchmarks/run.py{' --quick' if results.get('quick') else ''}`"
    how = ("What is measured and how: `benchmarks/README.md`. Every timing is a median of "
           "several runs; ratios compare clients measured side by side, interleaved, in one run.")
    measured = results.get("measured") or {}
    if len({entry["at"] for entry in measured.values()}) <= 1:
        return (f"Written by {run} on {results['started']} in "
                f"{results['duration_s'] / 60:.1f} minutes. {how}")
    latest = [name for name, entry in measured.items() if entry["at"] == results["started"]]
    return (f"Written by {run} section by section: each section says when it was measured; "
            f"the latest run measured {', '.join(latest)} on {results['started']} in "
            f"{results['duration_s'] / 60:.1f} minutes. {how}")


def machine_lines(results: dict[str, Any]) -> list[str]:
    machine, versions = results["machine"], results["versions"]
    start, end = results["load_start"], results.get("load_end") or results["load_start"]
    timings = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in results["timings"].items())
    return [
        f"- {machine['cpu']}, {machine['cores']} cores, {machine['memory']}; {machine['os']}",
        f"- Python {machine['python']}; " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        f"- Load average (1 min) {start[0]:.2f} at the start, {end[0]:.2f} at the end"
        f"{' of the latest run' if stored.when(results, list(results['timings'])) else ''}: the machine "
        "is shared, so absolute times move between runs; the ratios move much less.",
        f"- Section times: {timings}.",
    ]
