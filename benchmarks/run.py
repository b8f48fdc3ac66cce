"""Run every benchmark of opus_magic and write benchmarks/RESULTS.md (`make bench`).

    .venv/bin/python benchmarks/run.py [--quick] [--only SECTION[,SECTION...]] [--out PATH]

Talks only to 127.0.0.1 (a simulator process it starts); downloads nothing except, on first
use, the pinned peers into benchmarks/.venv-peers.
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import (  # noqa: E402
    attachments,
    fan_out,
    first_cell,
    grids,
    history_load,
    history_postgres,
    pacing,
    peers,
    profiles,
    scale,
    startup,
    stored,
    streaming,
)
from benchmarks.harness import SimProcess, compile_package, load_average, machine  # noqa: E402
from benchmarks.report import render  # noqa: E402

HERE = Path(__file__).resolve().parent
PACKAGES = ("opus_magic", "openai", "tiktoken", "ipython", "ipykernel", "ipywidgets",
            "jupyter_client")


@dataclass(frozen=True)
class Plan:
    """How much of each measurement to do."""

    rounds: dict[int, int]
    sdk_rounds: dict[int, int]
    paced: tuple[tuple[int, int], ...]
    big: int
    fanout_rounds: int
    history_runs: int
    inserts: int
    command_rounds: int
    startup_rounds: int
    first_cell_rounds: int
    peer_prompts: int
    install_peers: bool
    grid_window_s: float = 60.0
    grid_rows: int = 6
    grid_big: int = 1_000
    pacing_rows: int = 100
    attach_rounds: int = 5
    attach_bytes: int = attachments.TOTAL_BYTES
    scale_cells: int = 10_000
    split_cells: int = 2_000
    split_per_batch: int = 500


FULL = Plan(rounds={1_000: 5, 10_000: 3, 100_000: 3}, sdk_rounds={100_000: 1},
            paced=streaming.PACED, big=100_000, fanout_rounds=3, history_runs=100_000,
            inserts=200, command_rounds=7, startup_rounds=15, first_cell_rounds=7,
            peer_prompts=50, install_peers=True)
QUICK = Plan(rounds={300: 1, 3_000: 1}, sdk_rounds={}, paced=(), big=3_000, fanout_rounds=1,
             history_runs=2_000, inserts=10, command_rounds=2, startup_rounds=1,
             first_cell_rounds=1, peer_prompts=2,
             install_peers=False, grid_window_s=6.0, grid_rows=1, grid_big=50,
             pacing_rows=10, attach_rounds=1, attach_bytes=attachments.TOTAL_BYTES // 10,
             scale_cells=100, split_cells=50, split_per_batch=20)

Section = Callable[[SimProcess, Path, Plan], Any]


def run_profiles(sim: SimProcess, work: Path, plan: Plan) -> dict[str, Any]:
    result: dict[str, Any] = {"stream": streaming.profile_stream(sim, work, plan.big),
                              "imports": profiles.import_times(work)}
    db = work / history_load.DB_NAME
    if db.exists():
        result["stats"] = history_load.profile_stats(sim, work, db)
    return result


SECTIONS: dict[str, Section] = {
    "startup": lambda sim, work, plan: startup.measure_startup(work, plan.startup_rounds),
    "streaming": lambda sim, work, plan: streaming.measure_streaming(
        sim, work, plan.rounds, plan.sdk_rounds, plan.paced),
    "native": lambda sim, work, plan: streaming.measure_native(
        sim, work, max(plan.rounds.values()), plan.big),
    "memory": lambda sim, work, plan: {client: streaming.measure_memory(sim, work, client, plan.big)
                                       for client in ("magic", "floor")},
    "fanout": lambda sim, work, plan: fan_out.measure_fan_out(sim, work, plan.fanout_rounds),
    "history": lambda sim, work, plan: history_load.measure_history(
        sim, work, plan.history_runs, plan.inserts, plan.command_rounds),
    "history_pg": lambda sim, work, plan: history_postgres.measure_backends(
        work, plan.history_runs, plan.inserts, plan.command_rounds),
    "first_cell": lambda sim, work, plan: first_cell.measure_first_cell(
        sim, work, plan.first_cell_rounds),
    "peers": lambda sim, work, plan: peers.measure_peers(
        sim, work, plan.peer_prompts, plan.big, plan.install_peers),
    "profiles": run_profiles,
    "grid": lambda sim, work, plan: grids.measure_grids(
        sim, work, plan.grid_rows, plan.grid_big),
    "pacing": lambda sim, work, plan: pacing.measure_pacing(
        work, plan.pacing_rows, plan.grid_window_s, plan.install_peers),
    "attach": lambda sim, work, plan: attachments.measure_attachments(
        sim, work, plan.attach_rounds, total=plan.attach_bytes),
    "scale": lambda sim, work, plan: scale.measure_scale(
        sim, work, plan.scale_cells, plan.split_cells, plan.split_per_batch),
}


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def run(names: Sequence[str], plan: Plan, quick: bool,
        log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the named sections against one simulator process; a failing section is reported, not fatal."""
    started = time.perf_counter()
    compile_package()
    results: dict[str, Any] = {
        "started": dt.datetime.now().astimezone().isoformat(timespec="seconds"), "quick": quick,
        "machine": machine(), "versions": versions(), "load_start": load_average(), "timings": {}}
    with tempfile.TemporaryDirectory(prefix="opus-bench-") as tmp, SimProcess() as sim:
        work = Path(tmp)
        for name in names:
            log(f"[bench] {name} …")
            begun = time.perf_counter()
            try:
                results[name] = SECTIONS[name](sim, work, plan)
            except Exception as exc:  # one broken measurement must not lose the others
                results[name] = {"failed": f"{type(exc).__name__}: {exc}"}
                log(traceback.format_exc())
            results["timings"][name] = time.perf_counter() - begun
            log(f"[bench] {name} done in {results['timings'][name]:.0f} s")
    results["load_end"] = load_average()
    results["duration_s"] = time.perf_counter() - started
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the harness works")
    parser.add_argument("--only", help=f"comma list of sections: {', '.join(SECTIONS)}; the "
                        "others are kept from the results stored beside --out")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",")] if args.only else list(SECTIONS)
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        parser.error(f"unknown section {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    results = stored.stamp(run(names, QUICK if args.quick else FULL, args.quick), names)
    data = args.out.with_suffix(".json")
    kept = stored.read(data) if args.only else None
    if kept is not None and kept.get("quick") == args.quick:  # the other sections stay as stored
        results = stored.merge(kept, results, names)
    elif kept is not None:
        print(f"[bench] {data} holds {'quick' if kept.get('quick') else 'full'} results: "
              "not merged with these, written over")
    args.out.write_text(render(results))
    data.write_text(json.dumps(results, indent=1, default=str))
    print(f"[bench] wrote {args.out} in {results['duration_s'] / 60:.1f} minutes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
