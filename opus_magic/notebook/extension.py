"""`%load_ext opus_magic`: the magics, their settings, and a warm-up of heavy imports."""
from __future__ import annotations

import sys
import threading
from typing import Any

from opus_magic.errors import OpusError


def load(ipython: Any) -> None:
    """Register `%%opus`, `%opus`, their settings, and the wait for runs streaming in the
    background before the next cell; heavy imports warm up on a thread."""
    from opus_magic.notebook.magics import OpusMagics

    magics = OpusMagics(ipython)
    ipython.register_magics(magics)
    if magics not in ipython.configurables:
        ipython.configurables.append(magics)
    if wait_for_runs not in ipython.events.callbacks["pre_run_cell"]:
        ipython.events.register("pre_run_cell", wait_for_runs)
        ipython.events.register("post_run_cell", QUIET.cell_ended)
    if not QUIET.warming:
        QUIET.warming = True
        threading.Thread(target=warm_up, name="opus-magic-warm-up", daemon=True).start()


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


QUIET = Quiet()


def wait_for_runs(info: Any = None) -> None:
    """pre_run_cell hook: runs streaming in the background end before the next cell (only once
    a run was presented can one be streaming, so nothing is imported for it before that)."""
    QUIET.cell_began()
    # Still being imported (by the warm-up) when it lacks the function: nothing presented yet.
    wait = getattr(sys.modules.get("opus_magic.notebook.present"), "wait_for_runs", None)
    if wait is not None:
        wait(info)


def warm_up() -> None:
    """Get ready for a first run while the user types it: the HTTP connection pool, the default
    endpoint, widgets in a kernel, the history store; then, between cells, Markdown and the
    token encoding (a first cell needs them only once its first words are out)."""
    from opus_magic.core.session import default_session
    from opus_magic.cost import tokens
    from opus_magic.cost.catalog import default_catalog
    from opus_magic.notebook import cells  # noqa: F401  (what a first cell runs)
    from opus_magic.wire.client import pool

    if "ipykernel" in sys.modules:
        import ipywidgets  # noqa: F401
    session = default_session()
    try:
        settings = session.settings()
        model_id = default_catalog().resolve(settings.model)
        route = session.endpoint(settings, model_id, settings.model)  # a simulator starts
        pool(route.endpoint.base_url)
        session.store(settings)
    except OpusError:
        return
    QUIET.wait()  # what a run needs only once its first words are out
    if "ipykernel" in sys.modules:
        import markdown_it  # noqa: F401  (a live view's end renders the answer with it)
    tokens.encoding_for(model_id)
