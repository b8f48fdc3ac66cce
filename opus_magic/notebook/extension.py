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
    threading.Thread(target=warm_up, name="opus-magic-warm-up", daemon=True).start()


def wait_for_runs(info: Any = None) -> None:
    """pre_run_cell hook: runs streaming in the background end before the next cell (only once
    a run was presented can one be streaming, so nothing is imported for it before that)."""
    present = sys.modules.get("opus_magic.notebook.present")
    if present is not None:
        present.wait_for_runs(info)


def warm_up() -> None:
    """Get ready for a first run while the user types it: the SDK and its client for the default
    endpoint, widgets and Markdown in a kernel, the history store and the token encoding."""
    import openai  # noqa: F401

    from opus_magic.core.session import default_session
    from opus_magic.cost import tokens
    from opus_magic.cost.catalog import default_catalog
    from opus_magic.notebook import commands, present  # noqa: F401  (what a first cell runs)
    from opus_magic.wire.client import sdk_client

    if "ipykernel" in sys.modules:
        import ipywidgets  # noqa: F401
        import markdown_it  # noqa: F401  (a live view's end renders the answer with it)
    session = default_session()
    try:
        settings = session.settings()
        model_id = default_catalog().resolve(settings.model)
        endpoint, _, _ = session.endpoint(settings, model_id, settings.model)
        sdk_client(endpoint, settings.timeout_s)
        session.store(settings)
    except OpusError:
        return
    tokens.encoding_for(model_id)
