"""What this kernel's notebook keeps between cells, in one object the extension holds.

The runs streaming on background threads (a cell returns at once in JupyterLab, and the next
cell waits for them), the latest view and the live views whose controls retire when the next
cell runs, the grids and provider-batch watches running, what each --sample projected, and whether a cell is running now (the
warm-up waits for a quiet moment). Nothing here imports more than the standard library, so the
extension's hooks can hold it from `%load_ext` on.
"""
from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opus_magic.core.ab.forecast import Projection


class Background:
    """Runs streaming on background threads, each in the context of the cell that started it."""

    def __init__(self) -> None:
        self._runs: list[tuple[threading.Event, Callable[[], None]]] = []
        self._lock = threading.Lock()

    def launcher(self) -> Callable[[Callable[[], Any], Callable[[], None]], None]:
        """A `launch(work, stop)` bound to the current context (ipykernel keeps the cell there)."""
        context = contextvars.copy_context()

        def launch(work: Callable[[], Any], stop: Callable[[], None]) -> None:
            done = threading.Event()

            def body() -> None:
                try:
                    work()
                finally:
                    done.set()

            with self._lock:
                self._runs = [(d, s) for d, s in self._runs if not d.is_set()]
                self._runs.append((done, stop))
            threading.Thread(target=context.copy().run, args=(body,), name="opus-run",
                             daemon=True).start()

        return launch

    def wait(self) -> None:
        """Return when every background run has ended; an interrupt stops them first.

        Waits on events rather than `Thread.join`, which an interrupt can leave believing a
        running thread has ended.
        """
        with self._lock:
            runs = list(self._runs)
        try:
            for done, _ in runs:
                done.wait()
        except KeyboardInterrupt:
            for _, stop in runs:
                stop()
            for done, _ in runs:
                done.wait()
            print("opus: interrupted; the runs still streaming were stopped and recorded.")


class Quiet:
    """Whether the kernel is between cells: the warm-up's slowest step waits for that, so it
    never competes with a cell (the GIL would make the cell wait for it)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._running = True  # `%load_ext` itself runs in a cell
        self._begun = 0
        self.warming = False

    def cell_began(self) -> None:
        with self._changed:
            self._running, self._begun = True, self._begun + 1
            self._changed.notify_all()

    def cell_ended(self, result: Any = None) -> None:
        with self._changed:
            self._running = False
            self._changed.notify_all()

    def wait(self, settle_s: float = 0.25) -> None:
        """Return once no cell has run for `settle_s` (the next one of a Run All starts sooner)."""
        with self._changed:
            while True:
                self._changed.wait_for(lambda: not self._running)
                begun = self._begun
                self._changed.wait(settle_s)
                if not self._running and self._begun == begun:
                    return


class NotebookState:
    """The notebook's state in this kernel (one: `STATE`, whose hooks `%load_ext` registers)."""

    def __init__(self) -> None:
        self.background = Background()
        self.quiet = Quiet()
        self.latest_view: Any = None
        self.handed_over: list[Any] = []  # live views whose controls retire at the next cell
        self.grids: list[Any] = []  # grid runs streaming now
        self.watches: list[Any] = []  # this kernel's provider-batch watches
        self.forecasts: dict[str, Projection] = {}  # full-run key -> what --sample projected for it

    def remember(self, view: Any, live: bool = False) -> None:
        """The latest view; a live view gives its controls up when the kernel moves on."""
        self.latest_view = view
        if live:
            self.handed_over.append(view)

    def before_cell(self, info: Any = None) -> None:
        """pre_run_cell: runs streaming in the background end before the next cell, then the
        controls of ended views withdraw, so a notebook saved from here on holds no widget."""
        self.quiet.cell_began()
        self.background.wait()
        while self.handed_over:
            self.handed_over.pop().retire()

    def stop_grids(self) -> None:
        """Stop every grid running in this kernel (what Stop does): finished cells are kept."""
        for run in list(self.grids):
            run.stop()


STATE = NotebookState()
