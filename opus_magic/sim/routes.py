"""The simulator's routes besides chat and Messages: files, batches and usage reports."""
from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any

from opus_magic.sim.batch.routes import route as route_batches
from opus_magic.sim.files import route as route_files
from opus_magic.sim.reports.routes import route as route_reports


def routed(handler: BaseHTTPRequestHandler, state: Any, method: str, path: str) -> bool:
    """Answer a files, batches or reports request (or their controls); False for other paths."""
    return (route_files(handler, state.files, method, path)
            or route_batches(handler, state, method, path)
            or route_reports(handler, state, method, path))
