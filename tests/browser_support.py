"""JupyterLab on 127.0.0.1 driven by Debian's Chromium through Playwright, for the browser tests."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage"]
INSTALL_HINT = ("install it with `apt-get install -y chromium` (Debian; `.ci/run` does this) and "
                "`pip install playwright` (no `playwright install` needed), or point "
                "OPUS_MAGIC_CHROMIUM at a Chromium binary")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# the package's server config, read as an installed package's is (jupyter_server_config.d on
# the config path): the extension that keeps live-only widgets out of saved notebooks is on
SERVER_CONFIG = Path(__file__).resolve().parent.parent / "jupyter-config"
APP_FLAGS = {"jupyterlab": ["--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                            "--LabApp.expose_app_in_browser=True"],
             "notebook": ["--JupyterNotebookApp.expose_app_in_browser=True"]}


def find_chromium() -> str | None:
    """A Chromium executable: $OPUS_MAGIC_CHROMIUM, else the first of the usual names on PATH."""
    given = os.environ.get("OPUS_MAGIC_CHROMIUM")
    if given:
        return given if Path(given).is_file() else None
    return next((path for path in map(shutil.which, CHROMIUM_NAMES) if path), None)


def require_browser() -> str:
    """Chromium's path; skip with how to install it, or fail in CI where the test must run."""
    missing = []
    chromium = find_chromium()
    if chromium is None:
        missing.append("Chromium was not found")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package is not installed")
    if missing:
        message = f"Browser test needs a browser: {' and '.join(missing)}; {INSTALL_HINT}."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    assert chromium is not None
    return chromium


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def notebook_json(cells: list[str]) -> dict[str, Any]:
    """A minimal nbformat 4 notebook of code cells."""
    return {"nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                        "language": "python"}},
            "cells": [{"cell_type": "code", "id": f"cell-{i}", "metadata": {},
                       "execution_count": None, "outputs": [], "source": source}
                      for i, source in enumerate(cells)]}


class LabServer:
    """A JupyterLab (or Notebook 7: app="notebook") server on 127.0.0.1 with a token, a temporary
    root and its own config dirs."""

    def __init__(self, base: Path, env: dict[str, str], app: str = "jupyterlab") -> None:
        self.app = app
        self.root = base / "root"
        self.port = free_port()
        self.token = secrets.token_hex(16)
        dirs = {name: base / name.lower() for name in
                ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_WORKSPACES_DIR",
                 "JUPYTERLAB_SETTINGS_DIR")}
        for folder in (self.root, *dirs.values()):
            folder.mkdir(parents=True, exist_ok=True)
        labconfig = dirs["JUPYTER_CONFIG_DIR"] / "labconfig"
        labconfig.mkdir()
        (labconfig / "page_config.json").write_text(json.dumps(
            {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
        # Render every cell (not only those in view), so the DOM holds every output to assert on.
        tracker = dirs["JUPYTERLAB_SETTINGS_DIR"] / "@jupyterlab" / "notebook-extension"
        tracker.mkdir(parents=True)
        (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
        self.env = {**env, **{name: str(path) for name, path in dirs.items()}}
        config_path = [str(SERVER_CONFIG), *filter(None, [env.get("JUPYTER_CONFIG_PATH")])]
        self.env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(config_path)
        self.log = base / "jupyter.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, name: str) -> str:
        if self.app == "notebook":
            return f"{self.url}/notebooks/{name}?token={self.token}"
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"

    def write_notebook(self, name: str, cells: list[str]) -> None:
        (self.root / name).write_text(json.dumps(notebook_json(cells)))

    def copy_notebook(self, path: Path) -> str:
        shutil.copyfile(path, self.root / path.name)
        return path.name

    def start(self, timeout_s: float = 120) -> None:
        command = [sys.executable, "-m", self.app, "--no-browser", "--allow-root",
                   "--ip=127.0.0.1", f"--port={self.port}", "--ServerApp.port_retries=0",
                   f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
                   *APP_FLAGS[self.app]]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, cwd=self.root)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        raise RuntimeError(f"JupyterLab did not answer in {timeout_s:g} s: "
                           f"{self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def lab_server(base: Path, env: dict[str, str], app: str = "jupyterlab") -> Iterator[LabServer]:
    server = LabServer(base, env, app)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@contextmanager
def browser_page(chromium: str) -> Iterator[Any]:
    """A fresh Chromium page (1280×900) driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            yield page
        finally:
            browser.close()


class Notebook:
    """One open notebook in JupyterLab: run cells, wait for the kernel, read outputs."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def wait_ready(self, timeout_s: float = 120) -> None:
        self.page.wait_for_function(
            "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
            " const k = w && w.sessionContext && w.sessionContext.session"
            " && w.sessionContext.session.kernel; return k && k.status === 'idle'; }",
            timeout=timeout_s * 1000)

    def run_cell(self, index: int) -> None:
        """Start cell `index` without waiting for it (the promise is not returned on purpose)."""
        self.page.evaluate(
            "(i) => { const nb = window.jupyterapp.shell.currentWidget.content;"
            " nb.activeCellIndex = i; window.jupyterapp.commands.execute('notebook:run-cell'); }",
            index)

    def run_all(self) -> None:
        """Start every cell, top to bottom, without waiting."""
        self.page.evaluate(
            "() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

    def code_cells(self) -> list[int]:
        """Indexes of the code cells."""
        return list(self.page.evaluate(
            "() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')]"
            ".flatMap((c, i) => c.classList.contains('jp-CodeCell') ? [i] : [])"))

    def stderr(self) -> list[str]:
        """Every stderr output shown in the notebook."""
        stderr = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
        return self.page.locator(stderr).all_inner_texts()

    def wait_done(self, index: int, timeout_s: float = 60) -> None:
        """Wait until cell `index` shows an execution count (`[N]:`, not `[ ]:` or `[*]:`)."""
        self.page.wait_for_function(
            "(i) => { const cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[i];"
            " const prompt = cell && cell.querySelector('.jp-InputArea-prompt');"
            " return prompt && /\\[\\d+\\]/.test(prompt.innerText); }",
            arg=index, timeout=timeout_s * 1000)

    def run_and_wait(self, index: int, timeout_s: float = 60) -> None:
        self.run_cell(index)
        self.wait_done(index, timeout_s)

    def cell(self, index: int) -> Any:
        return self.page.locator(".jp-Notebook .jp-Cell").nth(index)

    def output(self, index: int) -> Any:
        return self.cell(index).locator(".jp-OutputArea")

    def watch(self, index: int, selectors: dict[str, str]) -> None:
        """Record each distinct text a MutationObserver sees under each selector in cell `index`
        (the texts of all the elements it matches, in document order)."""
        self.page.evaluate(
            """([i, selectors]) => {
                 const cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[i];
                 const seen = window.__opusSeen = {};
                 for (const name of Object.keys(selectors)) seen[name] = [];
                 const note = () => {
                   for (const [name, selector] of Object.entries(selectors)) {
                     const found = [...cell.querySelectorAll(selector)];
                     const text = found.length ? found.map(el => el.innerText).join(' ') : null;
                     const list = seen[name];
                     if (text !== null && list[list.length - 1] !== text) list.push(text);
                   }
                 };
                 new MutationObserver(note).observe(cell, {subtree: true, childList: true,
                                                          characterData: true, attributes: true});
               }""", [index, selectors])

    def seen(self, name: str) -> list[str]:
        return list(self.page.evaluate("(name) => (window.__opusSeen || {})[name] || []", name))


def wait_until(check: Callable[[], bool], timeout_s: float, interval_s: float = 0.1) -> bool:
    """Poll `check` until it holds or the time is up; returns whether it held."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval_s)
    return check()


def screenshot(target: Any, name: str, readme_dir: str | None = None) -> Path:
    """A page or element screenshot under test-artifacts/, and under `readme_dir` when asked."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    target.screenshot(path=str(path))
    if readme_dir:
        target = Path(__file__).resolve().parent.parent / readme_dir
        target.mkdir(exist_ok=True)
        shutil.copyfile(path, target / name)
    return path


def watch_each(page: Any, index: int, selector: str) -> None:
    """Record, at every DOM change in cell `index`, the text of each element matching `selector`
    (by position), how much of it a person saw (text on screen, not only in the page), and
    whether a run was still streaming."""
    page.evaluate(
        """([i, selector, shown]) => {
             const measure = eval(shown);
             const cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[i];
             const state = window.__opusEach = {texts: [], frames: [], running: []};
             new MutationObserver(() => {
               const found = [...cell.querySelectorAll(selector)];
               state.frames.push(measure(found).reduce(
                 (n, s) => n + (s.hit && s.height >= 8 ? s.text.length : 0), 0));
               state.running.push(!!cell.querySelector('.opus-status-running'));
               found.forEach((el, k) => {
                 const list = state.texts[k] = state.texts[k] || [];
                 if (list[list.length - 1] !== el.innerText) list.push(el.innerText);
               });
             }).observe(cell, {subtree: true, childList: true, characterData: true,
                               attributes: true});
           }""", [index, selector, SHOWN])


def seen_each(page: Any) -> dict[str, Any]:
    return dict(page.evaluate("() => window.__opusEach || {texts: [], frames: []}"))


SHOWN = r"""(elements) => elements.map((el) => {
  // what a person sees of `el`'s text: each line box cut by every clipping ancestor and by the
  // viewport, kept where it is on top; `height` and `width` are those of the largest piece
  const clips = [];
  for (let a = el; a && a !== document.body; a = a.parentElement) {  // body's clip is the viewport
    const style = getComputedStyle(a);
    if (style.display === 'none' || style.visibility === 'hidden') return {text: '', width: 0,
        height: 0, hit: false, last: false};
    if (a !== el && (style.overflowX !== 'visible' || style.overflowY !== 'visible'))
      clips.push(a.getBoundingClientRect());
  }
  const range = document.createRange();
  range.selectNodeContents(el);
  let best = {width: 0, height: 0, hit: false}, lastSeen = false;
  const rects = [...range.getClientRects()].filter(r => r.width > 0 && r.height > 0);
  rects.forEach((r, k) => {
    let [x0, y0, x1, y1] = [r.left, r.top, r.right, r.bottom];
    for (const c of clips) {
      x0 = Math.max(x0, c.left); y0 = Math.max(y0, c.top);
      x1 = Math.min(x1, c.right); y1 = Math.min(y1, c.bottom);
    }
    x0 = Math.max(x0, 0); y0 = Math.max(y0, 0);
    x1 = Math.min(x1, window.innerWidth); y1 = Math.min(y1, window.innerHeight);
    const width = Math.max(x1 - x0, 0), height = Math.max(y1 - y0, 0);
    if (!width || !height) return;
    const hit = el.contains(document.elementFromPoint((x0 + x1) / 2, (y0 + y1) / 2));
    if (hit && k === rects.length - 1) lastSeen = true;
    if (hit && width * height > best.width * best.height) best = {width, height, hit};
  });
  return {text: el.innerText.trim(), ...best, last: lastSeen};
})"""


def shown(locator: Any) -> list[dict[str, Any]]:
    """For each element `locator` matches: its text, the width and height of the largest piece
    of it a person sees (cut by clipping ancestors and the viewport, and on top), and whether
    its last line (the newest text) is seen."""
    return list(locator.evaluate_all(SHOWN))


def readable_now(locator: Any, newest: bool = True) -> list[str]:
    """The texts of the matched elements that a person sees now (empty string where not): their
    newest line in view (while streaming), or with `newest=False` any part of them."""
    return [item["text"] if item["last" if newest else "hit"] and item["height"] >= 8
            and item["width"] >= 4 else "" for item in shown(locator)]


def watch_shown(page: Any, index: int, selector: str) -> None:
    """At every DOM change in cell `index`, record what a person sees of each element matching
    `selector` (its text where visible, else ""), while a live view is still running."""
    page.evaluate(
        """([i, selector, shown]) => {
             const measure = eval(shown);
             const cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[i];
             const frames = window.__opusShown = [];
             new MutationObserver(() => {
               if (!cell.querySelector('.opus-status-running')) return;
               const seen = measure([...cell.querySelectorAll(selector)]);
               frames.push(seen.map(s => s.last && s.height >= 8 && s.width >= 4 ? s.text : ''));
             }).observe(cell, {subtree: true, childList: true, characterData: true});
           }""", [index, selector, SHOWN])


def shown_frames(page: Any) -> list[list[str]]:
    """What `watch_shown` recorded: per DOM change, the visible text of each element."""
    return list(page.evaluate("() => window.__opusShown || []"))
