"""The wire: OpenAI-compatible chat completions through the openai SDK, read as raw SSE lines.

The SDK builds the request, authenticates and maps HTTP errors to typed exceptions; the body is
read line by line and parsed with `json.loads`, which costs a fraction of the SDK's typed stream.
"""
from __future__ import annotations

import contextlib
import functools
import json
import socket
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from opus_magic.errors import RequestError, StreamInterrupted
from opus_magic.wire.endpoints import Endpoint
from opus_magic.wire.explain import Hold, explain_status

SIMULATOR_HEADER = "x-opus-magic-simulator"


@functools.lru_cache(maxsize=16)
def _sdk_client(base_url: str, api_key: str, timeout_s: float) -> Any:
    import openai

    return openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0)


def sdk_client(endpoint: Endpoint, timeout_s: float) -> Any:
    key = endpoint.api_key.reveal() if endpoint.api_key else "no-key"
    return _sdk_client(endpoint.base_url, key, timeout_s)


class Response:
    """One open HTTP response: headers now, chunks as they arrive, closed exactly once."""

    def __init__(self, manager: Any, api_response: Any, key: str | None) -> None:
        self._manager = manager
        self._response = api_response
        self._key = key
        self.headers: Mapping[str, str] = dict(api_response.headers)
        self.simulator = SIMULATOR_HEADER in {name.lower() for name in self.headers}
        self._broken = _read_errors(api_response)

    def chunks(self) -> Iterator[dict[str, Any]]:
        """Parsed `data:` events until `[DONE]` or the end of the body."""
        with self._reading():
            for line in self._response.iter_lines():
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    return
                yield json.loads(payload)

    def abort(self) -> None:
        """End the response from another thread at once: a read blocked on it fails promptly.

        Closing alone waits for the next bytes; shutting the socket down wakes the reader now.
        """
        stream = self._response.http_response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def json(self) -> dict[str, Any]:
        """The whole answer of a request sent without streaming."""
        with self._reading():
            return json.loads(self._response.read())

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """A broken connection or a garbled body after the headers is an interruption."""
        try:
            yield
        except json.JSONDecodeError as exc:
            raise StreamInterrupted(f"The endpoint sent a malformed event ({exc.msg}).") from None
        except self._broken as exc:
            raise StreamInterrupted(f"The connection broke mid-answer ({type(exc).__name__}).") from None

    def close(self) -> None:
        manager, self._manager = self._manager, None
        if manager is not None:
            manager.__exit__(None, None, None)


def _read_errors(api_response: Any) -> tuple[type[BaseException], ...]:
    """The HTTP library's read errors, which the SDK lets through unwrapped once the body streams.

    Taken from the library the SDK actually uses (httpx, or httpx2 for openai 3).
    """
    library = sys.modules[type(api_response.http_response).__module__.partition(".")[0]]
    return library.TransportError, library.DecodingError, OSError


def open_response(endpoint: Endpoint, body: dict[str, Any], timeout_s: float,
                  hold: Hold | None = None) -> Response:
    """Send one request (no retries here) and return the open response, or raise RequestError.

    `hold` (the request's input and max_tokens at the model's prices) explains a 402.
    """
    import openai

    client = sdk_client(endpoint, timeout_s)
    manager = client.chat.completions.with_streaming_response.create(**body)
    key = endpoint.api_key.reveal() if endpoint.api_key else None
    try:
        return Response(manager, manager.__enter__(), key)
    except openai.APIError as exc:
        raise sdk_failure(openai, exc, endpoint, timeout_s, hold) from None


def sdk_failure(sdk: Any, exc: Exception, endpoint: Endpoint, timeout_s: float,
                hold: Hold | None) -> Exception:
    """The RequestError for one of an SDK's typed exceptions (openai's and anthropic's share
    their names); anything else is returned unchanged. The server's `request-id` is quoted."""
    key = endpoint.api_key.reveal() if endpoint.api_key else None
    if isinstance(exc, sdk.APIStatusError):
        error = status_error(exc, endpoint, key, hold)
        request_id = exc.response.headers.get("request-id")
        if request_id:
            error.args = (f"{error} (request-id {request_id}: quote it to the provider's support)",)
        return error
    if isinstance(exc, sdk.APITimeoutError):
        return RequestError(f"No answer from {endpoint.base_url} within {timeout_s:g} s: the "
                            f"endpoint is slow or down; try again or raise timeout_s.",
                            code="timeout", retryable=True)
    if isinstance(exc, sdk.APIConnectionError):
        return RequestError(f"Cannot reach {endpoint.base_url} ({_scrub(str(exc.__cause__ or exc), key)}):"
                            f" check base_url and that the server is running.",
                            code="connection", retryable=True)
    return exc


def status_error(exc: Any, endpoint: Endpoint, key: str | None, hold: Hold | None) -> RequestError:
    """Both OpenAI's and Anthropic's error bodies keep the details under `error`."""
    try:
        body = exc.response.json()
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    return explain_status(
        status=exc.status_code,
        error={k: (_scrub(v, key) if isinstance(v, str) else v) for k, v in error.items()},
        headers=dict(exc.response.headers),
        endpoint=endpoint,
        hold=hold,
    )


def _scrub(text: str, key: str | None) -> str:
    """Never let a key echoed by a server reach a message."""
    return text.replace(key, "[key]") if key and len(key) >= 4 else text
