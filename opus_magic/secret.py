"""Secrets that never show themselves: API keys (masked) and database URLs (without password)."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


class Secret(str):
    """A string that never shows itself in a repr, a format or a log line."""

    def __repr__(self) -> str:
        return "Secret('" + mask(self) + "')"

    def reveal(self) -> str:
        return str.__str__(self)

    def __str__(self) -> str:
        return mask(self)

    def __format__(self, spec: str) -> str:
        return mask(self)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(as_secret, core_schema.str_schema())


class SecretUrl(Secret):
    """A database URL that shows itself without its password (kept only in memory)."""

    def __repr__(self) -> str:
        return "SecretUrl('" + without_password(self.reveal()) + "')"

    def __str__(self) -> str:
        return without_password(self.reveal())

    def __format__(self, spec: str) -> str:
        return format(without_password(self.reveal()), spec)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(
            lambda value: value if isinstance(value, SecretUrl) else SecretUrl(value),
            core_schema.str_schema())


def without_password(url: str) -> str:
    """`postgresql://ann@db:5432/h`: the URL with any password (in the address or a query) cut."""
    from urllib.parse import parse_qsl, urlencode, urlunsplit

    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        login, host = netloc.rsplit("@", 1)
        netloc = login.split(":", 1)[0] + "@" + host
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "password"])
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def as_secret(value: str) -> Secret:
    """Wrap a key once; wrapping a Secret again must not turn it into its mask."""
    return value if isinstance(value, Secret) else Secret(value)


def mask(key: str | None) -> str:
    """`sk-…wxyz`: enough to tell keys apart, never enough to use one."""
    if not key:
        return "(not set)"
    raw = str.__str__(key)
    prefix = raw.split("-", 1)[0] + "-" if "-" in raw[:8] else ""
    return f"{prefix}…{raw[-4:]}" if len(raw) > 12 else "…"
