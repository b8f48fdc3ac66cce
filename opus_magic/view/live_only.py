"""Outputs that only mean something while their kernel lives, and their removal from saved files.

A live view's controls (and its widgets while a run streams) are widget views: reopened without
the kernel they would read "Error displaying widget: model not found". The views mark such
outputs with LIVE_ONLY; the Jupyter server's pre-save hook (opus_magic.notebook.save_hook) drops
them from the file it writes, while the browser keeps showing them.
"""
from __future__ import annotations

from typing import Any

LIVE_ONLY = {"opus_magic": {"live_only": True}}


def is_live_only(output: Any) -> bool:
    """Whether a notebook output is marked as one that must not be saved."""
    if not isinstance(output, dict):
        return False
    mark = output.get("metadata", {}).get("opus_magic")
    return isinstance(mark, dict) and mark.get("live_only") is True


def drop_live_only(notebook: dict[str, Any]) -> int:
    """Remove the live-only outputs from an nbformat 4 notebook (in place); how many went."""
    dropped = 0
    for cell in notebook.get("cells", ()):
        outputs = cell.get("outputs") if isinstance(cell, dict) else None
        if not isinstance(outputs, list):
            continue
        kept = [output for output in outputs if not is_live_only(output)]
        dropped += len(outputs) - len(kept)
        outputs[:] = kept
    return dropped
