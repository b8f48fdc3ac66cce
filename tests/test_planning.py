"""Planning is settled once per cell or grid: settings, endpoints and calibration are read once,
and planning a grid's cells asks the history nothing per cell."""
from __future__ import annotations

from typing import Any

import pytest

from opus_magic.core.grid.spec import GridSpec, plan_grid
from opus_magic.core.run.request import CellInput
from opus_magic.core.session import default_session
from opus_magic.store.postgres import PgStore
from opus_magic.store.sqlite import Store

MODELS = ("haiku", "sonnet")


def grid_spec(rows: int) -> GridSpec:
    cell = CellInput(prompt="Classify: {item}", models=MODELS, max_tokens="5")
    table = [{"item": f"ticket {index}"} for index in range(rows)]
    prompts = {("cell", index): f"Classify: ticket {index}" for index in range(rows)}
    return GridSpec(cell=cell, rows=table, variants=[("cell", cell.prompt)], prompts=prompts)


@pytest.fixture
def counted_queries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SQL query any history backend runs from here on."""
    seen: list[str] = []
    for backend in (Store, PgStore):
        original = backend._rows

        def counting(self: Any, sql: str, args: Any = (), _original: Any = original) -> Any:
            seen.append(sql)
            return _original(self, sql, args)

        monkeypatch.setattr(backend, "_rows", counting)
    return seen


def test_a_200_cell_grid_on_postgresql_plans_without_a_query_per_cell(
        pg_url: str, simulator: Any, monkeypatch: pytest.MonkeyPatch,
        counted_queries: list[str]) -> None:
    monkeypatch.setenv("OPUS_MAGIC_HISTORY_URL", pg_url)
    monkeypatch.setenv("OPUS_MAGIC_BASE_URL", simulator.base_url)
    default_session().store(default_session().settings())  # migrated before counting
    counted_queries.clear()
    grid = plan_grid(default_session(), grid_spec(100))
    assert len(grid.cells) == 200 and all(cell.plan is not None for cell in grid.cells)
    # the calibration of tiktoken's estimates is read once per model, not once per cell
    calibration = [sql for sql in counted_queries if "tiktoken_input" in sql]
    assert len(calibration) == len(MODELS)
    assert len(counted_queries) <= len(MODELS)


def test_a_grid_settles_its_settings_once(simulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPUS_MAGIC_BASE_URL", simulator.base_url)
    session = default_session()
    loads = []
    original = session.settings
    monkeypatch.setattr(session, "settings", lambda **flags: loads.append(flags) or original(**flags))
    grid = plan_grid(session, grid_spec(30))
    assert len(grid.cells) == 60
    assert len(loads) <= len(MODELS) + 1  # once per model, and the grid's own
