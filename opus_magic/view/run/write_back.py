"""A button that writes a rerun's flags into the cell's `%%opus` line, in the browser.

IPython's `set_next_input` only rides on a cell's execute reply, and Run again is a button click,
so the edit is made by the frontend: the button finds the code cell that holds it and replaces
the cell's first line through the cell's CodeMirror editor, so JupyterLab's model (and the saved
file) get it as if typed. It leaves a line the user edited since the run alone, and where no
editor can be reached it copies the line to the clipboard.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

READY, WRITTEN = "", "written"

# Runs in the browser. CodeMirror 6 links its content element to its view (what
# `EditorView.findFromDOM` reads): `cmTile.root.view` in recent releases, `cmView.rootView.view`
# before them.
ESM = r"""
const LABELS = {
  "": "Write these flags into the cell",
  written: "Written into the cell",
  copied: "Copied the line: paste it over the cell's first line",
  changed: "Not written: the cell's first line was edited since it ran (hover for the line)",
  failed: "No editor here: put the line shown on hover on the cell's first line",
};
const same = (a, b) => a.trim().replace(/\s+/g, " ") === b.trim().replace(/\s+/g, " ");

function editorOf(el) {
  const cell = el.closest(".jp-CodeCell");
  const content = cell && cell.querySelector(".jp-InputArea .cm-content");
  const tile = content && (content.cmTile || content.cmView);
  const root = tile && (tile.root || tile.rootView);
  return (root && root.view) || null;
}

function magicLine(doc) {
  for (let n = 1; n <= doc.lines; n++) {
    const line = doc.line(n);
    if (line.text.trim()) return line;
  }
  return null;
}

async function copied(text) {
  try {
    await navigator.clipboard.writeText(text);
    return "copied";
  } catch (error) {
    return "failed";
  }
}

async function write(model, el) {
  const wanted = model.get("line");
  const view = editorOf(el);
  if (!view) return copied(wanted);
  const found = magicLine(view.state.doc);
  const now = found ? found.text : "";
  if (same(now, wanted)) return "written";
  if (!same(now, model.get("replaces"))) return "changed";
  view.dispatch({changes: {from: found.from, to: found.to, insert: wanted}});
  return "written";
}

export default {
  render({ model, el }) {
    const button = document.createElement("button");
    button.className = "jupyter-widgets jupyter-button widget-button opus-write-back-button";
    button.style.width = "auto";
    const show = () => {
      const state = model.get("state");
      button.textContent = LABELS[state] ?? LABELS[""];
      button.title = model.get("line");
    };
    button.addEventListener("click", async () => {
      model.set("state", await write(model, el));
      model.save_changes();
    });
    model.on("change:state", show);
    model.on("change:line", show);
    show();
    el.appendChild(button);
    return () => {
      model.off("change:state", show);
      model.off("change:line", show);
    };
  },
};
"""


class WriteBack(anywidget.AnyWidget):
    """Offers to put `line` where the cell's first line (`replaces`) is; `state` says what happened."""

    _esm = ESM
    line = traitlets.Unicode("").tag(sync=True)
    replaces = traitlets.Unicode("").tag(sync=True)
    state = traitlets.Unicode(READY).tag(sync=True)  # "", written, copied, changed, failed

    def __init__(self, when_written: Callable[[], None], **traits: Any) -> None:
        super().__init__(**traits)
        self._when_written = when_written
        self.observe(self._changed, names="state")

    def _changed(self, change: dict[str, Any]) -> None:
        if change["new"] == WRITTEN:  # the cell now holds the line: a later offer replaces it
            self.replaces = self.line
            self._when_written()

    def offer(self, line: str) -> None:
        """Offer a new line (a later rerun's): the button is ready again."""
        self.line, self.state = line, READY
