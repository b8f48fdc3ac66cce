"""Showing runs: plain text in a terminal, the live widget view in a Jupyter kernel.

In an interactive frontend (JupyterLab sends `allow_stdin`) a run streams on a background thread
and the cell returns at once, so the kernel is idle and handles Stop and Run again; the next cell
waits for it (`wait_for_runs`, a pre_run_cell hook), so variables and `last_run()` keep their
order. Headless kernels (nbclient, nbconvert) run the widget view in the cell itself.
"""
from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from opus_magic.config import Settings
from opus_magic.core.plan import Plan
from opus_magic.core.session import Session
from opus_magic.records import RunRecord
from opus_magic.view.text import TextView

if TYPE_CHECKING:
    from opus_magic.core.fanout import Comparison

TEXT, LIVE, BLOCKING = "text", "live", "blocking"


def presentation(view: str) -> str:
    """TEXT, LIVE (background thread, the cell returns at once) or BLOCKING (widgets in the cell)."""
    from IPython import get_ipython

    kernel = getattr(get_ipython(), "kernel", None)
    if view == "text" or (view == "auto" and kernel is None):
        return TEXT
    if kernel is None:
        return BLOCKING
    parent = kernel.get_parent("shell") or {}
    return LIVE if parent.get("content", {}).get("allow_stdin") else BLOCKING


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


BACKGROUND = Background()
_last_view: Any = None


def wait_for_runs(info: Any = None) -> None:
    """pre_run_cell hook: let runs streaming in the background finish before the next cell."""
    BACKGROUND.wait()


def last_view() -> Any:
    """The most recent widget view (to display it again or drive it from code), or None."""
    return _last_view


def deliver(output: str | None, value: Any) -> None:
    """Put a cell's answer in the notebook variable named by `-o`."""
    if output:
        from IPython import get_ipython

        get_ipython().user_ns[output] = value


def present_run(session: Session, settings: Settings, plan: Plan,
                output: str | None = None) -> list[RunRecord]:
    """Execute one plan, showing it as it streams; the records that ended before returning."""
    mode = presentation(settings.view)
    if mode == TEXT:
        record = session.execute(plan, settings, TextView())
        deliver(output, record.text)
        return [record]
    from opus_magic.view.run_widget import RunView

    launch = BACKGROUND.launcher()
    view = RunView(session, settings, plan, launch, lambda record: deliver(output, record.text))
    remember(view)
    view.show()
    if mode == LIVE:
        launch(lambda: view.run(plan), view.cancel)
        return []
    record = view.run(plan)
    return [] if record is None else [record]


def present_comparison(session: Session, runs: Comparison,
                       output: str | None = None) -> list[RunRecord]:
    """Execute a fan-out side by side: text lines in a terminal, live columns in a notebook."""
    mode = presentation(runs[0][1].view)

    def done(records: Sequence[RunRecord]) -> None:
        deliver(output, [record.text for record in records])

    if mode == TEXT:
        from opus_magic.view.comparison_text import present_comparison_text

        records = present_comparison_text(session, runs)
        done(records)
        return records
    from opus_magic.view.comparison_widget import ComparisonView

    view = ComparisonView(session, runs, done)
    remember(view)
    view.show()
    if mode == LIVE:
        BACKGROUND.launcher()(view.run, view.cancel)
        return []
    return view.run()


def remember(view: Any) -> None:
    """Keep the most recent widget view for `last_view()`."""
    global _last_view
    _last_view = view
