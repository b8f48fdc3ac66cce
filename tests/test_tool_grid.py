"""Grids and batches with `--schema` and `--tools`, through the magic against the simulator over
real HTTP: schema fields as DataFrame columns, checks that name them, a loop per cell counted
once in full (live, from history, reused), and a batch that runs each loop's first step."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import opus_magic
from opus_magic.notebook.grid.batch import latest_watch, stop_watching

ROWS = [{"text": "I was charged twice on my billing statement, urgency 2.", "category": "billing"},
        {"text": "The export button crashes the app, a bug, urgency 5.", "category": "bug"},
        {"text": "An other question: which plan has more seats? urgency 1", "category": "other"},
        {"text": "My invoice and billing address are wrong, urgency 3.", "category": "billing"}]
CITIES = ["What's the weather in Lisbon?", "What's the weather in Oslo?"]
SETUP = '''
import pydantic
from typing import Literal

class Ticket(pydantic.BaseModel):
    category: Literal["billing", "bug", "other"]
    urgency: int

def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"{city}: 18 °C, light rain"
'''


@pytest.fixture
def shell(ip):
    ip.run_line_magic("opus", "config api=anthropic max_retries=0")
    ip.run_cell(SETUP)
    ip.user_ns.update(rows=ROWS, cities=CITIES)
    yield ip
    stop_watching()


def grid_runs(grid_id: str) -> list[Any]:
    return [r for r in reversed(opus_magic.history(limit=None)) if r.grid_id == grid_id]


def test_schema_fields_become_columns_and_checks_can_name_them(shell, simulator) -> None:
    shell.run_cell_magic("opus", "--each rows -m haiku-4.5 --schema Ticket --check equals:category "
                                 "--check 'field:urgency<=3' -o frame", "Classify: {text}")
    frame = shell.user_ns["frame"]
    assert list(frame["answer.category"]) == ["billing", "bug", "other", "billing"]
    assert list(frame["answer.urgency"]) == [2, 5, 1, 3]
    assert list(frame["check equals:category"]) == [True, True, True, True]
    assert list(frame["check field:urgency<=3"]) == [True, False, True, True]
    assert frame["schema_error"].isna().all()
    body = next(r.body for r in simulator.requests() if r.api == "anthropic")
    assert body["output_config"]["format"]["schema"]["required"] == ["category", "urgency"]


@pytest.mark.parametrize(("check", "message"), [
    ("field:priority<=3", "schema Ticket has no field 'priority' (it has category, urgency)"),
    ("field:urgency<=", "write field:NAME, or field:NAME<=3"),
])
def test_a_field_check_that_names_no_field_gets_one_line(shell, simulator, capsys, check,
                                                         message) -> None:
    shell.run_cell_magic("opus", f"--each rows -m haiku-4.5 --schema Ticket --check '{check}'",
                         "Classify: {text}")
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert simulator.requests() == []


def test_a_field_check_without_a_schema_says_to_add_one(shell, capsys) -> None:
    shell.run_cell_magic("opus", "--each rows --check 'field:urgency<=3'", "Classify: {text}")
    assert "add --schema" in capsys.readouterr().err


def test_each_cell_runs_its_loop_and_counts_the_whole_chain_once(shell, simulator,
                                                                 capsys) -> None:
    shell.run_cell_magic("opus", "--each cities -m haiku-4.5 --tools get_weather --tag weather "
                                 "-o frame", "{item}")
    frame = shell.user_ns["frame"]
    runs = [r for r in opus_magic.history(limit=None) if r.tag == "weather"]
    assert len(runs) == 4 and len({r.chain_id for r in runs}) == 2
    assert all(r.grid_id == runs[0].grid_id for r in runs)
    for row, answer in enumerate(frame["answer"]):
        steps = [r for r in runs if r.row == row]
        assert answer == max(steps, key=lambda r: r.step).text
        assert frame["cost"][row] == sum(r.cost for r in steps)  # the chain, in full
        assert frame["input_tokens"][row] == sum(r.usage.input_tokens for r in steps)
    total = sum(r.cost for r in runs)
    assert f"({total} spent)" in capsys.readouterr().out.replace("$", "")
    shell.run_line_magic("opus", "grid")  # from history: the same cells, the same costs
    shown = capsys.readouterr().out
    assert "2/2" in shown and str(total) in shown
    sent = len(simulator.requests())
    shell.run_cell_magic("opus", "--each cities -m haiku-4.5 --tools get_weather --tag weather "
                                 "-o again", "{item}")
    assert len(simulator.requests()) == sent  # every cell reused from history
    again = shell.user_ns["again"]
    assert list(again["status"]) == ["reused", "reused"]
    assert list(again["cost"]) == list(frame["cost"])


def test_a_batch_runs_each_loops_first_step_and_this_kernel_goes_on(shell, simulator,
                                                                    capsys) -> None:
    simulator.batches(delay_s=0)
    shell.run_cell_magic("opus", "--each cities -m haiku-4.5 --tools get_weather --batch "
                                 "--tag nightly -o frame", "{item}")
    watch = latest_watch()
    assert watch is not None and watch.done.wait(60) and not watch.errors
    assert "the loop goes on interactively when this kernel collects it" in capsys.readouterr().out
    runs = grid_runs(watch.grid_id)
    first = [r for r in runs if r.batch_id is not None]
    rest = [r for r in runs if r.batch_id is None]
    assert len(first) == 2 and len(rest) == 2
    assert all(r.step == 1 and r.cost_source == "batch price" and r.tool_results for r in first)
    assert all(r.step == 2 and r.cost_source == "catalog" and r.cell_key for r in rest)
    frame = shell.user_ns["frame"]
    assert all(text.startswith("get_weather returned:") for text in frame["answer"])
    for row in range(2):
        cell = [r for r in runs if r.row == row]
        assert frame["cost"][row] == sum(r.cost for r in cell) > Decimal(0)


def test_a_batch_with_a_schema_checks_what_it_collects(shell, simulator) -> None:
    simulator.batches(delay_s=0)
    shell.run_cell_magic("opus", "--each rows -m haiku-4.5 --schema Ticket --batch "
                                 "--check equals:category -o frame", "Classify: {text}")
    watch = latest_watch()
    assert watch is not None and watch.done.wait(60)
    frame = shell.user_ns["frame"]
    assert list(frame["answer.category"]) == ["billing", "bug", "other", "billing"]
    assert all(r.schema == "Ticket" and r.parsed for r in grid_runs(watch.grid_id))
