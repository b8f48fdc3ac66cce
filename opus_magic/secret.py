"""Secrets that never show themselves: API keys (masked) and database URLs (without password)."""
from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit


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


SERVER_SCHEMES = ("postgresql://", "postgres://")
PERCENT_ENCODING = ("a password holding @ : / ? # % or spaces must be percent-encoded in the "
                    "URL (@ is %40, : %3A, / %2F, ? %3F, # %23, % %25, a space %20)")


def is_server_url(location: str) -> bool:
    """Whether `location` names a PostgreSQL server (else it is a file path)."""
    return location.startswith(SERVER_SCHEMES)


def server_url(value: str) -> SecretUrl:
    """A `postgresql://` URL as a SecretUrl; anything else (`mysql://…`, free text) is refused."""
    if isinstance(value, SecretUrl):
        return value
    if not is_server_url(value):
        raise ValueError("not a PostgreSQL URL")
    return SecretUrl(value)


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

        return core_schema.no_info_after_validator_function(server_url, core_schema.str_schema())

    def password(self) -> str | None:
        """The password the URL holds, as written (None without one)."""
        return password_of(self.reveal())

    def hide(self, text: str) -> str:
        """`text` (e.g. a driver's message) with the URL and its password, as written or
        decoded, replaced by what may be shown."""
        text = text.replace(self.reveal(), str(self))
        secret = self.password()
        for form in {secret, unquote(secret or "")} - {None, ""}:
            text = text.replace(str(form), "***")
        return text


def _split_login(url: str) -> tuple[str, str, str] | None:
    """(scheme://, user[:password], rest) of a URL with a login. The login ends at the last @
    before the path, or at the last @ at all: a password written without percent-encoding may
    hold /, ?, # or @, and must not be shown whole or in part either way."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return None
    login, _, host = rest.rpartition("@")
    return scheme + sep, login, host


def password_of(url: str) -> str | None:
    """The password in a URL's login or in its `password=` query, as written."""
    from urllib.parse import parse_qsl

    split = _split_login(url)
    if split is not None and ":" in split[1]:
        return split[1].split(":", 1)[1]
    found = [v for k, v in parse_qsl(urlsplit(url.split("#")[0]).query) if k == "password"]
    return found[0] if found else None


def without_password(url: str) -> str:
    """`postgresql://ann@db:5432/h`: the URL with any password (in the address or a query) cut."""
    from urllib.parse import parse_qsl, urlencode, urlunsplit

    split = _split_login(url)
    if split is not None:
        scheme, login, host = split
        url = f"{scheme}{login.split(':', 1)[0]}@{host}"
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("?", 1)[0]
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "password"])
    return urlunsplit(parts._replace(query=query))


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
