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
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from opus_magic.errors import RequestError, StreamInterrupted, StreamTimedOut
from opus_magic.wire.endpoints import Endpoint
from opus_magic.wire.explain import Hold, explain_status
from opus_magic.wire.scrub import KEY_LOGS, Scrubber

SIMULATOR_HEADER = "x-opus-magic-simulator"


@functools.lru_cache(maxsize=16)
def _sdk_client(base_url: str, api_key: str, timeout_s: float) -> Any:
    import openai

    KEY_LOGS.guard(api_key)
    return openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0)


def sdk_client(endpoint: Endpoint, timeout_s: float) -> Any:
    key = endpoint.api_key.reveal() if endpoint.api_key else "no-key"
    return _sdk_client(endpoint.base_url, key, timeout_s)


class Response:
    """One open HTTP response: headers now, events as they arrive, closed exactly once."""

    def __init__(self, manager: Any, api_response: Any, clean: Scrubber, timeout_s: float,
                 stream: bool = True) -> None:
        self._manager = manager
        self._response = api_response
        self._clean = clean
        self._timeout_s = timeout_s
        self.headers: Mapping[str, str] = clean.headers(api_response.headers)
        self.simulator = SIMULATOR_HEADER in {name.lower() for name in self.headers}
        self._timeout, *broken = _read_errors(api_response)
        self._broken = tuple(broken)
        self._events = self._read(stream)
        self._ahead: list[dict[str, Any]] = []

    def chunks(self) -> Iterator[dict[str, Any]]:
        """Parsed events until `[DONE]` or the end: a stream's `data:` events, or the one body of
        an answer sent whole."""
        while self._ahead:
            yield self._ahead.pop(0)
        yield from self._events

    def read_to_first_answer(self) -> None:
        """Read ahead to the first event carrying any of the answer. A timeout or a broken
        connection before it lost nothing (nothing shown, nothing billed): a retryable error."""
        try:
            for event in self._events:
                self._ahead.append(event)
                if carries_answer(event):
                    return
        except StreamTimedOut:
            self.close()
            raise RequestError(f"No answer within {self._timeout_s:g} s: the endpoint is slow or "
                               f"stalled; try again or raise timeout_s.", code="timeout",
                               retryable=True) from None
        except StreamInterrupted as exc:
            self.close()
            raise RequestError(f"{str(exc).rstrip('.')} before the answer began.",
                               code="disconnected", retryable=True) from None

    def _read(self, stream: bool) -> Iterator[dict[str, Any]]:
        with self._reading():
            if not stream:
                yield json.loads(self._clean(self._response.read().decode("utf-8", "replace")))
                return
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

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """A broken connection, a stall or a garbled body after the headers is an interruption."""
        try:
            yield
        except json.JSONDecodeError as exc:
            raise StreamInterrupted(f"The endpoint sent a malformed event ({exc.msg}).") from None
        except self._timeout:
            raise StreamTimedOut(
                f"The endpoint sent nothing for {self._timeout_s:g} s and timed out mid-answer "
                f"(raise timeout_s if it is slow but alive, e.g. %opus config "
                f"timeout_s={self._timeout_s * 2:g})") from None
        except self._broken as exc:
            raise StreamInterrupted(f"The connection broke mid-answer ({type(exc).__name__}).") from None

    def close(self) -> None:
        manager, self._manager = self._manager, None
        if manager is not None:
            manager.__exit__(None, None, None)


ANSWER_EVENTS = ("content_block_delta", "message_delta", "message_stop", "error", "message")


def carries_answer(event: dict[str, Any]) -> bool:
    """Whether an event holds any of the answer (text, a refusal, a tool call, an end, an error);
    Messages API events say so by their type (`message_start` and `ping` carry none)."""
    if isinstance(event.get("type"), str) and "choices" not in event:
        return event["type"] in ANSWER_EVENTS
    if event.get("error") or event.get("usage"):
        return True
    for choice in event.get("choices") or ():
        delta = choice.get("delta") or choice.get("message") or {}
        if (choice.get("finish_reason") or delta.get("content") or delta.get("refusal")
                or delta.get("tool_calls")):
            return True
    return "choices" not in event  # a shape we do not know: let the stream state judge it


def _read_errors(api_response: Any) -> tuple[type[BaseException], ...]:
    """The HTTP library's timeout, then its read errors, which the SDK lets through unwrapped
    once the body streams.

    Taken from the library the SDK actually uses (httpx, or httpx2 for openai 3).
    """
    library = sys.modules[type(api_response.http_response).__module__.partition(".")[0]]
    return library.TimeoutException, library.TransportError, library.DecodingError, OSError


def open_response(endpoint: Endpoint, body: dict[str, Any], timeout_s: float,
                  hold: Hold | None = None,
                  opened: Callable[[Response], None] | None = None) -> Response:
    """Send one request (no retries here) and return the response once the answer has begun, or
    raise RequestError (retryable when nothing of the answer had arrived).

    `hold` (the request's input and max_tokens at the model's prices) explains a 402; `opened`
    hears of the response as soon as its headers arrive (so Stop can abort it from then on).
    """
    import openai

    manager = sdk_client(endpoint, timeout_s).chat.completions.with_streaming_response.create(**body)
    return answered(openai, manager, endpoint, body, timeout_s, hold, opened)


def answered(sdk: Any, manager: Any, endpoint: Endpoint, body: dict[str, Any], timeout_s: float,
             hold: Hold | None, opened: Callable[[Response], None] | None) -> Response:
    """Open an SDK's raw streaming response, map its typed failures, and read ahead to the first
    event carrying any of the answer (shared by every transport)."""
    clean = Scrubber(endpoint.api_key.reveal() if endpoint.api_key else None)
    try:
        response = Response(manager, manager.__enter__(), clean, timeout_s, body.get("stream", False))
    except sdk.APIError as exc:
        raise sdk_failure(sdk, exc, endpoint, timeout_s, hold) from None
    if opened is not None:
        opened(response)
    response.read_to_first_answer()
    return response


def sdk_failure(sdk: Any, exc: Exception, endpoint: Endpoint, timeout_s: float,
                hold: Hold | None) -> Exception:
    """The RequestError for one of an SDK's typed exceptions (openai's and anthropic's share
    their names); anything else is returned unchanged. The server's `request-id` is quoted."""
    clean = Scrubber(endpoint.api_key.reveal() if endpoint.api_key else None)
    if isinstance(exc, sdk.APIStatusError):
        error = _status_error(exc, endpoint, clean, hold)
        request_id = exc.response.headers.get("request-id")
        if request_id:
            error.args = (f"{error} (request-id {clean(request_id)}: quote it to the provider's "
                          f"support)",)
        return error
    if isinstance(exc, sdk.APITimeoutError):
        return RequestError(f"No answer from {endpoint.base_url} within {timeout_s:g} s: the "
                            f"endpoint is slow or down; try again or raise timeout_s.",
                            code="timeout", retryable=True)
    if isinstance(exc, sdk.APIConnectionError):
        return RequestError(f"Cannot reach {endpoint.base_url} ({clean(str(exc.__cause__ or exc))}):"
                            f" check base_url and that the server is running.",
                            code="connection", retryable=True)
    return exc


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
