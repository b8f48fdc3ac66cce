"""What the Messages API asks of every request's headers before it reads the body.

Anthropic answers a request without a key (neither `x-api-key` nor `Authorization: Bearer`)
with 401 `authentication_error`, and one without an `anthropic-version` header (or with one that
is not a date) with 400 `invalid_request_error`; the same holds for count_tokens, the message
batches and the files routes. The simulator asks the same, so a misspelled header fails here as
it would there. Files requests without any Anthropic header are OpenAI's (batch uploads) and
pass.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

ANTHROPIC_ROUTES = ("/v1/messages",)
FILES = "/v1/files"
ANTHROPIC_HEADERS = ("x-api-key", "anthropic-version", "anthropic-beta")
VERSION = re.compile(r"\d{4}-\d{2}-\d{2}")


def is_anthropic(path: str, headers: Mapping[str, str]) -> bool:
    """Whether `path` is served by the Messages API's rules (files only when sent as Anthropic's)."""
    if path.startswith(ANTHROPIC_ROUTES):
        return True
    return path.startswith(FILES) and any(headers.get(name) for name in ANTHROPIC_HEADERS)


def refusal(headers: Mapping[str, str]) -> tuple[int, str] | None:
    """(status, message) when the headers alone make Anthropic refuse the request, else None."""
    bearer = (headers.get("authorization") or "").lower().startswith("bearer ")
    if not headers.get("x-api-key") and not bearer:
        return 401, "x-api-key header is required"
    version = headers.get("anthropic-version")
    if not version:
        return 400, "anthropic-version: header is required"
    if not VERSION.fullmatch(version.strip()):
        return 400, f"anthropic-version: invalid version {version!r}; expected a date, e.g. 2023-06-01"
    return None
