"""The wire: OpenAI-compatible chat completions through the openai SDK, read as raw SSE lines.

The SDK builds the request, authenticates and maps HTTP errors to typed exceptions; the body is
read line by line and parsed with `json.loads`, which costs a fraction of the SDK's typed stream.
"""
from __future__ import annotations

import contextlib
import functools
import json
import logging
import socket
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from opus_magic.config import mask
from opus_magic.errors import RequestError, StreamInterrupted
from opus_magic.wire.endpoints import Endpoint
from opus_magic.wire.explain import Hold, explain_status

SIMULATOR_HEADER = "x-opus-magic-simulator"


@functools.lru_cache(maxsize=16)
def _sdk_client(base_url: str, api_key: str, timeout_s: float) -> Any:
    import openai

    KEY_LOGS.guard(api_key)
    return openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0)


def sdk_client(endpoint: Endpoint, timeout_s: float) -> Any:
    key = endpoint.api_key.reveal() if endpoint.api_key else "no-key"
    return _sdk_client(endpoint.base_url, key, timeout_s)


class Scrubber:
    """The one boundary everything a server sends passes through before anything reads it: the
    key, if echoed back (by a proxy, a gateway, an error page), becomes its mask. Raw text is
    cleaned before it is parsed, so a key inside any JSON shape or header is caught."""

    def __init__(self, key: str | None) -> None:
        self._key = key if key and len(key) >= 8 else None
        self._mask = mask(key)

    def __call__(self, text: str) -> str:
        if self._key is None or self._key not in text:
            return text
        return text.replace(self._key, self._mask)

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {self(name): self(value) for name, value in headers.items()}


class KeyLogFilter(logging.Filter):
    """The HTTP libraries log response headers at DEBUG before we see them: their log records
    pass the same scrubbing, so an echoed key never reaches a log either."""

    # Filters are not inherited by child loggers, so each logging module is named (httpcore's
    # are created on first connection, after the filter must already be in place).
    LOGGERS = tuple(f"{library}{part}" for library in ("httpcore", "httpcore2")
                    for part in (".http11", ".http2", ".connection", ".proxy", ".socks")) + (
        "httpx", "httpx2", "openai", "openai._base_client")

    def __init__(self) -> None:
        super().__init__()
        self.scrubbers: dict[str, Scrubber] = {}

    def guard(self, key: str) -> None:
        """Scrub `key` from every record the HTTP libraries log."""
        self.scrubbers.setdefault(key, Scrubber(key))
        for name in self.LOGGERS:
            logger = logging.getLogger(name)
            if self not in logger.filters:
                logger.addFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        for clean in list(self.scrubbers.values()):
            cleaned = clean(text)
            if cleaned != text:
                record.msg, record.args, text = cleaned, None, cleaned
        return True


KEY_LOGS = KeyLogFilter()


class Response:
    """One open HTTP response: headers now, chunks as they arrive, closed exactly once."""

    def __init__(self, manager: Any, api_response: Any, clean: Scrubber) -> None:
        self._manager = manager
        self._response = api_response
        self._clean = clean
        self.headers: Mapping[str, str] = clean.headers(api_response.headers)
        self.simulator = SIMULATOR_HEADER in {name.lower() for name in self.headers}
        self._broken = _read_errors(api_response)

    def chunks(self) -> Iterator[dict[str, Any]]:
        """Parsed `data:` events until `[DONE]` or the end of the body."""
        with self._reading():
            for line in self._response.iter_lines():
                if not line.startswith("data:"):
                    continue
                payload = self._clean(line[5:].strip())
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
            return json.loads(self._clean(self._response.read().decode("utf-8", "replace")))

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
    clean = Scrubber(endpoint.api_key.reveal() if endpoint.api_key else None)
    try:
        return Response(manager, manager.__enter__(), clean)
    except openai.APIStatusError as exc:
        raise _status_error(exc, endpoint, clean, hold) from None
    except openai.APITimeoutError:
        raise RequestError(f"No answer from {endpoint.base_url} within {timeout_s:g} s: the "
                           f"endpoint is slow or down; try again or raise timeout_s.",
                           code="timeout", retryable=True) from None
    except openai.APIConnectionError as exc:
        raise RequestError(f"Cannot reach {endpoint.base_url} ({clean(str(exc.__cause__ or exc))}):"
                           f" check base_url and that the server is running.",
                           code="connection", retryable=True) from None


def _status_error(exc: Any, endpoint: Endpoint, clean: Scrubber,
                  hold: Hold | None) -> RequestError:
    try:
        body = json.loads(clean(exc.response.text))
    except ValueError:
        body = {"message": clean(exc.response.text)[:300]} if exc.response.text.strip() else {}
    return explain_status(status=exc.status_code, error=error_of(body),
                          headers=clean.headers(exc.response.headers), endpoint=endpoint, hold=hold)


def error_of(body: Any) -> dict[str, Any]:
    """The error object of any common shape: OpenAI's `{"error": {...}}`, vLLM's and Mistral's
    top-level `{"message": ..., "object": "error"}`, FastAPI's `{"detail": ...}`, a bare string."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"]
    if isinstance(body, dict):
        said = body.get("message") or body.get("detail") or body.get("error")
        return {**body, "message": said}
    return {"message": body} if body else {}
