"""The grid, batch and table views in a real browser (JupyterLab, Debian's Chromium through
Playwright): what a person sees, measured on the page, at an 848 px wide output as well."""
from __future__ import annotations

import re
from typing import Any

from browser_support import Notebook, readable_now, screenshot, wait_until
from test_browser import Lab, lab, set_theme  # noqa: F401 (the module's own JupyterLab)

TICKETS = [{"subject": "Charged twice", "label": "billing"},
           {"subject": "App crashes on export", "label": "bug"},
           {"subject": "Hello team", "label": "other"}]
SETUP = (f"%load_ext opus_magic\ntickets = {TICKETS!r}\n"
         "prompts = {'short': 'Classify. Answer with one of: billing, bug, other.\\n{subject}',\n"
         "           'long': 'Classify this ticket. Answer with one of: billing, bug, other.\\n"
         "{subject}'}")
GRID = "--each tickets --variants prompts -m haiku --max-tokens 5 --check equals:label"


def open_cells(lab: Lab, name: str, cells: list[str]) -> Notebook:
    """A notebook of `cells` whose first (the set-up) has run."""
    lab.server.write_notebook(name, cells)
    lab.page.goto(lab.server.notebook_url(name))
    nb = Notebook(lab.page)
    nb.wait_ready()
    lab.page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    nb.run_and_wait(0)
    return nb


def test_batch_view_ticks_then_drops_cancel_once_collected(lab: Lab, simulator: Any) -> None:
    simulator.batches(delay_s=3600)
    nb = open_cells(lab, "batch.ipynb", [SETUP, f"%%opus {GRID} --batch --tag b\n#",
                                         "import opus_magic\nopus_magic.sim"])
    nb.run_and_wait(1)  # the cell returns at once; the kernel watches the batch
    view = nb.output(1).locator(".opus-batch")
    status = view.locator(".opus-batch-status")
    status.wait_for(timeout=30_000)
    seen = set()
    assert wait_until(lambda: (seen.add(re.search(r"submitted (\d+) s ago",
                                                  status.inner_text()).group(1)) or len(seen) >= 3),
                      timeout_s=30), seen  # the label ticks on while nothing else changes
    cancel = view.locator(".opus-cancel")
    assert readable_now(cancel) == ["Cancel"]
    screenshot(nb.cell(1), "batch-waiting.png")
    simulator.batches(end_now=True)
    view.locator(".opus-batch-summary table").first.wait_for(timeout=60_000)  # collected
    ended = status.inner_text()
    assert "collected" in ended and "6 succeeded" in ended and "canceled" not in ended
    assert cancel.count() == 0 or readable_now(cancel) == [""]  # nothing left to cancel
    summary = view.locator(".opus-batch-summary").inner_text()
    assert "unknown" not in summary  # every answer is priced: mean and total both known
    screenshot(nb.cell(1), "batch-collected.png")


def test_grid_table_cells_show_failures_and_open_to_why(lab: Lab, simulator: Any) -> None:
    simulator.batches()
    nb = open_cells(lab, "grid.ipynb", [SETUP, f"%%opus {GRID} --check contains:zebra -o out\n#"])
    nb.run_cell(1)
    table = nb.output(1).locator(".opus-grid-table")
    nb.output(1).locator(".opus-grid-summary table").wait_for(timeout=60_000)
    cells = table.locator("td.opus-grid-td")
    assert cells.count() == 6
    colour = cells.first.evaluate("(td) => getComputedStyle(td).borderLeftColor")
    ok = lab.page.evaluate("() => getComputedStyle(document.body)"
                           ".getPropertyValue('--jp-success-color1')")
    assert colour and ok and colour.replace(" ", "") != ok.strip().replace(" ", "")
    red, green, _ = map(float, re.findall(r"[\d.]+", colour)[:3])
    assert red > green  # every cell fails contains:zebra: a red border, not ✓'s green
    cells.first.locator("summary").click()
    details = cells.first.locator(".opus-cell-details")
    for part in (".opus-cell-input", ".opus-cell-expected", ".opus-check-failed"):
        details.locator(part).scroll_into_view_if_needed()
        assert readable_now(details.locator(part))[0], part  # on screen, not only in the page
    assert "Charged twice" in details.locator(".opus-cell-input").inner_text()
    assert "billing" in details.locator(".opus-cell-expected").inner_text()
    assert "zebra" in details.locator(".opus-check-failed").inner_text()
    screenshot(nb.cell(1), "grid-cell-open.png")
    set_theme(lab.page, "JupyterLab Dark")
    try:
        screenshot(nb.cell(1), "grid-cell-open-dark.png")
    finally:
        set_theme(lab.page, "JupyterLab Light")
