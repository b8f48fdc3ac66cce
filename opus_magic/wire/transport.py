"""The transport seam: what every wire API implements (`wire/apis.py` picks one per endpoint).

A transport turns a `WireRequest` into the API's body, opens a response, gives a fresh stream
state that reads the API's events into the shared stream events (`wire/stream.py`), and says
what the API offers (prompt-cache breakpoints, exact input counts, uploaded files); it writes
tool turns, server tools and the schema an answer must follow its API's way (`WireRequest`).
Everything above the wire
is shared: adding an API is one module with a `Transport` and one line in `wire/apis.py`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from opus_magic.wire.body.request import WireRequest
from opus_magic.wire.body.schemas import Fitted
from opus_magic.wire.client import Response
from opus_magic.wire.endpoints import Endpoint
from opus_magic.wire.explain import Hold
from opus_magic.wire.stream import StreamState


class Transport(Protocol):
    """One wire API: how to write, send and read a request."""

    api: str  # the `api` setting that selects it
    caches: bool  # takes prompt-cache breakpoints in the body
    counts: bool  # counts a body's input tokens exactly, for free
    files: bool  # takes attachments by file_id, uploaded to its Files API (wire/anthropic/files.py)

    def version_for(self, body: dict[str, Any] | None) -> str | None:
        """The API version a body is sent as, where the API has versions."""
        ...

    def body(self, request: WireRequest) -> dict[str, Any]:
        """The request body in this API's format."""
        ...

    def open(self, endpoint: Endpoint, body: dict[str, Any], timeout_s: float,
             hold: Hold | None = None,
             opened: Callable[[Response], None] | None = None) -> Response:
        """Send one request (no retries) and return the response once its answer began."""
        ...

    def state(self) -> StreamState:
        """A fresh stream state for one answer in this API's events."""
        ...

    def count(self, endpoint: Endpoint, body: dict[str, Any], timeout_s: float) -> int:
        """The exact input tokens of `body` (only where `counts`)."""
        ...

    def fit_schema(self, name: str, schema: dict[str, Any]) -> Fitted:
        """A JSON schema as this API's structured outputs take it (fixed where that is safe);
        raises SchemaRefused, saying why, where it cannot be sent."""
        ...
