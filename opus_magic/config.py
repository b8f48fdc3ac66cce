"""Settings: package defaults < TOML file < environment < session overrides < cell flags."""
from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from opus_magic.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SIMULATOR = "sim"
DEFAULT_MODEL = "claude-opus-4-6"
DEFAULT_MAX_TOKENS = 1024
VIEWS = ("auto", "widget", "text")
APIS = ("auto", "openai", "anthropic")
CACHE_MODES = ("auto", "5m", "1h", "off")
ENV_VARS = {
    "base_url": ("OPUS_MAGIC_BASE_URL", "OPENAI_BASE_URL"),
    "api_key": ("OPUS_MAGIC_API_KEY", "OPENAI_API_KEY"),
    "model": ("OPUS_MAGIC_MODEL",),
    "history_path": ("OPUS_MAGIC_HISTORY",),
    "history_url": ("OPUS_MAGIC_HISTORY_URL",),
}


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


class SecretUrl(Secret):
    """A database URL that shows itself without its password (kept only in memory)."""

    def __repr__(self) -> str:
        return "SecretUrl('" + without_password(self.reveal()) + "')"

    def __str__(self) -> str:
        return without_password(self.reveal())

    def __format__(self, spec: str) -> str:
        return format(without_password(self.reveal()), spec)


def without_password(url: str) -> str:
    """`postgresql://ann@db:5432/h`: the URL with any password (in the address or a query) cut."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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


@dataclass(frozen=True)
class Profile:
    """A named endpoint: base URL, the environment variable holding its key, model aliases."""

    name: str
    base_url: str
    api_key_env: str | None = None
    aliases: Mapping[str, str] = field(default_factory=dict)
    api: str = "auto"  # auto, openai or anthropic (Anthropic's native Messages API)


@dataclass(frozen=True)
class Settings:
    """A frozen snapshot of every setting a run needs."""

    base_url: str | None = None
    api_key: Secret | None = None
    model: str = DEFAULT_MODEL
    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float | None = None
    system: str | None = None
    concise: str = "off"
    stream: bool = True
    view: str = "auto"
    timeout_s: float = 60.0
    max_retries: int = 4
    retry_cap_s: float = 120.0
    breaker_threshold: int = 5
    breaker_cooldown_s: float = 30.0
    budget: Decimal | None = None
    concurrency: int = 4  # grids: at most this many requests in flight per endpoint
    history_path: str | None = None
    history_url: SecretUrl | None = None  # postgresql://user@host/db shares one history; else SQLite
    user: str | None = None  # who runs are recorded as (default: the OS login)
    project: str | None = None  # the project runs are recorded under (default: current folder)
    profile: str | None = None
    profiles: Mapping[str, Profile] = field(default_factory=dict)
    routes: Mapping[str, str] = field(default_factory=dict)
    models: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)
    litellm_prices: str | None = None
    config_file: str | None = None
    api: str = "auto"  # auto (native for Anthropic keys and hosts), openai or anthropic
    cache: str = "auto"  # prompt caching on the native API: auto, 5m, 1h or off

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **coerce(changes))


SCALAR_KEYS = ("base_url", "api_key", "model", "max_tokens", "temperature", "system", "concise",
               "stream", "view", "timeout_s", "max_retries", "retry_cap_s", "breaker_threshold",
               "breaker_cooldown_s", "budget", "history_path", "profile", "litellm_prices", "api",
               "cache", "history_url", "user", "project")


def coerce(values: Mapping[str, Any]) -> dict[str, Any]:
    """Check and convert user-supplied values; raise ConfigError with what to do."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in {f.name for f in dataclasses.fields(Settings)}:
            known = ", ".join(SCALAR_KEYS)
            raise ConfigError(f"Unknown setting '{key}'. Known settings: {known}.")
        out[key] = _coerce_one(key, value)
    return out


def _coerce_one(key: str, value: Any) -> Any:
    if value is None or value == "":
        return None if key not in ("model", "max_tokens", "concise", "stream", "view", "api",
                                   "cache") else _default(key)
    try:
        if key == "api_key":
            return as_secret(value)
        if key == "history_url":
            return value if isinstance(value, SecretUrl) else SecretUrl(value)
        if key in ("max_tokens", "max_retries", "breaker_threshold"):
            number = int(value)
            if number < (0 if key == "max_retries" else 1):
                raise ValueError
            return number
        if key in ("timeout_s", "retry_cap_s", "breaker_cooldown_s"):
            seconds = float(value)
            if not seconds > 0:
                raise ValueError
            return seconds
        if key == "temperature":
            return float(value)
        if key == "budget":
            if str(value).lower() in ("off", "none"):
                return None
            if not Decimal(str(value)) >= 0:
                raise ValueError
            return Decimal(str(value))
        if key == "stream":
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
        if key == "concise" and value not in ("off", "concise", "code"):
            raise ValueError
        if key == "view" and value not in VIEWS:
            raise ValueError
        if value not in {"api": APIS, "cache": CACHE_MODES}.get(key, (value,)):
            raise ValueError
    except (ValueError, InvalidOperation):
        raise ConfigError(f"Setting '{key}' cannot be {value!r}: {_hint(key)}") from None
    return value


def _hint(key: str) -> str:
    return {"max_tokens": "use a whole number above 0, e.g. max_tokens=512",
            "max_retries": "use a whole number, 0 or more",
            "breaker_threshold": "use a whole number above 0",
            "timeout_s": "use seconds above 0", "retry_cap_s": "use seconds above 0",
            "breaker_cooldown_s": "use seconds above 0",
            "concise": "use off, concise or code",
            "view": "use auto (widgets in Jupyter, text elsewhere), widget or text",
            "budget": "use dollars, e.g. budget=2.50, or budget=off",
            "api": "use auto, openai or anthropic",
            "cache": "use auto, 5m, 1h or off"}.get(key, "check the value")


def _default(key: str) -> Any:
    return next(f.default for f in dataclasses.fields(Settings) if f.name == key)


def config_path() -> Path:
    """`$OPUS_MAGIC_CONFIG`, else `~/.config/opus_magic/config.toml`."""
    explicit = os.environ.get("OPUS_MAGIC_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "opus_magic" / "config.toml"


def read_toml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Config file {path} is not valid TOML ({exc}); fix or move it.") from None


def _profiles(raw: Mapping[str, Any]) -> dict[str, Profile]:
    profiles = {}
    for name, data in raw.items():
        if not isinstance(data, Mapping) or "base_url" not in data:
            raise ConfigError(f"Profile '{name}' needs a base_url in the config file.")
        api = str(data.get("api", "auto"))
        if api not in APIS:
            raise ConfigError(f"Profile '{name}' has api = {api!r}: use auto, openai or anthropic.")
        profiles[name] = Profile(name, str(data["base_url"]), data.get("api_key_env"),
                                 dict(data.get("aliases", {})), api)
    return profiles


def from_toml(data: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """Settings found in a parsed config file."""
    values = {k: v for k, v in data.items() if k in SCALAR_KEYS}
    values = coerce(values)
    values["profiles"] = _profiles(data.get("profiles", {}))
    values["routes"] = dict(data.get("routes", {}))
    values["models"] = dict(data.get("models", {}))
    values["aliases"] = dict(data.get("aliases", {}))
    values["config_file"] = str(path)
    return values


def from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    found = {}
    for key, names in ENV_VARS.items():
        for name in names:
            if environ.get(name):
                found[key] = environ[name]
                break
    return coerce(found)


def load_settings(overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Resolve every layer into one frozen Settings."""
    path = config_path()
    settings = Settings(**from_toml(read_toml(path), path))
    settings = settings.replace(**from_env(os.environ if environ is None else environ))
    return settings.replace(**(overrides or {}))
