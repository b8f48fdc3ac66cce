"""The `opus_magic` Jupyter server extension: notebooks are saved without live-only outputs.

Enabled by etc/jupyter/jupyter_server_config.d/opus_magic.json, which installing the package
puts in the environment (an editable install skips data files: the Makefile copies it there). JupyterLab and Notebook 7 save
through the same contents manager; the browser keeps its live controls, the file goes without.
"""
from __future__ import annotations

from typing import Any

from opus_magic.view.live_only import drop_live_only


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Called by jupyter_server at start: every save goes through the hook."""
    serverapp.contents_manager.register_pre_save_hook(without_live_outputs)


def without_live_outputs(model: dict[str, Any], path: str, contents_manager: Any,
                         **kwargs: Any) -> None:
    """Pre-save hook: drop the outputs marked live-only from a notebook about to be written."""
    content = model.get("content")
    if model.get("type") == "notebook" and isinstance(content, dict):
        dropped = drop_live_only(content)
        if dropped:
            contents_manager.log.debug("opus_magic: %d live-only output(s) not saved in %s",
                                       dropped, path)
