"""Keeps the benchmark harness from rotting: its modules import and its cheapest parts work.

No timing is asserted here; `make bench` measures.
"""
from __future__ import annotations

import importlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from benchmarks import clients, history_load, stored
from benchmarks.report import render
from opus_magic.sim.content.text import answer_chunks

MODULES = ("run", "harness", "kernel", "clients", "streaming", "fan_out", "history_load",
           "attachments", "scale",
           "history_postgres", "startup",
           "first_cell", "peers", "profiles", "figures", "sections", "why", "report", "stored")


@pytest.mark.parametrize("name", MODULES)
def test_benchmark_modules_import(name: str) -> None:
    importlib.import_module(f"benchmarks.{name}")


def test_reference_loops_read_the_whole_answer(simulator: Any) -> None:
    simulator.configure(answer_tokens=40)
    prompt = "smoke"
    expected = len("".join(answer_chunks([{"role": "user", "content": prompt}], 40,
                                         "claude-opus-4-6")))
    for loop in (clients.floor, clients.sdk_typed):
        assert loop(simulator.base_url, "claude-opus-4-6", prompt, 1000) == expected
        assert clients.LAST["chars"] == expected and clients.LAST["ttft_s"] is not None


def test_native_floor_reads_the_whole_messages_answer(simulator: Any) -> None:
    simulator.configure(answer_tokens=40)
    expected = len("".join(answer_chunks([{"role": "user", "content": "smoke"}], 40,
                                         "claude-opus-4-6")))
    assert clients.floor_native(simulator.base_url, "claude-opus-4-6", "smoke", 1000) == expected
    assert simulator.requests()[-1].api == "anthropic" and clients.LAST["ttft_s"] is not None


def test_history_build_inserts_and_report(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    built = history_load.build(path, 120)
    inserted = history_load.measure_inserts(path, 3)
    sizes = history_load.sizes(path)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 123
        assert db.execute("SELECT COUNT(*) FROM runs_fts WHERE runs_fts MATCH '\"#7\"'").fetchone()
    assert built["raw_bytes"] > built["prompt_and_answer_bytes"] > 0
    assert inserted["count"] == 3 and sizes["file_bytes"] > 0

    results = {"started": "now", "duration_s": 1.0, "quick": True, "timings": {"history": 1.0},
               "machine": {"cpu": "cpu", "cores": "2", "memory": "1 GiB", "os": "os",
                           "python": "3"},
               "versions": {"opus_magic": "0"}, "load_start": (0.0, 0.0, 0.0),
               "history": {**built, "insert": inserted, **sizes,
                           "history": {"first_s": 0.01, "median_s": 0.01, "spread": 0.1,
                                       "frontend_wall_s": 0.02, "output_bytes": 10},
                           "stats": {"missing": True}}}
    text = render(results)
    assert "| 5 | insert median" in text and "not measured in this run" in text
    assert "stats | – | the subcommand does not exist yet" in text.replace("`", "")



def _run_results(started: str, sections: dict[str, Any], load: float) -> dict[str, Any]:
    results = {"started": started, "duration_s": 60.0, "quick": False,
               "timings": {name: 1.0 for name in sections},
               "machine": {"cpu": "cpu", "cores": "2", "memory": "1 GiB", "os": "os",
                           "python": "3"},
               "versions": {"opus_magic": "0"}, "load_start": (load, 0.0, 0.0), **sections}
    return stored.stamp(results, list(sections))


def test_only_keeps_the_other_sections_and_says_when_each_was_measured(tmp_path: Path) -> None:
    first_cell = {"rounds": 7, "at_once_s": 0.9, "at_once_spread": 0.1, "at_once_max_s": 1.0,
                  "paused_s": 0.4, "paused_spread": 0.1, "pause_s": 1.0}
    earlier = _run_results("2026-01-01T00:00:00+00:00",
                           {"first_cell": first_cell, "native": {"failed": "RuntimeError: x"}},
                           1.5)
    path = tmp_path / "RESULTS.json"
    path.write_text(__import__("json").dumps(earlier))
    later = _run_results("2026-01-02T00:00:00+00:00",
                         {"first_cell": {**first_cell, "at_once_s": 0.25}}, 0.5)

    merged = stored.merge(stored.read(path), later, ["first_cell"])
    assert merged["first_cell"]["at_once_s"] == 0.25 and merged["native"] == earlier["native"]
    assert set(merged["timings"]) == {"first_cell", "native"}
    text = render(merged)
    assert "the latest run measured first_cell on 2026-01-02T00:00:00+00:00" in text
    assert "_Measured on 2026-01-01T00:00:00+00:00, load 1.50._" in text  # native's section
    assert "_Measured on 2026-01-02T00:00:00+00:00, load 0.50._" in text  # first_cell's
    assert "| 0.25 s |" in text and "its first words show 0.25 s" in text
    assert stored.read(tmp_path / "missing.json") is None
    assert "Measured on" not in render(earlier)  # one run: its header says when
