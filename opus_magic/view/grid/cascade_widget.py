"""A cascade live: its stages, one progress bar over the rows, the progress line (stage, rows
settled at each stage, the cost against the last model alone), Stop, each row's path and, at the
end, the summary. Cells only mark the view changed; one ticker thread redraws a few times a
second, so the frontend gets a bounded number of updates."""
from __future__ import annotations

import html
import threading
from collections.abc import Callable

from opus_magic.core.cascade.progress import progress, row_texts
from opus_magic.core.cascade.run import CascadeObserver, CascadeRun
from opus_magic.core.cascade.summary import of_run
from opus_magic.view.grid.cascade_text import (
    opening,
    path_rows,
    progress_line,
    readable,
    summary_html,
    table_html,
)
from opus_magic.view.grid.widget import LIVE_ROWS, REDRAWS_PER_S, LiveFrame
from opus_magic.view.run.widget import VIEW_MIME


class CascadeView(CascadeObserver, LiveFrame):
    """The live cascade; `changed` and `finished` are called from worker threads."""

    def __init__(self, run: CascadeRun, on_stop: Callable[[], None]) -> None:
        self.run = run
        self._frame("opus-cascade", "opus-cascade-summary-box", len(run.paths), on_stop, (
            f"<b>{html.escape(opening(run))}</b>"
            + (f"; then {html.escape(run.last_model)} alone on every row" if run.compare else "")))

    def show(self) -> None:
        """Display the cascade; at the end the display also carries its summary as text."""
        from IPython.display import display

        bundle = self.box._repr_mimebundle_()
        bundle["text/plain"] = f"Cascade {self.run.grid.id} (the summary appears here at the end)"
        self._handle = display(bundle, raw=True, display_id=True)
        threading.Thread(target=self._tick, name="opus-cascade-view", daemon=True).start()

    def changed(self, run: CascadeRun) -> None:
        self._dirty.set()

    def finished(self, run: CascadeRun) -> None:
        self._over.set()
        self.render(table=True)
        self.stop.disabled = True
        self.summary.value = summary_html(of_run(run))
        if self._handle is not None:
            self._handle.update({VIEW_MIME: self.box._repr_mimebundle_()[VIEW_MIME],
                                 **readable(run)}, raw=True)

    def _tick(self) -> None:
        while not self._over.wait(1 / REDRAWS_PER_S):
            if self._dirty.is_set():
                self._dirty.clear()
                self.render(table=True)

    def render(self, table: bool) -> None:
        """Push what changed: the bar (rows settled or left), the line, and the paths."""
        shown = progress(self.run)
        done = sum(shown.settled) + shown.unsettled
        for widget, value in ((self.bar, done),
                              (self.label, html.escape(progress_line(shown)))):
            if widget.value != value:
                widget.value = value
                self.pushes += 1
        if table:
            live = not self._over.is_set()
            paths, texts = self.run.paths, row_texts(self.run)
            shown = LIVE_ROWS if live and len(paths) > LIVE_ROWS else len(paths)
            caption = (f"<div class='opus-cascade-window'>rows 0–{shown - 1} of {len(paths)} "
                       f"while the cascade runs; every row at the end</div>"
                       if shown < len(paths) else "")
            value = caption + table_html(path_rows(paths[:shown], texts[:shown]))
            if self.table.value != value:
                self.table.value = value
                self.pushes += 1
