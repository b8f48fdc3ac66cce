"""HTTP failures turned into one-line explanations that say what to do next."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import RequestError

if TYPE_CHECKING:
    from .client import Endpoint

RETRYABLE_STATUSES = {408, 409, 429, 500, 502, 503, 504, 529}


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """`retry-after-ms`, then `retry-after` in seconds; None when absent or unreadable."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            return float(lowered[name]) / scale
        except (KeyError, ValueError):
            continue
    return None


def explain_status(status: int, error: Mapping[str, Any], headers: Mapping[str, str],
                   endpoint: Endpoint) -> RequestError:
    """The RequestError for an HTTP error response."""
    code = str(error.get("code") or error.get("type") or "") or None
    server_says = str(error.get("message") or "").strip()
    where = endpoint.base_url
    if status == 401:
        hint = (f"No API key is configured for {where}: set OPUS_MAGIC_API_KEY or %opus config api_key=..."
                if endpoint.api_key is None else
                f"The key was refused by {where}: check it is the right key for this endpoint "
                f"and that it is active.")
    elif status == 403:
        hint = f"The key has no permission for this model or endpoint ({where}): check its access."
    elif status == 402:
        hint = "The account's balance or spending hold cannot cover this request: add credit or lower max_tokens."
    elif status == 429 and code == "insufficient_quota":
        hint = "The account's quota is used up; retrying cannot help: add credit or raise the quota."
    elif status == 429:
        hint = "Rate limited: wait a moment and run again."
    elif status == 404:
        hint = "Not found: check the model name and base_url."
    elif status >= 500:
        hint = f"The endpoint failed ({status}); it is usually temporary: run again shortly."
    else:
        hint = "The endpoint refused the request."
    detail = f" Server said: {server_says}" if server_says else ""
    retryable = status in RETRYABLE_STATUSES and code != "insufficient_quota"
    return RequestError(f"HTTP {status}: {hint}{detail}", status=status, code=code,
                        retryable=retryable, retry_after_s=retry_after_s(headers))
