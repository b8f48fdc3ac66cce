"""Fault scenarios for the simulator: which ones exist, their parameters, and the errors they send."""
from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

HOLD_REASONS = ("weight_exceeds_budget", "in_flight_budget_exhausted")
CUT_MODES = ("close", "reset")
# Scenario name -> its parameters with their defaults (besides `times`).
SCENARIOS: dict[str, dict[str, Any]] = {
    "normal": {},
    "401": {},
    "403": {},
    "402": {},
    "402_hold": {"reason": "weight_exceeds_budget", "limit_usd": 0.50, "retry_after": 1},
    "429": {"retry_after": None, "retry_after_ms": None},
    "insufficient_quota": {},
    "500": {},
    "529": {},
    "fail_then_ok": {"status": 500, "failures": 1},
    "slow_first_byte": {"delay": 1.0},
    "cut": {"after": 5, "mode": "close"},
    "error_chunk": {"after": 5},
    "length": {"after": 20},
    "content_filter": {"after": 20},
    "no_usage": {},
    "error": {"status": 400},  # any HTTP error status, e.g. 404, 409 or 413
    # The answer's JSON (a requested schema's, or tool arguments) fails its schema on purpose.
    "bad_output": {"kind": "missing_field"},
    # Server tools on the Messages API (sim/native/server_tools.py).
    "web_search": {"searches": 1, "error": None},
    "pause_turn": {"searches": 1},
    "served": {"inference_geo": "us", "speed": "standard"},  # usage says so (Messages API)
}
BAD_OUTPUTS = ("missing_field", "wrong_type", "truncated")
SEARCH_ERRORS = ("unavailable", "too_many_requests", "invalid_tool_input", "query_too_long")
ERRORS: dict[int, dict[str, Any]] = {
    401: {"message": "Incorrect API key provided. Check the key passed as api_key.",
          "type": "authentication_error", "param": None, "code": "invalid_api_key"},
    402: {"message": "Your credit balance is too low to access the API. Please go to Plans & "
                     "Billing to upgrade or purchase credits.",
          "type": "billing_error", "param": None, "code": "insufficient_balance"},
    403: {"message": "Your API key does not have permission to use the specified resource.",
          "type": "permission_error", "param": None, "code": None},
    429: {"message": "Rate limit reached for requests per minute. Please try again later.",
          "type": "rate_limit_error", "param": None, "code": "rate_limit_exceeded"},
    500: {"message": "The server had an error while processing your request.",
          "type": "server_error", "param": None, "code": None},
    529: {"message": "Overloaded", "type": "overloaded_error", "param": None, "code": None},
}
UPSTREAM_ERROR = "Upstream provider error"
QUOTA_ERROR = {"message": "You exceeded your current quota, please check your plan and billing "
                          "details.",
               "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}


@dataclass(frozen=True)
class Scenario:
    """A chosen scenario with all of its parameters filled in."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.params[key]


@dataclass(frozen=True)
class ErrorReply:
    """An HTTP error response: status, JSON body, extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def make_scenario(name: str, params: Mapping[str, Any]) -> tuple[Scenario, int | None]:
    """Validate a scenario request; returns the scenario and how many requests it applies to."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}")
    allowed = SCENARIOS[name]
    unknown = set(params) - set(allowed) - {"times"}
    if unknown:
        raise ValueError(f"scenario {name!r} takes {sorted(allowed) + ['times']}, "
                         f"not {sorted(unknown)}")
    scenario = Scenario(name, {**allowed, **{k: v for k, v in params.items() if k != "times"}})
    times = scenario["failures"] if name == "fail_then_ok" else params.get("times")
    if times is not None and (not isinstance(times, int) or times < 1):
        raise ValueError(f"times must be a positive integer, not {times!r}")
    if name == "402_hold" and scenario["reason"] not in HOLD_REASONS:
        raise ValueError(f"402_hold reason must be one of {HOLD_REASONS}")
    if name == "cut" and scenario["mode"] not in CUT_MODES:
        raise ValueError(f"cut mode must be one of {CUT_MODES}")
    if name == "bad_output" and scenario["kind"] not in BAD_OUTPUTS:
        raise ValueError(f"bad_output kind must be one of {BAD_OUTPUTS}")
    if name in ("web_search", "pause_turn") and (
            not isinstance(scenario["searches"], int) or scenario["searches"] < 0):
        raise ValueError(f"searches must be a whole number, not {scenario['searches']!r}")
    if name == "web_search" and scenario["error"] not in (None, *SEARCH_ERRORS):
        raise ValueError(f"web_search error must be one of {SEARCH_ERRORS}")
    return scenario, times


class ScenarioBook:
    """The current scenario and how many more requests it applies to (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: Scenario | None = None
        self._remaining: int | None = None

    def choose(self, name: str, params: Mapping[str, Any]) -> None:
        scenario, times = make_scenario(name, params)
        with self._lock:
            self._active = None if name == "normal" else scenario
            self._remaining = times

    def take(self) -> Scenario | None:
        """The scenario for the next request, counting it against `times`."""
        with self._lock:
            scenario = self._active
            if scenario is not None and self._remaining is not None:
                self._remaining -= 1
                if self._remaining <= 0:
                    self._active = self._remaining = None
            return scenario

    def clear(self) -> None:
        with self._lock:
            self._active = self._remaining = None

    def describe(self) -> str:
        """'none', or the scenario with its parameters and how many requests it has left."""
        with self._lock:
            scenario, remaining = self._active, self._remaining
        if scenario is None:
            return "none"
        given = " ".join(f"{k}={v}" for k, v in scenario.params.items() if v is not None)
        left = ("every request" if remaining is None else "the next request" if remaining == 1
                else f"the next {remaining} requests")
        return f"{scenario.name}{' ' + given if given else ''} ({left})"


def error_reply(scenario: Scenario | None, stream: bool) -> ErrorReply | None:
    """The error response a scenario sends instead of an answer, if any."""
    if scenario is None:
        return None
    name = scenario.name
    if name == "error_chunk" and not stream:  # without a stream the upstream error is a 502
        return ErrorReply(502, {"error": {"code": 502, "message": UPSTREAM_ERROR}})
    if name in ("401", "403", "402", "500", "529"):
        return ErrorReply(int(name), {"error": dict(ERRORS[int(name)])})
    if name == "insufficient_quota":
        return ErrorReply(429, {"error": dict(QUOTA_ERROR)})
    if name == "429":
        headers = {}
        if scenario["retry_after"] is not None:
            headers["retry-after"] = _number(scenario["retry_after"])
        if scenario["retry_after_ms"] is not None:
            headers["retry-after-ms"] = _number(scenario["retry_after_ms"])
        return ErrorReply(429, {"error": dict(ERRORS[429])}, headers)
    if name in ("fail_then_ok", "error"):
        status = int(scenario["status"])
        error = ERRORS.get(status, {"message": f"Simulated HTTP {status}", "type": "api_error",
                                    "param": None, "code": None})
        return ErrorReply(status, {"error": dict(error)})
    if name == "402_hold":
        return _hold(scenario)
    return None


def _hold(scenario: Scenario) -> ErrorReply:
    limit = float(scenario["limit_usd"])
    reason = scenario["reason"]
    if reason == "weight_exceeds_budget":
        message = (f"This request's up-front estimate exceeds the per-request budget of "
                   f"${limit:.2f}: lower max_tokens or shorten the prompt.")
        headers = {}
    else:
        message = (f"The in-flight budget of ${limit:.2f} is held by running requests: retry "
                   f"after {_number(scenario['retry_after'])} s.")
        headers = {"Retry-After": _number(scenario["retry_after"])}
    body = {"error": {"code": 402, "message": message,
                      "metadata": {"reason": reason, "limit_usd": limit}}}
    return ErrorReply(402, body, headers)


def _number(value: float) -> str:
    return f"{float(value):g}"


def cut_connection(handler: Any, mode: str) -> None:
    """End a response's connection: a clean close, or a TCP reset."""
    handler.wfile.flush()
    handler.close_connection = True
    if mode == "reset":
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.rfile.close()  # the socket only really closes once its file objects are gone
        handler.connection.close()
