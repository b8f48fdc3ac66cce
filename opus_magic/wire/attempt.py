"""One request attempt that Stop can abandon at once, even before the endpoint has answered."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from opus_magic.errors import Cancelled


class Closable(Protocol):
    def close(self) -> None: ...


T = TypeVar("T", bound=Closable)


class Stoppable:
    """Runs each attempt on its own thread, so `stop()` (from any thread, or Ctrl-C in the waiting
    one) ends the wait at once even while the request is still connecting or waiting for headers.
    An abandoned attempt closes whatever it opens when it finally returns."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopped = False
        self._waiting: threading.Event | None = None

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._waiting is not None:
                self._waiting.set()

    def run(self, send: Callable[[], T]) -> T:
        """`send()`'s result or exception; a RequestError if stopped before it came back."""
        done = threading.Event()
        outcome: list[tuple[bool, Any]] = []
        with self._lock:
            if self._stopped:
                raise Cancelled("Stopped before sending.")
            self._waiting = done

        def attempt() -> None:
            try:
                outcome.append((True, send()))
            except BaseException as exc:  # handed to the waiting thread as is
                outcome.append((False, exc))
            done.set()
            with self._lock:
                abandoned = self._stopped
            if abandoned and outcome[0][0]:
                outcome[0][1].close()

        threading.Thread(target=attempt, name="opus-attempt", daemon=True).start()
        try:
            done.wait()
        except KeyboardInterrupt:
            self.stop()
            raise
        if not outcome:
            raise Cancelled("Stopped while waiting for the endpoint.")
        succeeded, value = outcome[0]
        if succeeded:
            return value  # type: ignore[no-any-return]
        raise value
