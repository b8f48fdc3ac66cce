"""`--sample N --seed S`: a grid on rows drawn at random from a larger dataset, and the whole
dataset's cost and time projected from them, through the magic against the simulator over real
HTTP; the budget refuses a full run whose projection crosses it."""
from __future__ import annotations

import random
import re
from decimal import Decimal

import pytest

from opus_magic.core.session import default_session
from opus_magic.notebook.state import STATE
from opus_magic.stats import sample_rows

WORDS = "billing export cache token stream answer request limit price batch".split()


def dataset(count: int, seed: int = 11) -> list[dict[str, str]]:
    """Rows of 5 to 80 words: their prompts (and so their costs) differ."""
    rng = random.Random(seed)
    return [{"text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 80)))}
            for _ in range(count)]


GRID = "--each data -m haiku --max-tokens 20 -o out"
PROMPT = "Summarize in three words: {text}"


@pytest.fixture(autouse=True)
def no_forecasts():
    STATE.forecasts.clear()
    yield
    STATE.forecasts.clear()


def test_a_sample_runs_seeded_rows_and_its_interval_covers_the_full_runs_cost(
        ip, simulator, capsys) -> None:
    data = dataset(300)
    simulator.limit(requests=600, window_s=60, style="anthropic")
    ip.user_ns["data"] = data
    ip.run_cell_magic("opus", f"{GRID} --sample 40 --seed 3", PROMPT)
    out = capsys.readouterr().out
    sampled = ip.user_ns["out"]
    assert list(sampled["text"]) == [data[i]["text"] for i in sample_rows(300, 40, 3)]
    assert len(simulator.requests()) == 40
    assert "Sample: 40 of 300 rows drawn at random (seed 3; --seed N draws others)" in out
    shown = re.search(r"300 rows: \$([\d.]+) \(([\d.]+)–([\d.]+)\) interactive, \$([\d.]+) "
                      r"\(([\d.]+)–([\d.]+)\) batch \(50 % off\), ≈ (\d+) s", out)
    assert shown, out
    projection = next(iter(STATE.forecasts.values()))
    cost = projection.forecast.cost
    assert projection.forecast.batch_cost.estimate == (cost.estimate / 2).quantize(
        Decimal("1e-9"))
    assert projection.cells == 300 and projection.forecast.limited_by == "requests"
    assert int(shown[7]) == 30  # 300 calls at 600 requests a minute
    assert "the requests-per-minute limit sets the pace" in out
    # the whole dataset, every cell run again: its real cost lies inside the projected interval
    simulator.limit()
    ip.run_cell_magic("opus", f"{GRID} --fresh", PROMPT)
    full = ip.user_ns["out"]
    real = sum(full["cost"], Decimal(0))
    assert len(full) == 300 and (full["status"] == "ok").all()
    assert cost.low <= real <= cost.high
    assert cost.low < cost.estimate < cost.high  # an interval, not a point


def test_the_same_seed_draws_the_same_rows_and_reuses_them(ip, simulator, capsys) -> None:
    ip.user_ns["data"] = dataset(120)
    ip.run_cell_magic("opus", f"{GRID} --sample 10", PROMPT)
    first = list(ip.user_ns["out"]["text"])
    assert "(seed 0; --seed N draws others)" in capsys.readouterr().out
    ip.run_cell_magic("opus", f"{GRID} --sample 10", PROMPT)
    assert list(ip.user_ns["out"]["text"]) == first
    assert len(simulator.requests()) == 10  # the second draw is the first: every cell reused
    ip.run_cell_magic("opus", f"{GRID} --sample 10 --seed 1", PROMPT)
    assert list(ip.user_ns["out"]["text"]) != first


def test_the_budget_refuses_a_full_run_whose_projection_crosses_it(ip, simulator,
                                                                   capsys) -> None:
    ip.user_ns["data"] = dataset(400)
    ip.run_line_magic("opus", "budget 0.0006")
    ip.run_cell_magic("opus", f"{GRID} --sample 20", PROMPT)
    out = capsys.readouterr().out
    projected = next(iter(STATE.forecasts.values())).forecast.cost.estimate
    left = Decimal("0.0006") - default_session().budget.committed()
    assert projected > left
    assert "Over budget: the full run would cross what is left of the session budget by" in out
    sent = len(simulator.requests())
    ip.run_cell_magic("opus", GRID, PROMPT)
    refused = capsys.readouterr()
    assert len(simulator.requests()) == sent  # nothing was sent
    found = re.search(r"Not sent: the full grid is projected at ≈\$[\d.]+ \(\$[\d.]+–\$[\d.]+\), "
                      r"\$([\d.]+) more than the \$([\d.]+) left of the session budget; raise "
                      r"it \(%opus budget ([\d.]+)\)", refused.err)
    assert found and "Traceback" not in refused.err
    assert Decimal(found[1]) == pytest.approx(projected - left, rel=Decimal("0.01"))
    ip.run_line_magic("opus", f"budget {found[3]}")
    capsys.readouterr()
    ip.run_cell_magic("opus", GRID, PROMPT)
    assert "Not sent" not in capsys.readouterr().err  # raised as it said: the grid runs


@pytest.mark.parametrize(("flags", "message"), [
    ("--sample 0", "--sample 0: use a whole number of rows, 1 or more, e.g. 50."),
    ("--sample many", "--sample many: use a whole number of rows"),
    ("--sample 5 --seed x", "--seed x: use a whole number, 0 or more, e.g. --seed 7."),
    ("--seed 3", "--seed draws the rows of --sample N: add --sample, e.g. --sample 50."),
    ("--sample 5 --batch", "--sample times the rows it runs from here"),
])
def test_bad_sample_flags_are_one_line(ip, simulator, capsys, flags, message) -> None:
    ip.user_ns["data"] = dataset(10)
    ip.run_cell_magic("opus", f"{GRID} {flags}", PROMPT)
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert simulator.requests() == []


def test_sample_and_seed_need_a_grid(ip, simulator, capsys) -> None:
    ip.run_cell_magic("opus", "--sample 5", "Say hi.")
    assert "--sample and --seed draw rows of a grid: add --each VAR." in capsys.readouterr().err


def test_a_sample_with_a_failed_cell_says_why_it_projects_nothing(ip, simulator,
                                                                  capsys) -> None:
    ip.user_ns["data"] = dataset(50)
    simulator.scenario("cut", after=3, times=3)  # the first cell's three attempts all break
    ip.run_cell_magic("opus", f"{GRID} --sample 3 --concurrency 1", PROMPT)
    out = capsys.readouterr().out
    assert "No projection for the whole dataset: a sampled cell did not answer" in out
    assert not STATE.forecasts
