"""`%load_ext opus_magic`: the magics, their settings, the notebook's state and its hooks, and a
warm-up of heavy imports."""
from __future__ import annotations

import sys
import threading
from typing import Any

from opus_magic.errors import OpusError
from opus_magic.notebook.state import STATE


def load(ipython: Any) -> None:
    """Register `%%opus`, `%opus`, their settings, and the wait for runs streaming in the
    background before the next cell; heavy imports warm up on a thread."""
    from opus_magic.notebook.magics import OpusMagics

    magics = OpusMagics(ipython)
    ipython.register_magics(magics)
    if magics not in ipython.configurables:
        ipython.configurables.append(magics)
    magics.state = STATE
    if STATE.before_cell not in ipython.events.callbacks["pre_run_cell"]:
        ipython.events.register("pre_run_cell", STATE.before_cell)
        ipython.events.register("post_run_cell", STATE.quiet.cell_ended)
    if not STATE.quiet.warming:
        STATE.quiet.warming = True
        threading.Thread(target=warm_up, name="opus-magic-warm-up", daemon=True).start()


def warm_up() -> None:
    """Get ready for a first run while the user types it: the HTTP connection pool, the default
    endpoint, widgets in a kernel, the history store; then, between cells, Markdown, the token
    encoding (a first cell needs them only once its first words are out) and the grid's code."""
    from opus_magic.core.session import default_session
    from opus_magic.cost import tokens
    from opus_magic.cost.catalog import default_catalog
    from opus_magic.notebook import cells  # noqa: F401  (what a first cell runs)
    from opus_magic.wire.client import pool

    if "ipykernel" in sys.modules:
        import ipywidgets  # noqa: F401

        from opus_magic.notebook import controller  # noqa: F401  (and the view a run shows)
        from opus_magic.view.run import widget  # noqa: F401
    session = default_session()
    try:
        settings = session.settings()
        model_id = default_catalog().resolve(settings.model)
        route = session.endpoint(settings, model_id, settings.model)  # a simulator starts
        pool(route.endpoint.base_url)
        session.store(settings)
    except OpusError:
        return
    STATE.quiet.wait()  # what a run needs only once its first words are out
    if "ipykernel" in sys.modules:
        import markdown_it  # noqa: F401  (a live view's end renders the answer with it)

        from opus_magic.view.grid import widget as grid_widget  # noqa: F401  (a first grid)
    tokens.encoding_for(model_id)
    from opus_magic.notebook.grid import run  # noqa: F401  (a first --each cell plans with it)
