"""A grid's batches live: each batch's status, counts and elapsed time, Cancel, and the grid's
summary once collected. The display also carries the status as text, so a saved notebook reads.

The view observes: the controller tells it what changed; Cancel calls back into the controller.
"""
from __future__ import annotations

import html
import threading
from collections.abc import Callable, Sequence
from typing import Any

from opus_magic.core.grid.batch import BatchObserver
from opus_magic.records import BatchRow
from opus_magic.view.grid.batch_text import next_steps, readable, status_lines
from opus_magic.view.run.widget import VIEW_MIME, part
from opus_magic.view.tables import Rendered

TICK_S = 1.0  # the elapsed time moves on between polls


class BatchView(BatchObserver):
    """The batches of one grid; `changed`/`ended` are called from the watching threads."""

    def __init__(self, grid_id: str, preflight: str, rows: Sequence[BatchRow]) -> None:
        import ipywidgets as w

        self.grid_id, self.preflight = grid_id, preflight
        self.rows, self.errors = list(rows), []
        self.title = part(w.HTML, "opus-batch-title",
                          value=f"<b>Grid {html.escape(grid_id)}</b> as a batch · "
                                f"{html.escape(preflight)}")
        self.status = part(w.HTML, "opus-batch-status", value="")
        self.cancel = part(w.Button, "opus-cancel", description="Cancel", icon="stop",
                           button_style="danger")
        self.summary = part(w.HTML, "opus-batch-summary", value="")
        self.box = part(w.VBox, "opus-batch", children=[
            # Cancel first: the status beside it changes length at every tick and poll
            self.title, part(w.HBox, "opus-controls", children=[self.cancel, self.status]),
            self.summary])
        self._over = threading.Event()
        self._lock = threading.Lock()
        self._handle: Any = None

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """What Cancel does (the controller's); the button is disabled once clicked."""
        self.cancel.on_click(lambda _: (setattr(self.cancel, "disabled", True), callback()))

    def show(self) -> None:
        """Display the view, and keep its elapsed time moving until the batches are collected."""
        from IPython.display import display

        self._handle = display(self._bundle(), raw=True, display_id=True)
        self.render()
        threading.Thread(target=self._tick, name="opus-batch-view", daemon=True).start()

    def changed(self, rows: Sequence[BatchRow], errors: Sequence[str]) -> None:
        with self._lock:
            self.rows, self.errors = list(rows), list(errors)
        self.render()

    def finished(self, rows: Sequence[BatchRow], errors: Sequence[str],
                 grid: Rendered | None) -> None:
        self._over.set()
        self.changed(rows, errors)
        self.cancel.disabled = True
        self.cancel.layout.display = "none"  # nothing is left to cancel
        if grid is not None:
            self.summary.value = grid.html
        if self._handle is not None:
            self._handle.update(self._bundle(grid), raw=True)

    def render(self) -> None:
        with self._lock:
            lines = status_lines(self.rows, self.errors)
            rows = list(self.rows)
        steps = "" if self._over.is_set() or not rows else next_steps(rows, self.grid_id)
        self.status.value = "<br>".join(html.escape(line) for line in [*lines, steps] if line)

    def _bundle(self, grid: Rendered | None = None) -> dict[str, Any]:
        bundle = self.box._repr_mimebundle_()
        text = readable(self.rows, self.grid_id, self.errors)
        if grid is not None:
            text = "\n".join([*status_lines(self.rows, self.errors), grid.text])
        return {VIEW_MIME: bundle[VIEW_MIME], "text/plain": f"{self.preflight}\n{text}"}

    def _tick(self) -> None:
        while not self._over.wait(TICK_S):
            self.render()
