"""The live view in a real browser: JupyterLab on 127.0.0.1, Debian's Chromium driven by Playwright.

Set OPUS_MAGIC_SCREENSHOTS=docs to also write the README's images (docs/live-view.png,
docs/comparison.png); screenshots always go to test-artifacts/.
"""
from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser_support import (
    LabServer,
    Notebook,
    browser_page,
    lab_server,
    readable_now,
    require_browser,
    screenshot,
    seen_each,
    shown_frames,
    wait_until,
    watch_each,
    watch_shown,
)

from opus_magic.core.history.select import select
from opus_magic.cost.pricing import format_usd
from opus_magic.records import RunRecord
from opus_magic.store.sqlite import Store
from opus_magic.view.run.widget import VIEW_MIME

KEY = "sk-test-0123456789abcdef"
README_DIR = os.environ.get("OPUS_MAGIC_SCREENSHOTS") or None
CLEARED = ("OPUS_MAGIC_BASE_URL", "OPENAI_BASE_URL", "OPUS_MAGIC_API_KEY", "OPENAI_API_KEY",
           "OPUS_MAGIC_MODEL", "OPUS_MAGIC_CONFIG")
PROMPT = "Explain prompt caching to a new engineer."
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = ["01_quickstart", "02_ab_comparison", "03_billing_traps", "04_errors"]
Runs = Callable[[], list[RunRecord]]


@dataclass
class Lab:
    """The module's JupyterLab server, the browser page on it, and the history its kernels write."""

    server: LabServer
    page: Any
    history: Path


def server_env(sim_server: Any, base: Path) -> dict[str, str]:
    """The environment of a server whose kernels talk to the simulator and write their history
    under `base`."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(OPUS_MAGIC_BASE_URL=sim_server.base_url, OPUS_MAGIC_API_KEY=KEY,
               OPUS_MAGIC_HISTORY=str(base / "history.sqlite"),
               XDG_CONFIG_HOME=str(base / "config"), XDG_DATA_HOME=str(base / "data"))
    return env


@pytest.fixture(scope="module")
def lab(sim_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One JupyterLab (and one browser) for the module, its kernels pointed at the simulator."""
    chromium = require_browser()
    base = tmp_path_factory.mktemp("lab")
    env = server_env(sim_server, base)
    with lab_server(base, env) as server, browser_page(chromium) as page:
        yield Lab(server, page, Path(env["OPUS_MAGIC_HISTORY"]))


@pytest.fixture(scope="module")
def notebook7(lab: Lab, sim_server: Any, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[Lab]:
    """Notebook 7 (`jupyter notebook`) and a page on it in the lab's browser (Playwright's sync
    API runs one at a time), its kernels pointed at the simulator."""
    base = tmp_path_factory.mktemp("notebook7")
    env = server_env(sim_server, base)
    with lab_server(base, env, app="notebook") as server:
        page = lab.page.context.browser.new_page(viewport=lab.page.viewport_size)
        try:
            yield Lab(server, page, Path(env["OPUS_MAGIC_HISTORY"]))
        finally:
            page.close()


def open_notebook(lab: Lab, name: str, cell: str) -> Notebook:
    """A notebook whose first cell loads the extension (already run) and whose second is `cell`."""
    lab.server.write_notebook(name, ["%load_ext opus_magic", cell])
    lab.page.goto(lab.server.notebook_url(name))
    notebook = Notebook(lab.page)
    notebook.wait_ready()
    lab.page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    notebook.run_and_wait(0)
    return notebook


@pytest.fixture
def runs(lab: Lab) -> Iterator[Runs]:
    """Every run the lab's kernels recorded, newest first."""
    store = Store(lab.history)
    yield lambda: select(store, limit=None)
    store.close()


def words(text: str) -> list[str]:
    """The plain words of an answer (Markdown marks aside), to find them in the rendered view."""
    return re.findall(r"[A-Za-z]{3,}", text)


def texts(values: list[str]) -> list[str]:
    return [v for v in values if v.strip()]


def test_live_view_streams_meters_and_reruns(lab: Lab, simulator: Any, runs: Runs) -> None:
    simulator.configure(tokens_per_second=15, answer_tokens=90)
    cell = f"%%opus -m opus --max-tokens 300 --tag browser\n{PROMPT}"
    nb = open_notebook(lab, "live.ipynb", cell)
    nb.watch(1, {"text": ".opus-text, .opus-text-stream", "meter": ".opus-meter"})
    nb.run_cell(1)
    page, view = lab.page, nb.output(1).locator(".opus-view")
    view.locator(".opus-run.opus-status-running").wait_for(timeout=20_000)
    assert wait_until(lambda: len(texts(nb.seen("text"))) >= 3, timeout_s=15)
    assert wait_until(lambda: len(nb.seen("text")[-1]) > 200, timeout_s=15)
    answer = view.locator(".opus-text, .opus-text-stream")  # on screen, not only in the page
    assert wait_until(lambda: sum(map(len, readable_now(answer))) > 200, timeout_s=15)
    assert view.locator(".opus-run.opus-status-running").count() == 1  # still streaming
    screenshot(nb.cell(1), "live-view.png", README_DIR)
    view.locator(".opus-run.opus-status-ok").wait_for(timeout=30_000)

    streamed = texts(nb.seen("text"))
    assert len(set(streamed)) >= 3, streamed  # the text grew while streaming, in several pushes
    # words are only ever added (finished blocks are rendered as Markdown while the rest streams)
    grown = [words(text) for text in streamed]
    assert all(b[:len(a) - 1] == a[:-1] for a, b in zip(grown, grown[1:])), grown
    meters = nb.seen("meter")
    assert any("≈" in m for m in meters)  # estimated while streaming …
    final_meter = view.locator(".opus-meter").inner_text()
    assert "≈" not in final_meter and "exact" in final_meter  # … exact once usage arrived
    record = runs()[0]
    assert record.status == "ok" and record.cost_exact and record.tag == "browser"
    assert format_usd(record.cost) in view.locator(".opus-meter-total").inner_text()
    assert words(view.locator(".opus-text").inner_text()) == words(record.text)
    screenshot(page, "live-view-done.png")

    # the controls (a display of their own, under the answer): max_tokens and concise mode feed
    # Run again, which records a new run
    controls = nb.output(1).locator(".opus-controls")
    assert controls.locator(".opus-max-tokens input").input_value() == "300"
    concise = controls.locator(".opus-concise")
    labels = [b.strip() for b in concise.locator("button").all_inner_texts()]
    assert labels == ["off", "concise", "code only"]
    simulator.configure(tokens_per_second=None)
    controls.locator(".opus-max-tokens input").fill("40")
    controls.locator(".opus-max-tokens input").press("Enter")
    concise.locator("button", has_text=re.compile(r"^concise$")).click()
    controls.locator(".opus-run-again").click()
    assert wait_until(lambda: len(runs()) == 2, timeout_s=20)
    view.locator(".opus-run.opus-status-ok").wait_for(timeout=20_000)
    again = runs()[0]
    assert again.concise == "concise" and again.max_tokens == 40
    assert "concise" in again.messages[0]["content"].lower()
    # what ran is said, and the first attempt stays reachable, collapsed, in the same output
    nb.output(1).locator(".opus-static .opus-attempt").wait_for(timeout=20_000)
    assert "the cell says 300" in nb.output(1).locator(".opus-static .opus-provenance").inner_text()
    set_theme(page, "JupyterLab Dark")  # the live controls read in Dark too
    try:
        assert low_contrast(page, ".opus-controls, .opus-static") == []
    finally:
        set_theme(page, "JupyterLab Light")


def test_stop_keeps_what_arrived(lab: Lab, simulator: Any, runs: Runs) -> None:
    simulator.configure(tokens_per_second=10, answer_tokens=600)
    nb = open_notebook(lab, "stop.ipynb", f"%%opus -m opus --max-tokens 2000\n{PROMPT}")
    nb.watch(1, {"text": ".opus-text-stream"})
    nb.run_cell(1)
    view = nb.output(1).locator(".opus-view")
    assert wait_until(lambda: len(texts(nb.seen("text"))) >= 2, timeout_s=30)
    nb.output(1).locator(".opus-controls .opus-stop").click()
    view.locator(".opus-run.opus-status-stopped").wait_for(timeout=10_000)
    record = runs()[0]
    assert record.status == "stopped"
    assert record.text and 0 < record.usage.output_tokens < 600
    sent = simulator.requests()[-1]
    assert not sent.completed and sent.chunks_sent < 600
    # the status and the final text are separate messages: wait for the text itself
    assert wait_until(lambda: words(view.locator(".opus-text").inner_text()) == words(record.text),
                      timeout_s=10)
    assert len(readable_now(view.locator(".opus-text"))[0]) > 20  # what arrived is on screen
    screenshot(lab.page, "stopped.png")


def cell_source(page: Any, index: int) -> str:
    """The source of cell `index` as JupyterLab's notebook model holds it."""
    return str(page.evaluate("(i) => window.jupyterapp.shell.currentWidget.content.widgets[i]"
                             ".model.sharedModel.getSource()", index))


def test_a_reruns_flags_are_written_into_the_cell_and_kept_in_the_saved_file(
        lab: Lab, simulator: Any, runs: Runs) -> None:
    simulator.configure(tokens_per_second=None, answer_tokens=60)
    name, first = "write-back.ipynb", "%%opus -m opus --max-tokens=300 --tag write-back"
    nb = open_notebook(lab, name, f"{first}\n{PROMPT}")
    page, output = lab.page, nb.output(1)
    nb.run_cell(1)
    output.locator(".opus-static .opus-run").wait_for(timeout=30_000)
    assert output.locator(".opus-write-back-button").count() == 0  # it ran as the cell says
    controls = output.locator(".opus-controls")
    controls.locator(".opus-max-tokens input").fill("40")
    controls.locator(".opus-max-tokens input").press("Enter")
    controls.locator(".opus-concise button", has_text=re.compile(r"^concise$")).click()
    controls.locator(".opus-run-again").click()
    button = output.locator(".opus-write-back-button")
    button.wait_for(timeout=30_000)
    assert button.inner_text() == "Write these flags into the cell"
    wanted = "%%opus -m opus --max-tokens=40 --tag write-back --concise"
    assert button.get_attribute("title") == wanted
    assert cell_source(page, 1) == f"{first}\n{PROMPT}"
    button.click()
    page.wait_for_function("() => document.querySelector('.opus-write-back-button')"
                           ".innerText === 'Written into the cell'")
    assert cell_source(page, 1) == f"{wanted}\n{PROMPT}"  # through the editor, into the model
    assert page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".cm-content").inner_text(
        ).startswith(wanted)
    screenshot(nb.cell(1), "write-back.png")
    assert low_contrast(page, ".opus-write-back") == []
    set_theme(page, "JupyterLab Dark")
    try:
        assert low_contrast(page, ".opus-write-back") == []
    finally:
        set_theme(page, "JupyterLab Light")
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    saved = json.loads((lab.server.root / name).read_text())
    assert "".join(saved["cells"][1]["source"]) == f"{wanted}\n{PROMPT}"
    # running the cell now runs with the flags it says
    nb.run_cell(1)
    assert wait_until(lambda: len([r for r in runs() if r.tag == "write-back"]) == 3, timeout_s=30)
    latest = runs()[0]
    assert (latest.tag, latest.max_tokens, latest.concise) == ("write-back", 40, "concise")
    assert simulator.requests()[-1].max_tokens == 40
    # a first line the user edited since the run is left alone
    output.locator(".opus-static .opus-run").wait_for(timeout=30_000)
    controls.locator(".opus-max-tokens input").fill("50")
    controls.locator(".opus-run-again").click()
    button.wait_for(timeout=30_000)
    edited = f"{wanted} -t 0.5\n{PROMPT}"
    page.evaluate("([i, source]) => window.jupyterapp.shell.currentWidget.content.widgets[i]"
                  ".model.sharedModel.setSource(source)", [1, edited])
    button.click()
    page.wait_for_function("() => document.querySelector('.opus-write-back-button')"
                           ".innerText.startsWith('Not written')")
    assert cell_source(page, 1) == edited
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")  # leave it clean
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")


def test_comparison_shows_three_live_columns_that_fit(lab: Lab, simulator: Any, runs: Runs) -> None:
    simulator.configure(tokens_per_second={"claude-opus-5-5": 12, "claude-sonnet-5-5": 20,
                                           "claude-haiku-5-5": 30}, answer_tokens=70)
    nb = open_notebook(lab, "compare.ipynb",
                       f"%%opus -m opus,sonnet,haiku --max-tokens 300\n{PROMPT}")
    lab.page.evaluate("() => window.jupyterapp.shell.expandLeft()")  # the sidebar open, as usual
    watch_shown(lab.page, 1, ".opus-comparison .opus-answer")
    nb.run_cell(1)
    comparison = nb.output(1).locator(".opus-comparison")
    columns = comparison.locator(".opus-run")
    comparison.wait_for(timeout=20_000)
    assert wait_until(lambda: columns.count() == 3, timeout_s=10)
    comparison.locator(".opus-stop-one").first.wait_for(timeout=10_000)  # a Stop per column
    # while the answers stream, each column's text is on screen, not only in the page
    answers = comparison.locator(".opus-answer")
    assert wait_until(lambda: [len(t) > 40 for t in readable_now(answers)] == [True] * 3,
                      timeout_s=30)
    screenshot(lab.page, "comparison-streaming.png")
    nb.output(1).locator(".opus-static .opus-run.opus-status-ok").nth(2).wait_for(timeout=40_000)
    frames = [tuple(len(text) for text in frame) for frame in shown_frames(lab.page)]
    visible = [frame for frame in frames if len(frame) == 3 and min(frame) > 0]
    assert len(set(visible)) >= 3, frames  # at several moments, every column's text grew in view
    boxes = [columns.nth(i).bounding_box() for i in range(3)]
    assert all(b["x"] >= a["x"] + a["width"] - 1 and abs(b["y"] - a["y"]) < 5
               for a, b in zip(boxes, boxes[1:]))
    assert max(b["height"] for b in boxes) < 700  # fixed-height columns: the view fits a screen
    meters = [columns.nth(i).locator(".opus-meter").bounding_box() for i in range(3)]
    assert len({round(m["y"]) for m in meters}) == 1 and len({round(m["height"]) for m in meters}) == 1
    summary = comparison.locator(".opus-summary-rows").bounding_box()
    assert summary["y"] < boxes[0]["y"]  # the summary is under the titles, above the columns
    models = [columns.nth(i).locator(".opus-model").inner_text() for i in range(3)]
    assert models == ["claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"]
    recorded = runs()[:3]
    assert {r.response_model for r in recorded} == set(models)
    assert len({r.comparison_id for r in recorded}) == 1 and recorded[0].comparison_id
    screenshot(lab.page, "comparison.png", README_DIR)
    lab.page.evaluate("() => window.jupyterapp.shell.collapseLeft()")


CONTRAST = r"""(root) => {
  const rgba = (css) => {  // computed colours: rgb(), rgba() or color(srgb …) from color-mix()
    let m = css.match(/^rgba?\(([^)]*)\)/), scale = 1;
    if (!m) { m = css.match(/^color\(srgb ([^)]*)\)/); scale = 255; }
    if (!m) throw new Error('unreadable colour ' + css);
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return [p[0] * scale, p[1] * scale, p[2] * scale, p.length > 3 ? p[3] : 1]; };
  const over = (top, base) => top.slice(0, 3).map((c, i) => c * top[3] + base[i] * (1 - top[3]));
  const lum = (c) => { const l = c.map(v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2]; };
  const background = (el) => { const layers = [];
    for (let e = el; e; e = e.parentElement) { const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c); if (c[3] >= 1) break; }
    return layers.reverse().reduce((base, top) => over(top, base), [255, 255, 255]); };
  const found = [];
  for (const el of root.querySelectorAll('*')) {
    const text = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
    if (!text || !el.getClientRects().length) continue;
    const bg = background(el), fg = over(rgba(getComputedStyle(el).color), bg);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    found.push({text: text.slice(0, 40), badge: !!el.closest('.opus-badge'),
                ratio: (a + 0.05) / (b + 0.05)});
  }
  return found; }"""


def low_contrast(page: Any, selector: str) -> list[dict[str, Any]]:
    """Text in the view whose contrast on its rendered background is under 4.5:1 (3:1 badges)."""
    found = [item for root in page.locator(selector).element_handles()
             for item in root.evaluate(CONTRAST)]
    assert found, "no text found to check"
    return [f for f in found if f["ratio"] < (3 if f["badge"] else 4.5)]


def nbconvert_html(path: Path) -> str:
    """The notebook as `jupyter nbconvert --to html` renders it, without its kernel."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(path))
    return html.unescape(re.sub(r"<[^>]+>", " ", str(body)))


def set_theme(page: Any, name: str) -> None:
    light = "true" if name == "JupyterLab Light" else "false"
    page.evaluate("(theme) => { window.jupyterapp.commands.execute('apputils:change-theme', "
                  "{theme}); }", name)
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'"
                           " && !document.querySelector('#jupyterlab-splash')")


def test_a_saved_notebook_reopened_without_its_kernel_shows_every_answer(
        lab: Lab, simulator: Any, runs: Runs) -> None:
    """Run, save, shut the kernel down, reload: answers, statuses and costs, no widget error;
    readable in Light and Dark (contrast computed from the page)."""
    simulator.configure(tokens_per_second=None)
    name = "reopen.ipynb"
    lab.server.write_notebook(name, ["%load_ext opus_magic",
                                     "%%opus -m opus --max-tokens 300 --tag reopen\n" + PROMPT,
                                     "%%opus -m opus,haiku --max-tokens 200 --tag reopen\n" + PROMPT,
                                     "print('done')"])
    page = lab.page
    page.goto(lab.server.notebook_url(name))
    nb = Notebook(page)
    nb.wait_ready()
    nb.run_all()
    nb.wait_done(3, timeout_s=120)
    assert wait_until(lambda: page.locator(".opus-static .opus-run").count() == 3, timeout_s=20)
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
    saved = json.loads((lab.server.root / name).read_text())
    views = [o["data"][VIEW_MIME]["model_id"] for c in saved["cells"] for o in c.get("outputs", ())
             if VIEW_MIME in o.get("data", {})]
    assert set(views) <= {""}  # controls withdrawn: no live widget left in the saved file
    page.goto(lab.server.notebook_url(name))
    nb.wait_ready()
    page.locator(".opus-static .opus-run").nth(2).wait_for(timeout=20_000)
    recorded = [r for r in runs() if r.tag == "reopen"]
    assert len(recorded) == 3
    converted = nbconvert_html(lab.server.root / name)  # what `jupyter nbconvert --to html` shows
    for record in recorded:
        assert " ".join(words(record.text)) in " ".join(words(converted)) and record.id in converted
    shown = page.locator(".jp-Notebook").inner_text()
    assert "Error displaying widget" not in shown and "Loading widget" not in shown
    for record in recorded:
        assert " ".join(words(record.text)) in " ".join(words(shown))  # the whole answer
        assert format_usd(record.cost) in shown and record.id in shown
    assert "complete" in shown
    answers = page.locator(".opus-static .opus-text")
    for index in range(answers.count()):  # each answer on screen once scrolled to, not clipped
        answers.nth(index).scroll_into_view_if_needed()
        assert len(readable_now(answers.nth(index), newest=False)[0]) > 20, index
    screenshot(page, "light-theme.png", README_DIR)
    assert low_contrast(page, ".opus-static") == []
    set_theme(page, "JupyterLab Dark")
    try:
        assert low_contrast(page, ".opus-static") == []
        screenshot(page, "dark-theme.png", README_DIR)
    finally:
        set_theme(page, "JupyterLab Light")


def tagged(history: Path, tag: str) -> list[RunRecord]:
    """The runs recorded under `history` with this tag, newest first."""
    store = Store(history)
    try:
        return [r for r in select(store, limit=None) if r.tag == tag]
    finally:
        store.close()


def save_and_reopen_after_an_opus_cell(app: Lab, simulator: Any, tag: str) -> None:
    """The last cell run is %%opus: its live row works (Run again), saving keeps it in the page
    but not in the file, and the notebook reopened with a fresh kernel shows every answer, its
    status and cost with no widget error."""
    simulator.configure(tokens_per_second=None)
    server, page, name = app.server, app.page, f"{tag}.ipynb"
    server.write_notebook(name, ["%load_ext opus_magic",
                                 f"%%opus -m opus,haiku --max-tokens 200 --tag {tag}\n{PROMPT}",
                                 f"%%opus -m opus --max-tokens 300 --tag {tag}\n{PROMPT}"])
    page.goto(server.notebook_url(name))
    nb = Notebook(page)
    nb.wait_ready()
    nb.run_all()
    nb.wait_done(2, timeout_s=120)
    nb.output(2).locator(".opus-static .opus-run").wait_for(timeout=30_000)
    nb.output(2).locator(".opus-run-again").click()  # the live row works in the session
    assert wait_until(lambda: len(tagged(app.history, tag)) == 4, timeout_s=30)
    nb.output(2).locator(".opus-static .opus-attempt").wait_for(timeout=20_000)
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    assert nb.output(2).locator(".opus-run-again").is_enabled()  # still live in the page
    records = tagged(app.history, tag)
    saved = [o for c in json.loads((server.root / name).read_text())["cells"]
             for o in c.get("outputs", ())]
    assert [o for o in saved if VIEW_MIME in o.get("data", {})] == []  # no widget in the file
    markdown = "\n".join("".join(o["data"]["text/markdown"]) for o in saved  # lines, as saved
                          if "text/html" in o["data"])
    assert all(r.text in markdown for r in records)  # the static answers were saved
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
    page.goto(server.notebook_url(name))
    nb.wait_ready()
    nb.output(2).locator(".opus-static .opus-run").wait_for(timeout=20_000)
    shown = page.locator(".jp-Notebook").inner_text()
    assert "Error displaying widget" not in shown and "Loading widget" not in shown
    assert page.locator(f".jp-OutputArea-output[data-mime-type='{VIEW_MIME}']").count() == 0
    first = min((r for r in records if r.comparison_id is None), key=lambda r: r.created_at)
    for record in records:  # the first attempt is collapsed under the rerun
        if record is not first:
            assert " ".join(words(record.text)) in " ".join(words(shown))
            assert format_usd(record.cost) in shown and record.id in shown
    assert "complete" in shown


def test_reopened_in_jupyterlab_after_an_opus_cell_shows_answers_and_no_widget_error(
        lab: Lab, simulator: Any) -> None:
    save_and_reopen_after_an_opus_cell(lab, simulator, "reopen-last-lab")


def test_reopened_in_notebook_7_after_an_opus_cell_shows_answers_and_no_widget_error(
        notebook7: Lab, simulator: Any) -> None:
    save_and_reopen_after_an_opus_cell(notebook7, simulator, "reopen-last-notebook")


EXPECTED_STDERR = {"03_billing_traps": ["opus: Over the session budget"]}


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_top_to_bottom_in_jupyterlab(lab: Lab, runs: Runs,
                                                   name: str) -> None:
    """In JupyterLab runs stream in the background; the next cell still sees their results."""
    lab.server.copy_notebook(NOTEBOOKS / f"{name}.ipynb")
    lab.page.goto(lab.server.notebook_url(f"{name}.ipynb"))
    nb = Notebook(lab.page)
    nb.wait_ready()
    nb.run_all()
    code = nb.code_cells()
    nb.wait_done(code[-1], timeout_s=180)  # run-all stops at a cell that raises
    stderr = nb.stderr()
    expected = EXPECTED_STDERR.get(name, [])
    assert len(stderr) == len(expected) and all(e.startswith(x) for e, x in zip(stderr, expected))
    if name == "01_quickstart":
        quickstart = [r for r in runs() if r.tag == "quickstart"]
        assert len(quickstart) == 2 and all(r.status == "ok" for r in quickstart)
        concise = next(r for r in quickstart if r.concise == "concise")
        shown = [nb.cell(i).inner_text() for i in code]
        report = next(text for text in shown if "`answer` holds" in text)
        assert f"`answer` holds {len(concise.text.split())} words" in report
        assert "2 quickstart runs in history" in nb.cell(code[-1]).inner_text()
        assert lab.page.locator(".opus-view .opus-run.opus-status-ok").count() == 2


def test_the_end_of_a_stream_shows_no_empty_frame_and_columns_update_like_one_run(
        lab: Lab, simulator: Any, runs: Runs) -> None:
    """MutationObserver: the answer never vanishes while the live view hands over to the static
    one; each column of a comparison is updated about as often as a single run."""
    simulator.configure(tokens_per_second=25, answer_tokens=100)
    nb = open_notebook(lab, "frames.ipynb", f"%%opus -m opus --max-tokens 300\n{PROMPT}")
    watch_each(lab.page, 1, ".opus-text, .opus-text-stream")
    nb.run_cell(1)
    nb.output(1).locator(".opus-static .opus-run.opus-status-ok").wait_for(timeout=30_000)
    seen = seen_each(lab.page)
    frames, running = seen["frames"], seen["running"]
    started = frames.index(next(f for f in frames if f > 0))
    assert min(frames[started:]) > 0, str(frames[started:])  # once text showed, never blank
    last = max(i for i, on in enumerate(running) if on)  # the last frame while streaming
    assert min(frames[last:]) >= 0.95 * frames[last], str(frames[last:])  # no dip at the end
    watch_each(lab.page, 1, ".opus-text-stream")
    nb.run_cell(1)
    nb.output(1).locator(".opus-run.opus-status-running").wait_for(timeout=20_000)
    nb.output(1).locator(".opus-static .opus-run.opus-status-ok").wait_for(timeout=30_000)
    single = len(seen_each(lab.page)["texts"][0])

    lab.server.write_notebook("columns.ipynb", ["%load_ext opus_magic",
                                                f"%%opus -m opus,sonnet,haiku --max-tokens 300\n{PROMPT}"])
    lab.page.goto(lab.server.notebook_url("columns.ipynb"))
    nb = Notebook(lab.page)
    nb.wait_ready()
    nb.run_and_wait(0)
    watch_each(lab.page, 1, ".opus-text-stream")
    nb.run_cell(1)
    nb.output(1).locator(".opus-static .opus-run.opus-status-ok").nth(2).wait_for(timeout=40_000)
    columns = [len(texts) for texts in seen_each(lab.page)["texts"]]
    assert len(columns) == 3 and all(count * 1.5 >= single for count in columns), (single, columns)
