"""The widget view in real kernels: headless execution keeps readable outputs, and an interactive
frontend (allow_stdin) gets its cell back at once while the run streams and can still stop it."""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from opus_magic.cost.pricing import format_usd
from opus_magic.records import RunRecord
from opus_magic.store.queries import RunFilter, select_runs
from opus_magic.store.sqlite import Store
from opus_magic.view.live_only import LIVE_ONLY, drop_live_only
from opus_magic.view.run.panel import MESSAGES_PER_S
from opus_magic.view.run.widget import VIEW_MIME

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
jupyter_manager = pytest.importorskip("jupyter_client.manager")

KEY = "sk-test-0123456789abcdef"


@pytest.fixture
def kernel_env(simulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Kernels started from here inherit the simulator's URL and this test's history file."""
    monkeypatch.setenv("OPUS_MAGIC_BASE_URL", simulator.base_url)
    monkeypatch.setenv("OPUS_MAGIC_API_KEY", KEY)
    return simulator


def recorded(tag: str) -> list[RunRecord]:
    """Runs the kernel recorded with this tag, oldest first."""
    return select_runs(Store(os.environ["OPUS_MAGIC_HISTORY"]), RunFilter(tag=tag), oldest_first=True)


def widget_state(nb: Any) -> dict[str, Any]:
    return nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]


def children(state: dict[str, Any], model: dict[str, Any]) -> list[dict[str, Any]]:
    """The states of a saved box widget's children, in order."""
    return [state[child.removeprefix("IPY_MODEL_")]["state"] for child in model["children"]]


def view_output(cell: Any) -> dict[str, Any]:
    [output] = [o for o in cell.outputs if VIEW_MIME in o.get("data", {})]
    return output["data"]


def test_headless_notebook_keeps_the_widget_view_and_readable_text(kernel_env: Any, tmp_path: Any) -> None:
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[
        new_code_cell("%load_ext opus_magic"),
        new_code_cell("%%opus -o answer --tag nb\nExplain prompt caching."),
        new_code_cell("import opus_magic\nprint(answer == opus_magic.last_run().text)"),
        new_code_cell("%%opus -m opus,haiku --tag nbc\nExplain prompt caching."),
    ])
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     store_widget_state=True,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    [record] = recorded("nb")
    data = view_output(nb.cells[1])
    assert record.status == "ok" and record.text
    assert record.text in data["text/markdown"]  # the whole answer; text/plain previews it
    plain = data["text/plain"]
    assert plain.startswith(record.text.splitlines()[0]) and record.text.splitlines()[-1] in plain
    assert format_usd(record.cost) in plain and f"run {record.id}" in plain
    state = widget_state(nb)
    assert data[VIEW_MIME]["model_id"] in state
    run = children(state, state[data[VIEW_MIME]["model_id"]]["state"])[0]
    [text] = [c for c in children(state, run) if "opus-text" in c["_dom_classes"]]
    parts = children(state, text)
    assert all("opus-text-final" in part["_dom_classes"] for part in parts)
    shown = "".join(o["data"]["text/markdown"] for part in parts for o in part["outputs"])
    assert shown == record.text
    assert nb.cells[2].outputs[0]["text"].strip() == "True"
    compared = recorded("nbc")
    assert len(compared) == 2
    both = view_output(nb.cells[3])
    assert all(r.text in both["text/markdown"] for r in compared) and "cheapest" in both["text/plain"]
    assert not [o for c in nb.cells for o in c.outputs if o.get("name") == "stderr"
                and "Traceback" in o.get("text", "")]


class Kernel:
    """A real ipykernel driven like JupyterLab drives it: execute requests with allow_stdin."""

    def __init__(self) -> None:
        self.manager, self.client = jupyter_manager.start_new_kernel(kernel_name="python3")
        self.messages: list[dict[str, Any]] = []

    def run(self, code: str, allow_stdin: bool = True) -> dict[str, Any]:
        """Execute one cell; returns the reply as soon as the kernel gives it."""
        return self.client.execute_interactive(code, allow_stdin=allow_stdin, timeout=60,
                                               output_hook=self.messages.append)

    def printed(self) -> str:
        return "".join(m["content"]["text"] for m in self.messages if m["msg_type"] == "stream")

    def click(self, description: str) -> None:
        """Click the last button with this label, as the frontend would (a comm message)."""
        comm_id = [m["content"]["comm_id"] for m in self.messages if m["msg_type"] == "comm_open"
                   and m["content"]["data"]["state"].get("description") == description][-1]
        self.client.shell_channel.send(self.client.session.msg("comm_msg", {
            "comm_id": comm_id, "data": {"method": "custom", "content": {"event": "click"}}}))

    def run_interrupted(self, code: str) -> None:
        """Execute a cell and interrupt the kernel once the cell has begun."""
        msg_id = self.client.execute(code, allow_stdin=True)
        while True:
            message = self.client.get_iopub_msg(timeout=60)
            self.messages.append(message)
            if message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == "execute_input":
                break
        time.sleep(0.3)  # let the cell reach its pre_run_cell hook
        self.manager.interrupt_kernel()
        while True:
            message = self.client.get_iopub_msg(timeout=60)
            self.messages.append(message)
            if (message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == "status"
                    and message["content"]["execution_state"] == "idle"):
                return

    def stop(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture
def kernel(kernel_env: Any) -> Iterator[Kernel]:
    started = Kernel()
    yield started
    started.stop()


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_interactive_kernel_returns_the_cell_at_once_and_keeps_cell_order(kernel: Kernel,
                                                                         simulator: Any) -> None:
    kernel.run("%load_ext opus_magic")
    simulator.configure(tokens_per_second=40, answer_tokens=80)  # two seconds of streaming
    reply = kernel.run("%%opus -o answer --tag bg\nExplain prompt caching.")
    assert reply["content"]["status"] == "ok"
    assert not any(r.completed for r in simulator.requests())  # the cell ended first
    kernel.run("import opus_magic\nrun = opus_magic.last_run()\n"
               "print(run.tag, run.status, answer == run.text, len(run.text) > 0)")
    assert "bg ok True True" in kernel.printed()
    assert simulator.requests()[-1].completed


def test_stop_clicked_while_the_kernel_is_idle_ends_the_stream(kernel: Kernel, simulator: Any) -> None:
    kernel.run("%load_ext opus_magic")
    simulator.configure(tokens_per_second=40, answer_tokens=3_000)
    kernel.run("%%opus -o partial --tag stop\nExplain prompt caching.")
    wait_until(lambda: bool(simulator.requests()) and simulator.requests()[-1].chunks_sent >= 5)
    kernel.click("Stop")
    kernel.run("import opus_magic\nrun = opus_magic.last_run()\n"
               "print(run.status, partial == run.text, len(run.text) > 0)")
    assert "stopped True True" in kernel.printed()
    wait_until(lambda: simulator.requests()[-1].ended_at is not None)
    log = simulator.requests()[-1]
    assert not log.completed and log.chunks_sent < 300


def test_interrupting_the_next_cell_stops_the_runs_it_waits_for(kernel: Kernel, simulator: Any) -> None:
    kernel.run("%load_ext opus_magic")
    simulator.configure(tokens_per_second=40, answer_tokens=3_000)
    kernel.run("%%opus --tag waited\nExplain prompt caching.")
    wait_until(lambda: bool(simulator.requests()) and simulator.requests()[-1].chunks_sent >= 5)
    kernel.run_interrupted("print('next cell ran')")
    printed = kernel.printed()
    assert "the runs still streaming were stopped" in printed and "next cell ran" in printed
    [record] = recorded("waited")
    assert record.status == "stopped" and record.text
    wait_until(lambda: simulator.requests()[-1].ended_at is not None)
    assert not simulator.requests()[-1].completed


def test_a_long_answer_reaches_the_frontend_in_few_messages_and_about_twice_its_size(
        kernel: Kernel, simulator: Any) -> None:
    """Frontend traffic through a real kernel: the widgets carry the answer about once, the
    readable copy for saved notebooks once more; messages stay within the view's rate."""
    kernel.run("%load_ext opus_magic")
    simulator.configure(answer_tokens=20_000)  # full speed
    kernel.messages.clear()
    kernel.run("%%opus --max-tokens 30000 --tag traffic\nExplain prompt caching.",
               allow_stdin=False)
    [record] = recorded("traffic")
    assert record.status == "ok" and record.usage.output_tokens == 20_000
    sent = [m for m in kernel.messages if m["msg_type"] in (
        "comm_open", "comm_msg", "display_data", "update_display_data")]
    size = sum(len(json.dumps(m["content"])) for m in sent)
    updates = sum(1 for m in sent if m["msg_type"] == "comm_msg")
    assert updates <= 12 + MESSAGES_PER_S * record.duration_s + 2  # start, end, and the pushes
    # twice the answer (rendered parts, readable copy), the view's widgets, a little per update
    assert size <= 2.1 * len(record.text) + 30_000 + 3_000 * updates
    layouts = [m for m in sent if m["msg_type"] == "comm_open"
               and m["content"]["data"]["state"]["_model_name"] == "LayoutModel"]
    assert len(layouts) == 3  # the panel's parts, its box and the controls: none per text part


def test_an_interactive_view_hands_over_to_static_output_and_withdraws_its_controls(
        kernel: Kernel, simulator: Any) -> None:
    """What a saved notebook keeps: at the end the display holds HTML, Markdown and text (no
    widget), and once the next cell runs the controls' display holds no live widget either."""
    kernel.run("%load_ext opus_magic")
    kernel.messages.clear()
    kernel.run("%%opus --tag handover\nExplain prompt caching.")

    def displays() -> list[dict[str, Any]]:
        return [m["content"] for m in kernel.messages
                if m["msg_type"] in ("display_data", "update_display_data")]

    while not any("text/html" in c["data"] for c in displays()):  # the run streams on after the cell
        kernel.messages.append(kernel.client.get_iopub_msg(timeout=30))
    kernel.run("pass")  # the next cell: the controls are withdrawn
    [record] = recorded("handover")
    shown = displays()
    final = [c for c in shown if "text/html" in c["data"]][-1]["data"]
    assert VIEW_MIME not in final and "opus-static" in final["text/html"]
    assert record.text in final["text/markdown"] and f"run {record.id}" in final["text/plain"]
    assert format_usd(record.cost) in final["text/html"] and "complete" in final["text/html"]
    views = [c["data"][VIEW_MIME]["model_id"] for c in shown if VIEW_MIME in c["data"]]
    controls = [c for c in shown if VIEW_MIME in c["data"]][1]["transient"]["display_id"]
    last = [c for c in shown if c.get("transient", {}).get("display_id") == controls][-1]
    assert views[1] and last["data"][VIEW_MIME]["model_id"] == ""


def frontend_outputs(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The outputs a frontend keeps from these messages: displays appended, updated in place."""
    outputs: list[dict[str, Any]] = []
    where: dict[str, list[int]] = {}
    for message in messages:
        kind, content = message["msg_type"], message["content"]
        if kind not in ("display_data", "update_display_data"):
            continue
        output = {"output_type": "display_data", "data": content["data"],
                  "metadata": content["metadata"]}
        display_id = content.get("transient", {}).get("display_id", "")
        if kind == "display_data":
            where.setdefault(display_id, []).append(len(outputs))
            outputs.append(output)
        for index in where.get(display_id, ()) if kind == "update_display_data" else ():
            outputs[index] = output
    return outputs


def wait_for_answers(kernel: Kernel, count: int) -> None:
    """Read the kernel's messages until `count` runs were handed over to static output."""
    def ended() -> int:
        return sum(1 for m in kernel.messages if m["msg_type"] == "update_display_data"
                   and "text/html" in m["content"]["data"])

    while ended() < count:  # the runs stream on after the cell returned
        kernel.messages.append(kernel.client.get_iopub_msg(timeout=30))


@pytest.mark.parametrize("models", ["opus", "opus,haiku"])
def test_a_notebook_saved_right_after_an_opus_cell_keeps_answers_and_no_live_widget(
        kernel: Kernel, simulator: Any, models: str) -> None:
    """The last cell run is %%opus, so its controls are still live (Run again works); saving
    drops every output marked live-only and keeps each answer's static rendering."""
    kernel.run("%load_ext opus_magic")
    kernel.messages.clear()
    tag = f"saved-{len(models)}"
    kernel.run(f"%%opus -m {models} --tag {tag}\nExplain prompt caching.")
    wait_for_answers(kernel, 1)
    if models == "opus":
        kernel.click("Run again")  # the live row still works in the session
        wait_for_answers(kernel, 2)
    while not any(VIEW_MIME in o["data"] and o["data"][VIEW_MIME]["model_id"]  # the controls
                  for o in frontend_outputs(kernel.messages)):  # show once the columns ended
        kernel.messages.append(kernel.client.get_iopub_msg(timeout=30))
    records = recorded(tag)
    assert len(records) == 2
    shown = [m["content"]["metadata"] for m in kernel.messages if m["msg_type"] == "display_data"]
    assert shown == [LIVE_ONLY, LIVE_ONLY]  # the view while it streams, and its controls
    outputs = frontend_outputs(kernel.messages)
    live = [o for o in outputs if VIEW_MIME in o["data"]]
    assert len(live) == 1 and live[0]["data"][VIEW_MIME]["model_id"]  # the controls, live
    notebook = {"cells": [{"cell_type": "code", "outputs": outputs}]}
    assert drop_live_only(notebook) == 1
    [saved] = notebook["cells"][0]["outputs"]
    assert VIEW_MIME not in saved["data"] and "opus-static" in saved["data"]["text/html"]
    for record in records:
        assert record.text in saved["data"]["text/markdown"]
        assert format_usd(record.cost) in saved["data"]["text/html"]
