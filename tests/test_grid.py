"""Prompt grids through `%%opus --each` against the simulator over real HTTP."""
from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import opus_magic
from opus_magic.core import session as session_module
from opus_magic.core.session import default_session
from opus_magic.notebook.state import STATE

CLASSIFY = "Answer with one of: billing, bug, other.\n"
TICKETS = [{"subject": "Refund please", "body": "The billing page charged me twice.",
            "label": "billing"},
           {"subject": "Export crash", "body": "Found a bug: export crashes.", "label": "bug"},
           {"subject": "Hello", "body": "Some other question about the team.", "label": "other"}]
VARIANTS = {"subject": CLASSIFY + "{subject}", "full": CLASSIFY + "{subject}\n{body}"}


def sent_prompts(simulator: Any) -> list[str]:
    return [r.messages[-1]["content"] for r in simulator.requests()]


def test_a_list_of_strings_fills_item_and_gives_a_dataframe(ip, simulator, capsys) -> None:
    ip.user_ns["words"] = ["cache", "stream"]
    ip.run_cell_magic("opus", "--each words -m haiku --max-tokens 30 -o out",
                      "Define {item} in one line.")
    assert sorted(sent_prompts(simulator)) == ["Define cache in one line.",
                                               "Define stream in one line."]
    frame = ip.user_ns["out"]
    assert isinstance(frame, pd.DataFrame) and len(frame) == 2
    assert list(frame["item"]) == ["cache", "stream"]
    assert set(frame["status"]) == {"ok"} and set(frame["variant"]) == {"cell"}
    runs = opus_magic.history(limit=10)
    assert {r.id for r in runs} == set(frame["run_id"])
    assert all(r.grid_id and r.variant == "cell" for r in runs)
    assert sorted(r.row for r in runs) == [0, 1]
    texts = {r.id: r.text for r in runs}
    assert list(frame["answer"]) == [texts[i] for i in frame["run_id"]]
    assert "Reused 0 cells, $0.00; ran 2" in capsys.readouterr().out


def test_dicts_with_variants_and_two_models_make_the_whole_grid(ip, simulator, capsys) -> None:
    ip.user_ns.update(tickets=TICKETS, prompts=VARIANTS)
    ip.run_cell_magic("opus", "--each tickets --variants prompts -m opus,haiku --max-tokens 20 "
                      "--check equals:label -o out --tag triage", "# variants from prompts")
    frame = ip.user_ns["out"]
    assert len(frame) == 12 and len(simulator.requests()) == 12
    assert CLASSIFY + "Export crash\nFound a bug: export crashes." in sent_prompts(simulator)
    assert set(zip(frame["variant"], frame["model"])) == {
        (v, m) for v in VARIANTS for m in ("opus", "haiku")}
    full = frame[frame["variant"] == "full"]
    assert full["check equals:label"].all()  # the body names the label: the simulator finds it
    assert list(full["answer"]) == list(full["label"])
    assert (frame["cost"] > 0).all() and frame["input_tokens"].gt(0).all()
    out = capsys.readouterr().out
    assert "pass rate" in out and "best" in out and "full" in out


def test_a_dataframe_with_the_cell_as_the_only_variant(ip, simulator) -> None:
    ip.user_ns["df"] = pd.DataFrame(TICKETS)
    ip.user_ns["greeting"] = "Hi"
    ip.run_cell_magic("opus", "--each df -m haiku -o out",
                      "{greeting}. " + CLASSIFY + "{body}")
    assert sent_prompts(simulator)[0].startswith("Hi. " + CLASSIFY)  # notebook names second
    assert list(ip.user_ns["out"]["label"]) == ["billing", "bug", "other"]


def test_every_built_in_check_and_a_notebook_function(ip, simulator) -> None:
    ip.user_ns["rows"] = [{"n": "42", "expected": "42"}, {"n": "43", "expected": "42"}]
    ip.user_ns["is_number"] = lambda answer, row: answer.strip().isdigit()
    ip.user_ns["half"] = lambda answer, row: 0.5
    checks = ("--check json --check contains:4 --check regex:^4[23]$ --check equals:expected "
              "--check max_words:1 --check is_number --check half")
    ip.run_cell_magic("opus", f"--each rows -m haiku -o out {checks}",
                      "The answer is {n}. Answer with one of: 42, 43.")
    frame = ip.user_ns["out"]
    assert list(frame["answer"]) == ["42", "43"]
    for name in ("json", "contains:4", "regex:^4[23]$", "max_words:1", "is_number"):
        assert list(frame[f"check {name}"]) == [True, True]
    assert list(frame["check equals:expected"]) == [True, False]
    assert list(frame["check half"]) == [0.5, 0.5]
    assert list(frame["passed"]) == [True, False]
    ip.user_ns["rows"] = [{"n": "no json here"}]
    ip.run_cell_magic("opus", "--each rows -m haiku -o out --check json --check max_words:2 "
                      "--check contains:zzz", "Say {n}.")
    row = ip.user_ns["out"].iloc[0]
    assert not row["check json"] and not row["check max_words:2"] and not row["check contains:zzz"]


def test_bad_grid_input_is_one_line(ip, simulator, capsys) -> None:
    ip.user_ns["rows"] = [{"a": 1}]
    ip.run_cell_magic("opus", "--each rows --check equals:missing", "x {a}")
    ip.run_cell_magic("opus", "--each nothing", "x")
    ip.run_cell_magic("opus", "--each rows --check undefined_fn", "x")
    ip.run_cell_magic("opus", "--variants rows", "x")
    err = capsys.readouterr().err
    assert "no column 'missing'" in err and "--each nothing: no such variable" in err
    assert "def undefined_fn(answer, row)" in err and "need --each VAR" in err
    ip.run_cell_magic("opus", "--each rows --concurrency 0", "x {a}")
    ip.run_line_magic("opus", "config concurrency=many")
    err = err + capsys.readouterr().err
    assert "--concurrency 0: use a whole number" in err
    assert "Setting 'concurrency' cannot be 'many'" in err  # refused when set, changing nothing
    assert "Traceback" not in err and simulator.requests() == []
    ip.run_line_magic("opus", "help")
    assert "--each VAR" in capsys.readouterr().out


def test_a_rerun_reuses_every_finished_cell_and_fresh_runs_them_again(ip, simulator, capsys,
                                                                      monkeypatch) -> None:
    ip.user_ns.update(tickets=TICKETS, prompts=VARIANTS)
    line = "--each tickets --variants prompts -m opus,haiku --max-tokens 20 -o out"
    ip.run_cell_magic("opus", line, "#")
    first = ip.user_ns["out"]
    assert len(simulator.requests()) == 12
    capsys.readouterr()
    ip.run_cell_magic("opus", line, "#")
    assert len(simulator.requests()) == 12  # nothing sent
    assert "Reused 12 cells, $0.00; ran 0" in capsys.readouterr().out
    assert list(ip.user_ns["out"]["answer"]) == list(first["answer"])
    monkeypatch.setattr(session_module, "_default", None)  # a new kernel: history is all it has
    ip.run_line_magic("reload_ext", "opus_magic")
    ip.run_cell_magic("opus", line, "#")
    assert len(simulator.requests()) == 12 and "Reused 12 cells" in capsys.readouterr().out
    ip.run_cell_magic("opus", line + " --tag other", "#")  # another grid: free copies
    copies = ip.user_ns["out"]
    assert len(simulator.requests()) == 12 and (copies["cost"] == 0).all()
    assert set(copies["reused_from"]) == set(first["run_id"])
    ip.run_cell_magic("opus", line + " --fresh", "#")
    assert len(simulator.requests()) == 24


def test_a_stopped_grid_continues_where_it_stopped(ip, simulator, capsys) -> None:
    simulator.configure(tokens_per_second=400)
    ip.user_ns["topics"] = [f"topic {i}" for i in range(12)]
    line = "--each topics -m haiku --max-tokens 60 --concurrency 2 -o out"
    done = threading.Event()

    def stop_after_four() -> None:  # four cells recorded here, not only sent by the server
        while not done.wait(0.02):
            if sum(r.status == "ok" for r in opus_magic.history(limit=None)) >= 4:
                STATE.stop_grids()
                return

    watcher = threading.Thread(target=stop_after_four)
    watcher.start()
    ip.run_cell_magic("opus", line, "Write about {item}.")
    done.set()
    watcher.join()
    frame = ip.user_ns["out"]
    finished = int((frame["status"] == "ok").sum())
    assert 4 <= finished < 12 and "run the cell again to continue" in capsys.readouterr().out
    sent = len(simulator.requests())
    unfinished = {f"Write about {topic}." for topic, status in zip(frame["item"], frame["status"])
                  if status != "ok"}
    simulator.configure(tokens_per_second=None)
    ip.run_cell_magic("opus", line, "Write about {item}.")
    # only the unfinished cells are asked again (an attempt Stop abandoned while it was still
    # connecting may reach the server late, so the prompts are compared, not a count)
    asked = {r.messages[-1]["content"] for r in simulator.requests()[sent:]}
    assert asked == unfinished
    rerun = list(ip.user_ns["out"]["status"])
    assert rerun.count("reused") == finished and rerun.count("ok") == 12 - finished
    assert f"Reused {finished} cells, $0.00; ran {12 - finished} " in capsys.readouterr().out


def test_dry_run_shows_cells_and_the_cost_range_per_model(ip, simulator, capsys) -> None:
    ip.user_ns.update(tickets=TICKETS, prompts=VARIANTS)
    ip.run_cell_magic("opus", "--each tickets --variants prompts -m opus,haiku --dry-run "
                      "--max-tokens 100", "#")
    out = capsys.readouterr().out
    assert "12 cells (2 variants × 2 models × 3 rows); nothing was sent" in out
    assert "opus: 6 cells" in out and "haiku: 6 cells" in out
    assert "Worst case of the whole grid" in out and "Session budget" not in out
    ip.run_line_magic("opus", "budget 0.0002")   # below the grid's worst case, ≈$0.0003 on 5.5
    ip.run_cell_magic("opus", "--each tickets --variants prompts -m opus,haiku --dry-run "
                      "--max-tokens 100", "#")
    assert "Session budget: $0.0002 remains; cells start only while" in capsys.readouterr().out
    assert simulator.requests() == []


def test_grid_and_compare_by_tag_from_history(ip, simulator, capsys) -> None:
    ip.user_ns.update(tickets=TICKETS)
    ip.run_cell_magic("opus", "--each tickets -m haiku --check equals:label --tag a",
                      CLASSIFY + "{subject}")
    ip.run_cell_magic("opus", "--each tickets -m haiku --check equals:label --tag b",
                      CLASSIFY + "{subject} {body}")
    grid_id = opus_magic.last_run().grid_id
    capsys.readouterr()
    ip.run_line_magic("opus", f"grid {grid_id[:6]}")
    out = capsys.readouterr().out
    assert f"Grid {grid_id}" in out and "cell/haiku" in out and "100 %" in out
    ip.run_line_magic("opus", "compare --tag a --tag b")
    out = capsys.readouterr().out
    assert "pass rate" in out and "100 %" in out and out.count("\n") >= 6
    ip.run_line_magic("opus", "grid nosuchgrid")
    assert "no grid 'nosuchgrid'" in capsys.readouterr().err


@pytest.mark.parametrize("style,retry_after", [("anthropic", True), ("openai", False)])
def test_the_scheduler_keeps_within_the_simulators_rate_limits(ip, simulator, capsys, style,
                                                               retry_after) -> None:
    """Scaled down: 10 requests and 3,000 tokens a second; 40 cells need several refills."""
    simulator.limit(requests=10, tokens=3000, window_s=1.0, style=style, retry_after=retry_after)
    ip.user_ns["items"] = [f"thing {i}" for i in range(40)]
    ip.run_cell_magic("opus", "--each items -m haiku --max-tokens 40 --concurrency 8 -o out",
                      "Name {item}.")
    frame = ip.user_ns["out"]
    assert (frame["status"] == "ok").all() and len(frame) == 40
    refused = [r for r in simulator.requests() if r.status == 429]
    assert len(refused) <= 5
    limits = opus_magic.last_run().rate_limits
    assert limits["requests"]["limit"] == 10 and limits["tokens"]["limit"] == 3000


def test_budget_admission_refuses_cells_that_would_cross_the_cap(ip, simulator, capsys) -> None:
    ip.user_ns["items"] = [f"thing {i}" for i in range(6)]
    ip.run_line_magic("opus", "budget 0.012")
    ip.run_cell_magic("opus", "--each items -m opus --max-tokens 300 -o out", "Explain {item}.")
    frame = ip.user_ns["out"]
    assert default_session().spent <= Decimal("0.012")
    skipped = frame[frame["status"] == "skipped"]
    assert len(skipped) >= 1 and skipped["error"].str.contains("budget").all()
    assert len(simulator.requests()) == int((frame["status"] == "ok").sum())
    assert "cells not run: over the session budget" in capsys.readouterr().out.replace("\n", " ")


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.integers(1, 5), models=st.sampled_from(["opus", "haiku", "opus,haiku", "sonnet"]),
       max_tokens=st.integers(20, 400), cap_thousandths=st.integers(0, 30),
       concurrency=st.integers(1, 6))
@example(rows=4, models="opus", max_tokens=179, cap_thousandths=15, concurrency=5)  # an output
# estimate above max_tokens once stopped a cell whose worst case had been admitted, and crossed
def test_a_grid_never_crosses_the_budget(ip, simulator, rows, models, max_tokens,
                                         cap_thousandths, concurrency) -> None:
    session = default_session()
    cap = session.spent + Decimal(cap_thousandths) / 1000
    ip.run_line_magic("opus", f"budget {cap}")
    ip.user_ns["items"] = [f"subject {i} {max_tokens}" for i in range(rows)]
    ip.run_cell_magic("opus", f"--each items -m {models} --max-tokens {max_tokens} --fresh "
                      f"--concurrency {concurrency} -o out", "Explain {item}.")
    frame = ip.user_ns["out"]
    assert session.spent <= cap
    assert set(frame["status"]) <= {"ok", "skipped"}
    assert len(frame) == rows * len(models.split(","))


def test_rate_limits_are_kept_on_the_record_and_named_when_low(ip, simulator, capsys) -> None:
    simulator.limit(requests=5, window_s=60, style="openai")
    for _ in range(5):
        ip.run_cell_magic("opus", "-m haiku --max-tokens 5", "Say hi.")
    run = opus_magic.last_run()
    requests = run.rate_limits["requests"]
    assert requests["limit"] == 5 and requests["remaining"] == 0
    assert 59 < requests["reset_s"] <= 60  # 12 s a request, five to refill
    assert opus_magic.history(limit=1)[0].rate_limits == run.rate_limits
    out = capsys.readouterr().out
    assert "Rate limit: 0 of 5 requests left (full again in 60 s)." in out
    assert out.count("Rate limit:") == 1  # under 20 % only: not at 1 of 5


def test_a_cut_stream_is_retried_and_a_cell_that_keeps_failing_is_marked(ip, simulator,
                                                                        capsys) -> None:
    ip.user_ns["items"] = ["one"]
    simulator.scenario("cut", after=3, times=1)
    ip.run_cell_magic("opus", "--each items -m haiku --max-tokens 50 -o out", "Write {item}.")
    frame = ip.user_ns["out"]
    assert list(frame["status"]) == ["ok"] and len(simulator.requests()) == 2
    assert "0 retries absorbed; 0 rate-limited (429) responses; 1 cell run again after a cut " \
           "stream." in capsys.readouterr().out
    ip.user_ns["items"] = ["two", "three"]
    simulator.scenario("cut", after=3, times=3)  # the first cell's three attempts all break
    ip.run_cell_magic("opus", "--each items -m haiku --max-tokens 50 --concurrency 1 -o out",
                      "Write {item}.")
    frame = ip.user_ns["out"]
    assert list(frame["status"]) == ["interrupted", "ok"]
    assert "partial answer" in frame["error"][0]
    assert "1 cell failed: run the cell again to retry only those" in capsys.readouterr().out
    sent = len(simulator.requests())
    ip.run_cell_magic("opus", "--each items -m haiku --max-tokens 50 -o out", "Write {item}.")
    assert len(simulator.requests()) == sent + 1
    assert list(ip.user_ns["out"]["status"]) == ["ok", "reused"]


def test_identical_cells_each_keep_their_own_run_on_a_rerun(ip, simulator) -> None:
    ip.user_ns["items"] = ["same", "same"]
    ip.run_cell_magic("opus", "--each items -m haiku --max-tokens 20 -o out", "Say {item}.")
    first = list(ip.user_ns["out"]["run_id"])
    ip.run_cell_magic("opus", "--each items -m haiku --max-tokens 20 -o out", "Say {item}.")
    assert list(ip.user_ns["out"]["run_id"]) == first and len(simulator.requests()) == 2


def test_the_retries_a_grid_shows_are_the_responses_its_records_say_were_retried(
        ip, simulator, capsys) -> None:
    simulator.scenario("429", retry_after=2, times=2)  # a 2 s countdown ticks each second
    ip.user_ns["items"] = ["one", "two", "three"]
    ip.run_cell_magic("opus", "--each items -m haiku --max-tokens 20 --concurrency 2 -o out",
                      "Name {item}.")
    assert list(ip.user_ns["out"]["status"]) == ["ok", "ok", "ok"]
    grid_id = opus_magic.last_run().grid_id
    runs = [r for r in opus_magic.history(limit=None) if r.grid_id == grid_id]
    assert sum(r.retry_count for r in runs) == 2
    assert "; 2 retries absorbed; 2 rate-limited (429) responses." in capsys.readouterr().out
    assert len(simulator.requests()) == 5
