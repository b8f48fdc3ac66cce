"""The tool loop's widget view against the simulator over real HTTP: a panel per model call with
its tool lines, Approve and Decline buttons the loop waits on, Stop, and the static page a saved
notebook keeps."""
from __future__ import annotations

import threading
from typing import Any

import pytest

from opus_magic.core.run.planner import Planner, cell_flags
from opus_magic.core.run.request import CellInput
from opus_magic.core.session import default_session
from opus_magic.core.tools.namespace import toolbox_from
from opus_magic.core.tools.toolbox import LoopSettings
from opus_magic.notebook.chains import ChainController

pytest.importorskip("ipywidgets")

TOOLS = '''
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"{city}: 18 °C, light rain"
'''


@pytest.fixture
def loop(ip, simulator) -> Any:
    """A controller for a loop that asks before each call, and the plan it starts from."""
    ip.run_line_magic("opus", "config api=anthropic max_retries=0")
    ip.run_cell(TOOLS)
    cell = CellInput(prompt="What's the weather in Lisbon?", models=("opus-4.6",),
                     tools=toolbox_from(ip.user_ns, "get_weather"),
                     loop=LoopSettings(approve=True))
    plan = Planner(default_session(), cell_flags(cell)).plan_model(cell, "opus-4.6")
    return ChainController(default_session(), cell, handover=True), plan


def started(controller: ChainController, plan: Any) -> tuple[threading.Thread, dict, Any]:
    """Run the loop on a thread (as a live cell does); returns once it asks about a call."""
    asked = threading.Event()
    controller.view.question.observe(lambda change: asked.set(), names="value")
    done: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: done.update(chain=controller.run(plan)))
    worker.start()
    assert asked.wait(30)
    return worker, done, asked


def test_approve_runs_the_call_and_the_page_shows_every_step(loop) -> None:
    controller, plan = loop
    view = controller.view
    worker, done, _ = started(controller, plan)
    assert "Run get_weather(city=&#x27;Lisbon&#x27;)?" in view.question.value
    assert view.asking.layout.display is None  # shown while the loop waits
    view.approve.click()
    worker.join(30)
    chain = done["chain"]
    assert len(chain.records) == 2 and chain.stop is None
    assert len(view.panels) == 2 and view.asking.layout.display == "none"
    assert "← get_weather: Lisbon: 18 °C, light rain" in view.tool_lines[0].value
    bundle = view.final_bundle(chain)
    assert bundle["text/html"].count('class="opus-run ') == 2
    assert "tools overhead: 2 ×" in bundle["text/html"]
    assert "→ get_weather(city='Lisbon')" in bundle["text/plain"]
    assert bundle["text/markdown"].startswith(chain.final.text)
    assert view.stop.disabled


def test_stop_while_asking_declines_and_ends_the_loop(loop) -> None:
    controller, plan = loop
    worker, done, _ = started(controller, plan)
    controller.view.stop.click()
    worker.join(30)
    chain = done["chain"]
    assert len(chain.records) == 1 and chain.stop.startswith("you declined get_weather")
    assert chain.final.tool_results[0]["status"] == "declined"
    assert "Stopped: you declined" in controller.view.totals.value
