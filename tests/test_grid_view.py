"""The live grid view (widget presentation forced) against the simulator over real HTTP."""
from __future__ import annotations

import json
import threading
import time
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm

from opus_magic.notebook.present import last_view
from opus_magic.view.grid.widget import GridView


class Recorder:
    """Times of every widget message sent, through comm's documented transport hook."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def create(self, **kwargs: Any) -> BaseComm:
        return RecordingComm(self, **kwargs)


class RecordingComm(BaseComm):
    def __init__(self, recorder: Recorder, **kwargs: Any) -> None:
        self.recorder = recorder
        super().__init__(**kwargs)

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None,
                    buffers: Any = None, **keys: Any) -> None:
        json.dumps(data, default=str)
        if msg_type == "comm_msg":
            self.recorder.times.append(time.monotonic())


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(comm, "create_comm", recorder.create)
    return recorder


@pytest.fixture
def widget_ip(ip: Any) -> Any:
    ip.run_line_magic("config", "OpusMagics.view = 'widget'")
    return ip


def test_the_grid_streams_into_a_table_with_few_frontend_updates(widget_ip, simulator,
                                                                 recorder) -> None:
    """12 columns (3 variants × 4 models), slowed down so that many cells stream at once."""
    simulator.configure(tokens_per_second=300)
    widget_ip.user_ns["rows"] = [{"topic": t} for t in ("caching", "streaming", "budgets")]
    widget_ip.user_ns["prompts"] = {"a": "Explain {topic}.", "b": "Describe {topic}.",
                                    "c": "Summarise {topic}."}
    widget_ip.run_cell("%%opus --each rows --variants prompts -m opus,sonnet,haiku,4o "
                       "--max-tokens 80 --concurrency 12 -o out\n#")
    view = last_view()
    assert isinstance(view, GridView)
    frame = widget_ip.user_ns["out"]
    assert len(frame) == 36 and (frame["status"] == "ok").all()
    assert view.bar.value == view.bar.max == 36 and view.stop.disabled
    assert view.stop.layout.display == "none"  # the grid is over: no Stop left
    answer = frame["answer"][0]
    assert "<details class='opus-grid-cell'>" in view.table.value
    assert answer.replace("'", "&#x27;")[:30] in view.table.value
    assert "best" in view.summary.value or "pass rate" in view.summary.value
    span = recorder.times[-1] - recorder.times[0]
    assert len(recorder.times) <= 20 * max(span, 1.0)


def test_stop_keeps_finished_cells_and_a_rerun_continues(widget_ip, simulator) -> None:
    # Slow enough that the grid is still seconds from done after the third cell ends, even on a
    # loaded machine where the watching thread is scheduled late.
    simulator.configure(tokens_per_second=20)
    widget_ip.user_ns["items"] = [f"item {i}" for i in range(10)]
    line = ("%%opus --each items -m haiku --max-tokens 60 --concurrency 2 -o out\n"
            "Write about {item}.")

    before = last_view()  # an earlier test's grid view, already over

    def stop_after_three() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            view = last_view()  # three cells recorded by this grid, not only sent by the server
            if isinstance(view, GridView) and view is not before and view.run.count("ok") >= 3:
                view.stop.click()
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=stop_after_three)
    watcher.start()
    widget_ip.run_cell(line)
    watcher.join()
    frame = widget_ip.user_ns["out"]
    finished = int((frame["status"] == "ok").sum())
    assert 3 <= finished < 10 and view_readable_mentions(last_view(), "run the cell again")
    simulator.configure(tokens_per_second=None)
    widget_ip.run_cell(line)
    again = widget_ip.user_ns["out"]  # (a stopped attempt may still reach the server late, so
    statuses = again["status"].value_counts().to_dict()  # the grid's own account is the truth)
    assert statuses == {"reused": finished, "ok": 10 - finished}


def view_readable_mentions(view: GridView, text: str) -> bool:
    from opus_magic.view.grid.text import readable

    return text in readable(view.run)["text/plain"]


def test_the_table_keeps_up_with_the_progress_line(widget_ip, simulator) -> None:
    """At every redraw the cells the table shows as finished are the cells the line counts."""
    simulator.configure(tokens_per_second=40)
    widget_ip.user_ns["items"] = [f"item {i}" for i in range(12)]
    before = last_view()
    seen: list[tuple[int, int]] = []

    def on_label(change: Any) -> None:
        view = last_view()
        done = int(change["new"].split(": ", 1)[1].split("/", 1)[0])
        seen.append((done, view.table.value.count("<details class='opus-grid-cell'>")))

    def watch() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            view = last_view()
            if isinstance(view, GridView) and view is not before:
                view.label.observe(on_label, names="value")
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    widget_ip.run_cell("%%opus --each items -m haiku --max-tokens 30 --concurrency 2 -o out\n"
                       "Write about {item}.")
    watcher.join()
    assert (widget_ip.user_ns["out"]["status"] == "ok").all()
    assert len({done for done, _ in seen if 0 < done < 12}) >= 3, seen  # seen mid-grid
    assert all(done == shown for done, shown in seen), seen
    assert seen[-1] == (12, 12)  # the end is exact


def test_a_failed_cell_is_red_and_opens_to_its_row_expected_value_and_why(widget_ip,
                                                                          simulator) -> None:
    widget_ip.user_ns["tickets"] = [{"subject": "Charged twice", "label": "billing"},
                                    {"subject": "App crashes", "label": "bug"}]
    widget_ip.run_cell("def picky(answer, row):\n"
                       "    if row['label'] == 'bug':\n"
                       "        raise ValueError('no verdict for bugs')\n"
                       "    return True\n")
    widget_ip.run_cell("%%opus --each tickets -m haiku --max-tokens 5 --check equals:label "
                       "--check contains:zebra --check picky -o out\n"
                       "Classify. Answer with one of: billing, bug, other.\nSubject: {subject}")
    view = last_view()
    assert isinstance(view, GridView)
    table = view.table.value
    cells = table.split("<td class='opus-grid-td'")[1:]
    assert len(cells) == 2
    failed = cells[0]  # every cell fails contains:zebra: a failing border, never ✓'s green
    assert "border-left:3px solid color-mix(in srgb, var(--jp-error-color1" in failed
    assert "--jp-success-color1" not in failed.split(">", 1)[0]
    assert "Charged twice" in failed and "<b>label</b> billing" in failed  # input and expected
    assert "✗ contains:zebra: &#x27;zebra&#x27; is not in the answer" in failed
    erred = cells[1]  # a check that raised shows its error, apart from ✗
    assert "⚠ picky: check error: ValueError: no verdict for bugs" in erred
    assert "App crashes" in erred
