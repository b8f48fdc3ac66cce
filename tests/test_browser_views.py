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
    assert "ago" not in ended and "after it was submitted" in ended  # no age frozen in place
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


ONE_LINE = r"""(el) => {  // how many lines the element's text takes (its line boxes' distinct tops)
  const range = document.createRange(); range.selectNodeContents(el);
  const tops = [...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top));
  return new Set(tops.map(t => Math.round(t / 4))).size; }"""
ID_LINES = r"""([el, id]) => {  // the lines each occurrence of `id` in el's text spreads over
  const found = [], walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let at = node.data.indexOf(id); at >= 0; at = node.data.indexOf(id, at + 1)) {
      const range = document.createRange(); range.setStart(node, at); range.setEnd(node, at + id.length);
      found.push(new Set([...range.getClientRects()].map(r => Math.round(r.top))).size); } }
  return found; }"""


def sidebar(page: Any, shown: bool) -> None:
    """Open (or close) the left sidebar and wait until the notebook has made room for it."""
    page.evaluate(f"() => window.jupyterapp.shell.{'expandLeft' if shown else 'collapseLeft'}()")
    page.wait_for_function(f"() => window.jupyterapp.shell.leftCollapsed === {str(not shown).lower()}"
                           " && document.querySelector('.jp-Notebook').getBoundingClientRect()"
                           f".width {'<' if shown else '>'} window.innerWidth - 200")


def output_width(nb: Notebook, index: int) -> float:
    return float(nb.output(index).locator(".jp-OutputArea-output").first.evaluate(
        "(o) => o.getBoundingClientRect().width"))


def fits(output: Any) -> bool:
    """No horizontal scrollbar: the output's content is no wider than the output."""
    return bool(output.evaluate("(o) => o.scrollWidth <= o.clientWidth + 1"))


def test_tables_fit_an_848_px_output_and_ids_never_break(lab: Lab, simulator: Any) -> None:
    """The sidebar open at 1280 px leaves an 848 px output: the comparison summary, `%opus
    history` and `%opus show` fit it; a live comparison shows each Run again once."""
    simulator.configure(tokens_per_second=25, answer_tokens=60)
    cells = [SETUP, "%%opus -m opus,sonnet,haiku --max-tokens 300 --tag fit-compare\n"
                    "Explain prompt caching to a new engineer in a few sentences.",
             "%opus history -n 6", "import opus_magic\nrun = opus_magic.last_run()",
             "%opus show {run.id}"]
    nb = open_cells(lab, "fit.ipynb", cells)
    page = lab.page
    sidebar(page, True)
    try:
        nb.run_cell(1)
        comparison = nb.output(1).locator(".opus-comparison")
        comparison.locator(".opus-run.opus-status-running").first.wait_for(timeout=30_000)
        width = output_width(nb, 1)
        assert 840 <= width <= 856, width  # the width a user meets with the sidebar open
        again = nb.output(1).locator(".opus-run-again")
        shown_again = [t for t in readable_now(again) if t]
        assert sorted(shown_again) == ["Run haiku again", "Run opus again", "Run sonnet again"]
        nb.output(1).locator(".opus-static .opus-run.opus-status-ok").nth(2).wait_for(
            timeout=60_000)
        nb.wait_done(1)
        output = nb.output(1).locator(".jp-OutputArea-output").first
        assert fits(output)
        marks = nb.output(1).locator(".opus-marks")
        assert any("cheapest" in t for t in readable_now(marks))  # "← cheapest" in view, whole
        heads = nb.output(1).locator(".opus-summary-rows tr:first-child th")
        assert readable_now(heads) == [t.strip() for t in heads.all_inner_texts()]
        screenshot(nb.cell(1), "comparison-848.png")
        for index in (2, 3, 4):
            nb.run_and_wait(index)
        history = nb.output(2).locator(".jp-OutputArea-output").first
        assert fits(history)
        header = [t.strip() for t in history.locator("th").all_inner_texts()]
        first = history.locator("tbody tr").first.locator("td")
        for name in ("time", "comparison", "tag", "prompt"):
            cell = first.nth(header.index(name))
            text = cell.inner_text().strip()
            assert text and readable_now(cell) == [text], name  # in view, not scrolled away
        screenshot(nb.cell(2), "history-848.png")
        show = nb.output(4).locator(".jp-OutputArea-output").first
        run_id = re.search(r"run ([0-9a-f]{12})", show.inner_text()).group(1)
        lines = show.evaluate(f"(el, id) => ({ID_LINES})([el, id])", run_id)
        assert lines and all(n == 1 for n in lines), lines  # no id broken across lines
        assert fits(show)
        screenshot(nb.cell(4), "show-848.png")
    finally:
        sidebar(page, False)


def test_the_controls_and_the_meter_keep_to_one_line_at_832_px(lab: Lab, simulator: Any) -> None:
    simulator.configure(tokens_per_second=15, answer_tokens=120)
    page = lab.page
    nb = open_cells(lab, "narrow.ipynb", [SETUP, "%%opus -m opus --max-tokens 300\n"
                                                 "Explain prompt caching to a new engineer."])
    page.set_viewport_size({"width": 1264, "height": 900})
    sidebar(page, True)
    try:
        nb.run_cell(1)
        meter = nb.output(1).locator(".opus-view .opus-meter")
        meter.wait_for(timeout=30_000)
        assert output_width(nb, 1) <= 832, output_width(nb, 1)
        nb.output(1).locator(".opus-estimate").wait_for(timeout=30_000)  # streaming: ≈ estimated
        assert wait_until(lambda: "tok/s" in meter.inner_text(), timeout_s=30)
        assert meter.evaluate(ONE_LINE) == 1, meter.inner_text()
        controls = nb.output(1).locator(".opus-controls").first
        tops = controls.evaluate("(c) => [...c.children].map(e => e.getBoundingClientRect().top)")
        assert max(tops) - min(tops) < 4, tops  # max_tokens, ceiling, mode, Run again, Stop
        toggles = controls.locator(".opus-concise button")
        assert len({round(b["y"]) for b in (toggles.nth(i).bounding_box()
                                            for i in range(3))}) == 1
        screenshot(nb.cell(1), "controls-832.png")
        nb.output(1).locator(".opus-static .opus-run.opus-status-ok").wait_for(timeout=60_000)
        final = nb.output(1).locator(".opus-static .opus-meter")
        assert final.evaluate(ONE_LINE) == 1, final.inner_text()
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})
        sidebar(page, False)
