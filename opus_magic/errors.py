"""Errors users see: one line each, saying what to do next."""
from __future__ import annotations


class OpusError(Exception):
    """Base class: the message is shown to the user as is, without a traceback."""


class UsageError(OpusError):
    """Bad input from the user (flag, value, prompt); nothing was sent."""


class ConfigError(OpusError):
    """A setting, profile or config file is wrong or missing."""


class StoreError(OpusError):
    """The history database cannot be opened or written."""


class RequestError(OpusError):
    """The endpoint refused or failed the request."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 retryable: bool = False, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retryable = retryable
        self.retry_after_s = retry_after_s


class StreamInterrupted(OpusError):
    """The connection broke after the answer had started; what arrived is kept."""


class StreamTimedOut(StreamInterrupted):
    """Nothing arrived for timeout_s seconds after the answer had been asked for."""
