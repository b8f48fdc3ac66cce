"""`%load_ext opus_magic`: the magics, their settings, and a warm-up of heavy imports."""
from __future__ import annotations

import threading
from typing import Any

from opus_magic.core.session import default_session
from opus_magic.cost import tokens
from opus_magic.cost.catalog import default_catalog
from opus_magic.errors import OpusError


def load(ipython: Any) -> None:
    """Register `%%opus`, `%opus`, their settings, and the wait for runs streaming in the
    background before the next cell; heavy imports warm up on a thread."""
    from opus_magic.notebook.magics import OpusMagics
    from opus_magic.notebook.present import wait_for_runs

    magics = OpusMagics(ipython)
    ipython.register_magics(magics)
    if magics not in ipython.configurables:
        ipython.configurables.append(magics)
    if wait_for_runs not in ipython.events.callbacks["pre_run_cell"]:
        ipython.events.register("pre_run_cell", wait_for_runs)
    threading.Thread(target=warm_up, name="opus-magic-warm-up", daemon=True).start()


def warm_up() -> None:
    """Load what a first run needs (the SDK, widgets and Markdown in a kernel, the token encoding)."""
    import sys

    import openai  # noqa: F401

    if "ipykernel" in sys.modules:
        import ipywidgets  # noqa: F401
        import markdown_it  # noqa: F401  (a live view's end renders the answer with it)
    try:
        settings = default_session().settings()
    except OpusError:
        return
    tokens.encoding_for(default_catalog().resolve(settings.model))
