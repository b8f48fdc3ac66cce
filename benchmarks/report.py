"""RESULTS.md from one run: machine, versions, the targets met or not, then every measurement."""
from __future__ import annotations

from typing import Any

from . import history_postgres, pacing, sections
from .figures import targets
from .why import explain

SECTIONS = (
    ("1. Streaming cost and linearity", sections.section_streaming),
    ("2. Claude's native stream", sections.section_native),
    ("Peak memory", sections.section_memory),
    ("3. Frontend traffic", sections.section_traffic),
    ("4. Fan-out", sections.section_fanout),
    ("5. History", sections.section_history),
    ("5b. History on PostgreSQL beside SQLite", history_postgres.section),
    ("6. Start-up", sections.section_startup),
    ("7. Peers side by side", sections.section_peers),
    ("Profiles", sections.section_profiles),
    ("8. Grids", sections.section_grid),
    ("8b. Pacing under rate limits, beside promptfoo", pacing.section),
    ("9. Attachments", sections.section_attach),
    ("10. Scale: a 10,000-cell grid, and a batch grid split", sections.section_scale),
)


def render(results: dict[str, Any]) -> str:
    """The whole report as Markdown."""
    checks = targets(results)
    lines = ["# Benchmark results", "",
             f"Written by `benchmarks/run.py{' --quick' if results.get('quick') else ''}` on "
             f"{results['started']} in {results['duration_s'] / 60:.1f} minutes. What is measured "
             "and how: `benchmarks/README.md`. Every timing is a median of several runs; ratios "
             "compare clients measured side by side, interleaved, in this one run.", "",
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
    for title, section in SECTIONS:
        lines += [f"## {title}", "", *section(results), ""]
    return "\n".join(lines).rstrip() + "\n"


def machine_lines(results: dict[str, Any]) -> list[str]:
    machine, versions = results["machine"], results["versions"]
    start, end = results["load_start"], results.get("load_end") or results["load_start"]
    timings = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in results["timings"].items())
    return [
        f"- {machine['cpu']}, {machine['cores']} cores, {machine['memory']}; {machine['os']}",
        f"- Python {machine['python']}; " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        f"- Load average (1 min) {start[0]:.2f} at the start, {end[0]:.2f} at the end: the machine "
        "is shared, so absolute times move between runs; the ratios move much less.",
        f"- Section times: {timings}.",
    ]
