"""The wire's HTTP: requests over httpx2, responses read as raw SSE lines, errors explained.

httpx2 is the HTTP library both official SDKs are built on; the SDKs themselves stay out of
the streaming path, since importing one costs 0.4 s (openai) to 1.4 s (anthropic) of typed
models on a notebook's first cell, and their typed stream costs far more than `json.loads` per
line. Every HTTP status is explained by our own table (wire/explain.py), with the request-id.
"""
from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from opus_magic.errors import (
    BadKey,
    ConnectionFailed,
    CutBeforeAnswer,
    Redirected,
    RequestError,
    RequestTimedOut,
    StreamInterrupted,
    StreamTimedOut,
)
from opus_magic.wire.body.payload import json_body
from opus_magic.wire.endpoints import Endpoint
from opus_magic.wire.explain import Hold, explain_status
from opus_magic.wire.scrub import KEY_LOGS, Scrubber

SIMULATOR_HEADER = "x-opus-magic-simulator"
_pools: dict[bool, Any] = {}
_pools_lock = threading.Lock()


def pool(url: str) -> Any:
    """The connection pool for `url`'s scheme, shared by every request (created on first use;
    the SDKs' limits). Only the https pool loads the CA bundle (tens of milliseconds): the http
    pool's TLS context trusts nothing, so TLS through it fails rather than going unverified."""
    secure = url.lower().startswith("https:")
    with _pools_lock:
        if secure not in _pools:
            import importlib.metadata
            import ssl

            import httpx2

            agent = f"opus-magic/{importlib.metadata.version('opus_magic')}"
            # One context for every transport, proxies from the environment included.
            context = (httpx2.create_ssl_context() if secure
                       else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
            _pools[secure] = httpx2.Client(
                verify=context, headers={"user-agent": agent},
                limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=100))
        return _pools[secure]


def key_of(endpoint: Endpoint) -> str | None:
    """The endpoint's key, once guarded: the HTTP libraries' logs never show it. A key no HTTP
    header can carry is refused before anything is sent (the libraries would quote it)."""
    key = endpoint.api_key.reveal() if endpoint.api_key else None
    if key:
        if not (key.isascii() and key.isprintable()) or any(c.isspace() for c in key):
            raise BadKey("The API key holds a space, a line break or a non-ASCII character, "
                         "which no HTTP header can carry: set it again with %opus config "
                         "api_key (a hidden prompt).")
        KEY_LOGS.guard(key)
    return key


class Response:
    """One open HTTP response: headers now, events as they arrive, closed exactly once."""

    def __init__(self, api_response: Any, clean: Scrubber, timeout_s: float,
                 stream: bool = True) -> None:
        self._response: Any = api_response
        self._clean = clean
        self._timeout_s = timeout_s
        self.headers: Mapping[str, str] = clean.headers(api_response.headers)
        self.simulator = SIMULATOR_HEADER in {name.lower() for name in self.headers}
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
            raise RequestTimedOut(f"No answer within {self._timeout_s:g} s: the endpoint is slow "
                                  f"or stalled; try again or raise timeout_s.",
                                  retryable=True) from None
        except StreamInterrupted as exc:
            self.close()
            raise CutBeforeAnswer(f"{str(exc).rstrip('.')} before the answer began.",
                                  retryable=True) from None

    def _read(self, stream: bool) -> Iterator[dict[str, Any]]:
        with self._reading():
            if not stream:
                yield self._decoded(self._response.read().decode("utf-8", "replace"))
                return
            for line in self._response.iter_lines():
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    return
                yield self._decoded(payload)

    def _decoded(self, text: str) -> dict[str, Any]:
        """One event, cleaned of the key before and after decoding (JSON escapes can spell it);
        anything but a JSON object is malformed."""
        event = json.loads(self._clean(text))
        if "\\" in text:
            event = self._clean.deep(event)
        if not isinstance(event, dict):
            raise StreamInterrupted(f"The endpoint sent a malformed event (a JSON "
                                    f"{type(event).__name__}, not an object).")
        return event

    def abort(self) -> None:
        """End the response from another thread at once: a read blocked on it fails promptly.

        Closing alone waits for the next bytes; shutting the socket down wakes the reader now.
        """
        response = self._response
        stream = response.extensions.get("network_stream") if response is not None else None
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
        except _errors("TimeoutException"):
            raise StreamTimedOut(
                f"The endpoint sent nothing for {self._timeout_s:g} s and timed out mid-answer "
                f"(raise timeout_s if it is slow but alive, e.g. %opus config "
                f"timeout_s={self._timeout_s * 2:g})") from None
        except _errors("TransportError", "DecodingError", "StreamError") + (OSError,) as exc:
            raise StreamInterrupted(f"The connection broke mid-answer ({type(exc).__name__}).") from None

    def close(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            response.close()


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


def _errors(*names: str) -> tuple[type[BaseException], ...]:
    """httpx2's exception classes by name (the module is imported by the time one is raised)."""
    import httpx2

    return tuple(getattr(httpx2, name) for name in names)


def post(endpoint: Endpoint, url: str, headers: dict[str, str], body: dict[str, Any],
         timeout_s: float, hold: Hold | None) -> Response:
    """POST a JSON body and return the open response once its headers say it succeeded; an
    HTTP error status, a timeout or an unreachable server raises RequestError."""
    return send(endpoint, "POST", url, headers, timeout_s, hold, body=body,
                stream=bool(body.get("stream", False)))


def send(endpoint: Endpoint, method: str, url: str, headers: dict[str, str], timeout_s: float,
         hold: Hold | None = None, *, body: dict[str, Any] | None = None,
         files: dict[str, tuple[str, bytes, str]] | None = None, stream: bool = False,
         hints: Mapping[int, str] | None = None) -> Response:
    """Send a JSON body, a multipart upload (`files`) or nothing, and return the open response
    once its headers say it succeeded; `hints` explain statuses this route means differently."""
    import httpx2

    clean = Scrubber(key_of(endpoint))
    client = pool(url)
    content = None
    if body is not None:  # attachments are base64-encoded as they are written out
        length, chunks = json_body(body)
        content = chunks()
        headers = {**headers, "content-type": "application/json", "content-length": str(length)}
    request = client.build_request(method, url, content=content, files=files, headers=headers,
                                   timeout=httpx2.Timeout(timeout_s))
    try:
        answer = client.send(request, stream=True)
    except httpx2.TimeoutException:
        raise RequestTimedOut(f"No answer from {endpoint.base_url} within {timeout_s:g} s: the "
                              f"endpoint is slow or down; try again or raise timeout_s.",
                              retryable=True) from None
    except httpx2.TransportError as exc:
        raise ConnectionFailed(f"Cannot reach {endpoint.base_url} "
                               f"({clean(str(exc) or type(exc).__name__)}): check base_url and "
                               f"that the server is running.", retryable=True) from None
    if answer.status_code >= 400:
        raise _status_error(answer, endpoint, clean, hold, hints)
    if answer.is_redirect:  # not followed: the key would go along to wherever it points
        answer.close()
        moved = clean(answer.headers.get("location", "elsewhere"))
        raise Redirected(f"{endpoint.base_url} answered HTTP {answer.status_code}, moved to "
                         f"{moved}: if that is the endpoint, put it in base_url.",
                         status=answer.status_code)
    return Response(answer, clean, timeout_s, stream)


def _status_error(answer: Any, endpoint: Endpoint, clean: Scrubber, hold: Hold | None,
                  hints: Mapping[int, str] | None = None) -> RequestError:
    """The explained error of an HTTP error status, quoting the server's request-id."""
    try:
        text = clean(answer.read().decode("utf-8", "replace"))
    except _errors("TransportError", "StreamError"):
        text = ""
    finally:
        answer.close()
    try:
        body = clean.deep(json.loads(text))
    except (ValueError, RecursionError):
        body = {"message": text[:300]} if text.strip() else {}
    headers = clean.headers(answer.headers)
    error = explain_status(status=answer.status_code, error=error_of(body), headers=headers,
                           endpoint=endpoint, hold=hold, hints=hints)
    request_id = headers.get("request-id")
    if request_id:
        error.args = (f"{error} (request-id {request_id}: quote it to the provider's support)",)
    return error


def error_of(body: Any) -> dict[str, Any]:
    """The error object of any common shape: OpenAI's `{"error": {...}}`, vLLM's and Mistral's
    top-level `{"message": ..., "object": "error"}`, FastAPI's `{"detail": ...}`, a bare string."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"]
    if isinstance(body, dict):
        said = body.get("message") or body.get("detail") or body.get("error")
        return {**body, "message": said}
    return {"message": body} if body else {}
