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


# Admin keys read an organization's usage and cost reports and cannot run models (Anthropic's
# Admin API and OpenAI's organization endpoints, checked 2026-12); ordinary keys are the reverse.
ADMIN_PREFIXES = {"sk-ant-admin": "Anthropic", "sk-admin-": "OpenAI"}
ADMIN_KEYS = "Anthropic admin keys start sk-ant-admin01-, OpenAI's sk-admin-"


def admin_provider(key: str) -> str | None:
    """Whose admin key this is (`Anthropic`, `OpenAI`), or None for any other key."""
    raw = str.__str__(key)
    return next((name for prefix, name in ADMIN_PREFIXES.items() if raw.startswith(prefix)), None)


def wrong_kind(setting: str, key: str) -> str | None:
    """Why `key` does not belong in `setting` (api_key or admin_key), in one line; else None."""
    provider, shown = admin_provider(key), mask(key)
    if setting == "api_key" and provider:
        return (f"api_key {shown} is an {provider} admin key: it reads the organization's usage "
                f"and cost reports and cannot run models. Set it as admin_key (or "
                f"admin_key_env=VARIABLE) and give api_key an ordinary API key.")
    if setting == "admin_key" and not provider and str.__str__(key).startswith("sk-"):
        return (f"admin_key {shown} is an ordinary API key, which cannot read the organization's "
                f"reports ({ADMIN_KEYS}): create an admin key in the provider's console and set "
                f"it with admin_key_env=VARIABLE.")
    return None
