"""Errors users see: one line each, saying what to do next. The class says what happened.

    OpusError                   shown as is, without a traceback
    ├── UsageError              bad input (a flag, a value, a prompt); nothing was sent
    │   ├── PlanRefused         a plan that must not be sent (too long, over the budget, rejected)
    │   └── SchemaRefused       a schema the API's structured outputs cannot take
    ├── ConfigError             a setting, profile or config file is wrong or missing
    ├── StoreError              the history cannot be opened or written
    │   └── NotRecorded         a run could not be written; the session keeps it meanwhile
    ├── RequestError            the request failed before an answer began (`status`, `retryable`)
    │   ├── BadKey              the key cannot be sent in an HTTP header
    │   ├── ConnectionFailed    the endpoint could not be reached
    │   ├── RequestTimedOut     no answer within timeout_s (the request may have been billed)
    │   ├── CutBeforeAnswer     the connection broke before the answer began
    │   ├── Redirected          the endpoint answered 3xx (not followed: the key would go along)
    │   ├── CircuitOpen         the endpoint failed too often lately; nothing is sent for a while
    │   └── Cancelled           the user stopped it before anything was answered
    ├── StreamInterrupted       the connection broke after the answer had begun; what arrived is kept
    │   └── StreamTimedOut      nothing arrived for timeout_s in mid-answer
    └── BudgetStopped           a running answer crossed the session budget (its tokens are billed)
"""
from __future__ import annotations

from typing import Any


class OpusError(Exception):
    """Base class: the message is shown to the user as is, without a traceback."""


class UsageError(OpusError):
    """Bad input from the user (flag, value, prompt); nothing was sent."""


class SchemaRefused(UsageError):
    """A JSON schema an API's structured outputs cannot take, even fixed; says what to change."""


class PlanRefused(UsageError):
    """A plan that must not be sent (too long, over the budget); `plan` keeps its figures."""

    def __init__(self, message: str, plan: Any) -> None:
        super().__init__(message)
        self.plan = plan


class ConfigError(OpusError):
    """A setting, profile or config file is wrong or missing."""


class StoreError(OpusError):
    """The history database cannot be opened or written; `reason` says why in a few words
    ("disk full"), when known."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


class NotRecorded(StoreError):
    """A run could not be written; the store keeps it in the session and writes it once the
    history can be written again."""


class RequestError(OpusError):
    """The endpoint refused or failed the request before its answer began.

    `status` is the HTTP status when there was one, `code` the provider's own error code (e.g.
    `insufficient_quota`), `retryable` whether sending again can help, `retry_after_s` how long
    the endpoint asked to wait.
    """

    billed = False  # whether the endpoint may have charged for it

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 retryable: bool = False, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retryable = retryable
        self.retry_after_s = retry_after_s

    def again(self, message: str) -> RequestError:
        """The same failure (same class and figures) with a fuller message, no longer retryable."""
        error = type(self).__new__(type(self))
        RequestError.__init__(error, message, status=self.status, code=self.code,
                              retryable=False, retry_after_s=self.retry_after_s)
        return error


class BadKey(RequestError):
    """The API key holds characters no HTTP header can carry; nothing was sent."""


class ConnectionFailed(RequestError):
    """The endpoint could not be reached; nothing was sent."""


class RequestTimedOut(RequestError):
    """No answer within timeout_s: the request may have been processed, and billed."""

    billed = True


class CutBeforeAnswer(RequestError):
    """The connection broke after the headers but before any of the answer."""


class Redirected(RequestError):
    """The endpoint answered with a redirect, which is not followed."""


class CircuitOpen(RequestError):
    """The endpoint failed too often lately: nothing is sent until its cool-down ends."""


class Cancelled(RequestError):
    """Stopped by the user before the endpoint answered."""


class StreamInterrupted(OpusError):
    """The connection broke after the answer had started; what arrived is kept."""


class StreamTimedOut(StreamInterrupted):
    """Nothing arrived for timeout_s seconds after the answer had been asked for."""


class BudgetStopped(OpusError):
    """A running answer crossed the session budget and was stopped; what arrived is billed."""
