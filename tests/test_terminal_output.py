"""What the terminal says: what a setting changed, long fields folded, counts in words, reuse."""
from __future__ import annotations

from typing import Any

import pytest

import opus_magic
from opus_magic.wording import plural

MANUAL = "\n".join(f"{n}. Rule number {n} of the support manual, with its details." for n in
                   range(1, 301))


def test_config_prints_what_changed_not_the_whole_table(ip: Any, simulator: Any,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("opus", "config model=sonnet max_tokens=512 timeout_s=60")
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["model                claude-opus-5-5 → sonnet",
                     "max_tokens           1024 → 512",
                     "timeout_s            60.0 (unchanged)"]
    ip.run_line_magic("opus", "config")
    assert len(capsys.readouterr().out.splitlines()) > 20      # alone, it lists every setting


def test_show_folds_a_long_system_prompt_and_full_expands_it(
        ip: Any, simulator: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.user_ns["manual"] = MANUAL
    ip.run_cell_magic("opus", "-m haiku -s {manual} --max-tokens 20", "When do refunds arrive?")
    run_id = opus_magic.last_run().id
    capsys.readouterr()
    ip.run_line_magic("opus", f"show {run_id}")
    folded = capsys.readouterr().out
    assert "8. Rule number 8" in folded and "9. Rule number 9" not in folded
    assert f"… 292 more lines: `%opus show {run_id} --full`" in folded
    assert "When do refunds arrive?" in folded                    # short fields stay whole
    ip.run_line_magic("opus", f"show {run_id} --full")
    full = capsys.readouterr().out
    assert MANUAL in full and "more lines" not in full


def test_counts_are_said_in_words() -> None:
    assert plural(1, "spooled run") == "1 spooled run"
    assert plural(7, "spooled run") == "7 spooled runs"
    assert plural(1_200, "cell") == "1,200 cells"


def test_reused_grid_cells_name_the_run_they_reuse(ip: Any, simulator: Any) -> None:
    ip.user_ns.update(rows=["billing", "bug"], prompts={"a": "Say {item}.", "b": "Write {item}."})
    line = "--each rows --variants prompts -m haiku --max-tokens 5 -o out"
    ip.run_line_magic("opus", line)
    first = ip.user_ns["out"]
    ip.run_line_magic("opus", line)
    again = ip.user_ns["out"]
    assert list(again["status"]) == ["reused"] * 4
    assert list(again["reused_from"]) == list(first["run_id"])
    assert len(simulator.requests()) == 4                           # nothing sent twice


def test_a_refused_runs_meter_agrees_with_its_summary(builtin_ip: Any) -> None:
    from opus_magic.notebook.present import last_view

    builtin_ip.run_line_magic("config", "OpusMagics.view = 'widget'")
    builtin_ip.run_line_magic("opus", "sim fault 401 times=1")
    builtin_ip.run_cell("%%opus -m haiku --max-tokens 20\nExplain prompt caching in three "
                        "sentences.")
    run, meter = opus_magic.last_run(), last_view().panel.meter.value
    assert run.status == "error" and run.usage.input_tokens == 0 and run.cost_source == "not billed"
    assert "0 in · 0 out" in meter and "$" not in meter           # as the summary says
    assert meter.count("not billed") == 3                          # input, output and total


def test_a_cached_prefix_is_one_count_once_the_server_gave_it(
        ip: Any, simulator: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.user_ns["manual"] = MANUAL
    ip.run_line_magic("opus", "config api=anthropic")   # breakpoints: one prefix, written then read
    for question in ("When do refunds arrive?", "And shipping?"):
        ip.run_cell_magic("opus", "-m opus-4.6 -s {manual} --max-tokens 20 --cache 5m", question)
    out = capsys.readouterr().out
    first, second = opus_magic.history(limit=2)[::-1]
    written = first.usage.cache_write_tokens
    assert written > 4096 and second.usage.cache_read_tokens == written
    assert "Caching: system marked (≈" in out        # before sending: an estimate, said so
    assert f"! Cache: 0 tokens read, {written:,} written" in out
    assert f"! Cache: {written:,} tokens read, 0 written" in out
    ip.run_line_magic("opus", f"show {second.id}")
    assert f"(cache read {written:,}, write 0)" in capsys.readouterr().out
