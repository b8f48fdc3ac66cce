"""A grid bigger than one provider batch: split within each API's limits (pure), then submitted
to the simulator's batch engines as several batches and shown and collected as one grid."""
from __future__ import annotations

import pytest

import opus_magic
from opus_magic.core.batch import split as splitting
from opus_magic.core.batch.split import ENVELOPE, LIMITS, BatchLimits, split
from opus_magic.core.batch.submit import collect
from opus_magic.core.grid import batch as gridbatch
from opus_magic.core.grid.spec import plan_grid
from opus_magic.core.grid.summary import from_history
from opus_magic.core.run.request import CellInput
from opus_magic.core.session import default_session
from opus_magic.errors import UsageError
from opus_magic.notebook.grid.batch import latest_watch, stop_watching
from opus_magic.notebook.grid.run import build_spec
from opus_magic.store.grids import grid_cells
from opus_magic.wire.batch.engines import request_bytes


def test_the_providers_limits_are_the_documented_ones() -> None:
    assert LIMITS["anthropic"] == BatchLimits(100_000, 256_000_000)
    assert LIMITS["openai"] == BatchLimits(50_000, 200_000_000)


@pytest.mark.parametrize(("sizes", "limits", "parts"), [
    ([], BatchLimits(2, 10_000), []),
    ([10] * 5, BatchLimits(2, 10_000), [(0, 2), (2, 4), (4, 5)]),
    ([10] * 5, BatchLimits(100, ENVELOPE + 25), [(0, 2), (2, 4), (4, 5)]),  # 25 bytes: two a batch
    ([20, 5, 5, 20], BatchLimits(100, ENVELOPE + 30), [(0, 3), (3, 4)]),
    ([ENVELOPE], BatchLimits(1, 2 * ENVELOPE), [(0, 1)]),
])
def test_requests_are_split_in_order_within_both_limits(sizes: list[int], limits: BatchLimits,
                                                        parts: list[tuple[int, int]]) -> None:
    found = split(sizes, limits)
    assert [(r.start, r.stop) for r in found] == parts
    for part in found:
        assert len(part) <= limits.requests
        assert sum(sizes[i] for i in part) <= limits.bytes - ENVELOPE


def test_a_request_no_batch_can_hold_is_refused_with_what_to_do() -> None:
    with pytest.raises(UsageError, match="send it interactively"):
        split([10, 5_000], BatchLimits(10, ENVELOPE + 100))


def test_a_requests_size_is_what_it_adds_to_the_batch() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hé"}], "stream": True,
            "max_tokens": 5}
    sizes = {api: request_bytes(api, "g1", body) for api in ("anthropic", "openai")}
    assert sizes["openai"] > sizes["anthropic"] > len(b'"custom_id": "g1"')
    longer = {**body, "messages": [{"role": "user", "content": "hé" * 100}]}
    assert request_bytes("openai", "g1", longer) - sizes["openai"] == 99 * len('h\\u00e9')


def test_a_grid_over_the_limits_goes_as_several_batches_collected_as_one(ip, simulator) -> None:
    session = default_session()
    words = [f"topic {i}" for i in range(7)]
    spec = build_spec(CellInput(prompt="Define {item}.", models=("haiku",), max_tokens="5",
                                tag="split"), {"words": words}, "words", None, [], None, False)
    grid = plan_grid(session, spec)
    plan = gridbatch.plan_batch(session, grid, record_reused=False)
    one = max(request_bytes(api, "g0", plan.cells[0].plan.body) for api in LIMITS)
    limits = {api: BatchLimits(3, ENVELOPE + 2 * one + one // 2) for api in LIMITS}
    rows = gridbatch.submit(session, plan, limits=limits)
    assert [len(row.cells) for row in rows] == [2, 2, 2, 1]  # bytes bind before requests
    assert len({row.provider_batch_id for row in rows}) == 4 and {r.grid_id for r in rows} == {
        grid.id}
    simulator.batches(end_now=True)
    collect(session)
    cells = from_history(grid_cells(session.store(grid.settings), grid.id))
    assert [c.row for c in cells] == list(range(7)) and {c.status for c in cells} == {"ok"}
    assert {c.record.batch_id for c in cells} == {row.id for row in rows}


def test_the_magic_shows_a_split_grid_as_one(ip, simulator, capsys, monkeypatch) -> None:
    for api in ("anthropic", "openai"):
        monkeypatch.setitem(splitting.LIMITS, api, BatchLimits(2, 256_000_000))
    ip.user_ns["words"] = [f"topic {i}" for i in range(5)]
    try:
        ip.run_cell_magic("opus", "--each words -m haiku --max-tokens 5 --batch -o out",
                          "Define {item}.")
        watch = latest_watch()
        assert watch is not None and len(watch.rows) == 3
        simulator.batches(end_now=True)
        assert watch.done.wait(60) and not watch.errors
    finally:
        stop_watching()
    frame = ip.user_ns["out"]
    assert len(frame) == 5 and set(frame["status"]) == {"ok"}
    assert len({r.batch_id for r in opus_magic.history(limit=10)}) == 3
    assert "pass rate" in capsys.readouterr().out
