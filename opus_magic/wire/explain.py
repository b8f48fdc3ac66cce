"""HTTP failures turned into one-line explanations that say what to do next."""
from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from opus_magic.cost.catalog import ModelInfo
from opus_magic.cost.pricing import (
    format_usd,
    input_cost,
    output_tokens_for,
    usage_cost,
)
from opus_magic.errors import CutBeforeAnswer, RequestError, RequestTimedOut
from opus_magic.records import Usage
from opus_magic.secret import mask
from opus_magic.wire.endpoints import Endpoint, platform_of_key, platform_of_url
from opus_magic.wire.ratelimits import MAX_WAIT_S, ignored
from opus_magic.wire.ratelimits import parse as parse_rate_limits

RETRYABLE_STATUSES = {408, 409, 429, 500, 502, 503, 504, 529}
HOLD_IS_BUSY = "in_flight_budget_exhausted"


@dataclass(frozen=True)
class Hold:
    """What a request asks a provider to set aside: its input plus max_tokens of output."""

    model_id: str
    input_tokens: int
    max_tokens: int
    info: ModelInfo | None

    @property
    def cost(self) -> Decimal | None:
        return usage_cost(Usage(self.input_tokens, self.max_tokens), self.info)

    def describe(self) -> str:
        return (f"{format_usd(self.cost)} ({self.input_tokens:,} input + {self.max_tokens:,} "
                f"max_tokens at {self.model_id}'s prices)")

    def max_tokens_within(self, limit_usd: Decimal) -> int | None:
        """The largest max_tokens whose hold fits `limit_usd`; None when prices are unknown."""
        spent_in = input_cost(self.input_tokens, self.info)
        if spent_in is None:
            return None
        return output_tokens_for(limit_usd - spent_in, self.info, self.input_tokens)


def retry_after_s(headers: Mapping[str, str], now: Callable[[], float] = time.time,
                  notes: list[str] | None = None) -> float | None:
    """`retry-after-ms`, then `retry-after` (seconds or an HTTP date); None when absent or unreadable.

    A value that is not a finite, non-negative number (`nan`, `inf`, `1e309`, `-1`) is ignored and
    named in `notes`; waits are capped at a year.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = lowered.get(name)
        if value is None:
            continue
        wait = _wait_s(value, scale, now)
        if wait is not None:
            return wait
        if notes is not None:
            notes.append(ignored(name, value))
    return None


def _wait_s(value: str, scale: float, now: Callable[[], float]) -> float | None:
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        finite = math.isfinite(number) and number >= 0
        return min(number / scale, MAX_WAIT_S) if finite else None
    try:
        return min(max(parsedate_to_datetime(value).timestamp() - now(), 0.0), MAX_WAIT_S)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def said(value: Any) -> str:
    """A server's message of any JSON shape (text, a list, an object) as one line."""
    if isinstance(value, list):
        text = "; ".join(said(item) for item in value)
    elif isinstance(value, dict):
        inner = value.get("msg") or value.get("message")
        text = said(inner) if inner else json.dumps(value, default=str)
    else:
        text = "" if value is None else str(value)
    return " ".join(text.split())[:500]


def short_reason(error: RequestError) -> str:
    """A few words for a countdown line or a breaker message."""
    if isinstance(error, RequestTimedOut):
        return "timed out"
    if isinstance(error, CutBeforeAnswer):
        return "cut off before the answer began"
    if error.status is None:
        return "could not connect"
    what = {429: "rate limited", 529: "overloaded", 402: "in-flight budget held"}.get(
        error.status, "server error" if error.status >= 500 else "refused")
    return f"HTTP {error.status} {what}"


def explain_status(status: int, error: Mapping[str, Any], headers: Mapping[str, str],
                   endpoint: Endpoint, hold: Hold | None = None,
                   hints: Mapping[int, str] | None = None) -> RequestError:
    """The RequestError for an HTTP error response; `hints` replace the usual explanation of
    a status where the route gives it another meaning (a 404 for a file, not a model)."""
    code = str(error.get("code") or error.get("type") or "") or None
    metadata = error.get("metadata") if isinstance(error.get("metadata"), Mapping) else {}
    reason = str(metadata.get("reason") or "") or None
    notes: list[str] = []
    wait = retry_after_s(headers, notes=notes)
    if wait is None and status == 429:  # no retry-after: wait until a used-up limit refills
        limits = parse_rate_limits(headers)
        wait = None if limits is None else limits.exhausted_wait_s()
    server_says = said(error.get("message")) + "".join(f" ({note})" for note in notes)
    hint = (hints or {}).get(status) or status_hint(status, code, endpoint, hold_hint(
        reason, _decimal(metadata.get("limit_usd")), hold, wait) if status == 402 else "")
    detail = f" Server said: {server_says}" if server_says else ""
    retryable = ((status in RETRYABLE_STATUSES and code != "insufficient_quota")
                 or (status == 402 and reason == HOLD_IS_BUSY and wait is not None))
    return RequestError(f"HTTP {status}: {hint}{detail}", status=status, code=reason or code,
                        retryable=retryable, retry_after_s=wait)


def status_hint(status: int, code: str | None, endpoint: Endpoint, hold: str) -> str:
    """What an HTTP status means and what to do (`hold`: the 402 explanation, already made)."""
    where = endpoint.base_url
    if status == 401:
        return auth_hint(endpoint)
    if status == 402:
        return hold
    if status == 429 and code == "insufficient_quota":
        return "The account's quota is used up; retrying cannot help: add credit or raise the quota."
    fixed = {
        403: f"The key has no permission for this model or endpoint ({where}), or a budget set on "
             f"the key is spent: check its access and limits.",
        429: "Rate limited: wait a moment and run again, or lower the request rate.",
        404: f"Not found at {where}: check the model name and base_url.",
        413: "The request is too large for the endpoint (Anthropic takes up to 32 MB): shorten "
             "the prompt or what it includes.",
        409: "The endpoint reported a conflict; it is usually temporary: run again shortly.",
        529: "The provider is overloaded; it is usually temporary: run again shortly.",
    }
    if status in fixed:
        return fixed[status]
    if status >= 500:
        return f"The endpoint failed ({status}); it is usually temporary: run again shortly."
    return "The endpoint refused the request: check the model, flags and prompt."


def auth_hint(endpoint: Endpoint) -> str:
    """Why a key was refused: missing, meant for another platform, or not (yet) valid."""
    where = endpoint.base_url
    if endpoint.api_key is None:
        variable = ("the environment variable named by the profile's api_key_env"
                    if endpoint.name not in ("default", "sim") else "OPUS_MAGIC_API_KEY")
        return (f"No API key is set for {where}: set {variable}, "
                f"or run %opus config api_key=... (the key is never shown).")
    raw = endpoint.api_key.reveal()
    key_platform, host_platform = platform_of_key(raw), platform_of_url(where)
    shown = mask(raw)
    if host_platform and key_platform != host_platform:
        looks = (f"looks like an {key_platform.name} key ({key_platform.key_prefix}…)"
                 if key_platform else "does not look like one (a proxy's own key only works at that proxy)")
        host = urlsplit(where).hostname
        return (f"{host} takes {host_platform.name} keys ({host_platform.key_prefix}…), and the key "
                f"{shown} {looks}: set the {host_platform.name} key, or point base_url at the "
                f"platform the key belongs to.")
    if not host_platform and key_platform and key_platform.name != "OpenAI":
        return (f"{where} refused a raw {key_platform.name} key ({shown}): a proxy usually issues "
                f"its own keys; use the key (and key variable) the proxy gave you.")
    return (f"{where} refused the key {shown}: check it is the key for this endpoint and not "
            f"revoked; a key created minutes ago may not be active yet, so try again shortly.")


def hold_hint(reason: str | None, limit_usd: Decimal | None, hold: Hold | None,
              wait: float | None) -> str:
    """A 402: the balance or the pre-authorization hold cannot cover this request."""
    needed = f" This request needed a hold of {hold.describe()}." if hold else ""
    fits = ""
    if hold and limit_usd is not None:
        largest = hold.max_tokens_within(limit_usd)
        if largest == 0:
            fits = f" The prompt alone does not fit the {format_usd(limit_usd)} limit: shorten it."
        elif largest is not None and largest < hold.max_tokens:
            fits = (f" The largest max_tokens within the {format_usd(limit_usd)} limit is "
                    f"{largest:,}: run again with --max-tokens {largest}.")
        elif largest is not None:
            fits = (f" At catalog prices it fits the {format_usd(limit_usd)} limit, so the "
                    f"provider's estimate is higher: lower --max-tokens.")
    if reason == HOLD_IS_BUSY:
        later = f" after {wait:g} s" if wait is not None else " shortly"
        return (f"The in-flight budget is held by other running requests: run again{later}, "
                f"or wait for them to finish.{needed}")
    if reason == "weight_exceeds_budget":
        return (f"This one request is too big for the budget: lower --max-tokens or shorten the "
                f"prompt.{needed}{fits}")
    return (f"The balance cannot cover this request: add credit or lower --max-tokens.{needed}"
            f"{fits}")


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
