"""The live cascade view (widget presentation forced) against the simulator over real HTTP:
paths, shares and the summary drawn; Stop keeps what finished and a re-run continues."""
from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from opus_magic.notebook.present import last_view
from opus_magic.view.grid.cascade_text import readable
from opus_magic.view.grid.cascade_widget import CascadeView

PROMPT = "Answer with one of: billing, bug, other.\n{item}"
ITEMS = [f"Ticket {i}: a billing question." for i in range(10)]


@pytest.fixture
def widget_ip(ip: Any) -> Any:
    ip.run_line_magic("config", "OpusMagics.view = 'widget'")
    ip.user_ns.update(items=ITEMS, billing=lambda answer, row: answer.strip() == "billing")
    return ip


def test_the_view_draws_paths_shares_and_the_summary(widget_ip, simulator) -> None:
    simulator.configure(accuracy={"haiku": 0.5})
    widget_ip.run_cell("%%opus --each items --cascade haiku,sonnet --max-tokens 5 "
                       f"--check billing --compare -o out\n{PROMPT}")
    view = last_view()
    assert isinstance(view, CascadeView)
    frame = widget_ip.user_ns["out"]
    went_on = int((frame["stage"] == 2).sum())
    assert 0 < went_on < 10 and frame["settled"].all()
    assert view.bar.value == view.bar.max == 10 and view.stop.disabled
    assert "haiku ✗ → sonnet ✓" in view.table.value and "haiku ✓" in view.table.value
    assert f"sonnet {went_on} ({went_on * 10} %)" in view.label.value
    assert "(measured)" in view.label.value
    assert "cost per correct" in view.summary.value and "sonnet alone" in view.summary.value
    assert frame.attrs["summary"] in readable(view.run)["text/plain"]


def test_stop_leaves_rows_unsettled_and_a_rerun_continues(widget_ip, simulator) -> None:
    simulator.configure(ttft_s=0.3, accuracy={"haiku": 0.0})  # every row needs sonnet
    line = ("%%opus --each items --cascade haiku,sonnet --max-tokens 5 --check billing "
            f"--concurrency 2 -o out\n{PROMPT}")
    before = last_view()

    def stop_after_three() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            view = last_view()
            current = view.run.current if isinstance(view, CascadeView) else None
            if view is not before and current and current[1].count("ok") >= 3:
                view.stop.click()
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=stop_after_three)
    watcher.start()
    widget_ip.run_cell(line)
    watcher.join()
    frame = widget_ip.user_ns["out"]
    assert not frame["settled"].any()  # stopped during haiku: no row reached its answer
    assert [r for r in simulator.requests() if "sonnet" in r.model] == []
    answered = int(frame["why not settled"].eq("stopped before its next stage").sum())
    assert 3 <= answered < 10 and (frame["attempts"] == 1).all()
    assert "rows not settled" in readable(last_view().run)["text/plain"]
    simulator.configure(ttft_s=0.0)
    widget_ip.run_cell(line)
    again = widget_ip.user_ns["out"]
    assert again["settled"].all() and (again["stage"] == 2).all()
    assert list(again["path"]) == ["haiku ✗ → sonnet ✓"] * 10


def test_stop_cancels_a_batch_stage_and_keeps_its_rows_named(widget_ip, simulator) -> None:
    simulator.batches(delay_s=600)  # the stage's batch would run for ten minutes
    before = last_view()

    def stop_once_submitted() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            view = last_view()
            if view is not before and isinstance(view, CascadeView) and view.run.running:
                view.stop.click()
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=stop_once_submitted)
    watcher.start()
    widget_ip.run_cell("%%opus --each items --cascade haiku,sonnet --max-tokens 5 "
                       f"--check billing --batch -o out\n{PROMPT}")
    watcher.join()
    simulator.batches(delay_s=0)
    frame = widget_ip.user_ns["out"]
    assert not frame["settled"].any() and (frame["attempts"] == 1).all()
    [batch] = view_run_batches()
    assert batch.collected_at and batch.counts.get("canceled") == len(ITEMS)
    assert "canceled" in readable(last_view().run)["text/plain"]


def view_run_batches() -> list[Any]:
    from opus_magic.core.session import default_session
    from opus_magic.store.batches import list_batches

    session = default_session()
    return list_batches(session.store(session.settings()))
