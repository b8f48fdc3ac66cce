"""Settings: package defaults < TOML file < environment < session overrides < cell flags.

Each setting is declared once, as a field of `Settings` made with `setting(...)`: its type (with
its limits), default, help, the hint a refusal gives and its environment variables. Coercion (by
pydantic), the `%config OpusMagics.*` traits, the `%opus config` listing, the environment mapping
and the help text are all derived from those fields. Adding a setting is adding one field.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from annotated_types import Ge, Gt, Le, Predicate

from opus_magic import setting_values
from opus_magic.config_file import FILE_TABLES, closest, read_config_file
from opus_magic.errors import ConfigError
from opus_magic.secret import Secret, SecretUrl, as_secret, mask, without_password, wrong_kind

SIMULATOR = "sim"
DEFAULT_MODEL = "claude-opus-5-5"
DEFAULT_MAX_TOKENS = 1024
VIEWS = ("auto", "widget", "text")
APIS = ("auto", "openai", "anthropic")
CACHE_MODES = ("auto", "5m", "1h", "off")
OFF_WORDS = ("off", "none")


def is_base_url(value: str) -> bool:
    """`sim`, or an http(s) URL with a host that parses."""
    if value == SIMULATOR:
        return True
    try:
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != -1
    except ValueError:
        return False


def is_path(value: str) -> bool:
    return "\0" not in value


BaseUrl = Annotated[str, Predicate(is_base_url)]
Count = Annotated[int, Ge(0), Le(1000)]
Positive = Annotated[int, Gt(0), Le(10_000_000)]
Seconds = Annotated[float, Gt(0), Le(86_400)]
Dollars = Annotated[Decimal, Ge(0), Le(1_000_000)]
FilePath = Annotated[str, Predicate(is_path)]
SECONDS = "use seconds above 0 (at most a day)"


def setting(default: Any, description: str, hint: str = "check the value",
            env: tuple[str, ...] = ()) -> Any:
    """Declare one setting: its default, its help, what a refusal says to do, its variables."""
    return field(default=default, metadata={"help": description, "hint": hint, "env": env})


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

    base_url: BaseUrl | None = setting(
        None, "OpenAI-compatible base URL, or 'sim'.", "use http(s)://host[:port]/path, or sim",
        env=("OPUS_MAGIC_BASE_URL", "OPENAI_BASE_URL"))
    api_key: Secret | None = setting(None, "API key (never shown).",
                                     env=("OPUS_MAGIC_API_KEY", "OPENAI_API_KEY"))
    api_key_env: str | None = setting(None, "Environment variable to read the API key from.",
                                      "use a variable name, e.g. api_key_env=ANTHROPIC_API_KEY")
    admin_key: Secret | None = setting(None, "Admin key for reconcile's usage and cost reports "
                                       "(never shown).", env=("OPUS_MAGIC_ADMIN_KEY",))
    admin_key_env: str | None = setting(None, "Environment variable to read the admin key from.",
                                        "use a variable name, e.g. admin_key_env=ADMIN_KEY")
    model: str = setting(DEFAULT_MODEL, "Default model id or alias.", "use a model id or alias",
                         env=("OPUS_MAGIC_MODEL",))
    max_tokens: Positive = setting(DEFAULT_MAX_TOKENS, "Default max_tokens.",
                                   "use a whole number above 0, e.g. max_tokens=512")
    temperature: float | None = setting(None, "Default temperature.", "use a number from 0 to 2")
    system: str | None = setting(None, "Default system prompt.")
    concise: Literal["off", "concise", "code"] = setting("off", "off, concise or code.",
                                                         "use off, concise or code")
    stream: bool = setting(True, "Stream answers.", "use on or off (true/false, yes/no, 1/0)")
    view: Literal["auto", "widget", "text"] = setting(
        "auto", "auto (widgets in Jupyter, text elsewhere), widget or text.",
        "use auto (widgets in Jupyter, text elsewhere), widget or text")
    timeout_s: Seconds = setting(60.0, "Request timeout in seconds.", SECONDS)
    max_retries: Count = setting(4, "Retries on 429/5xx/timeouts.", "use a whole number, 0 or more")
    retry_cap_s: Seconds = setting(120.0, "Longest retry-after wait honoured.", SECONDS)
    breaker_threshold: Positive = setting(5, "Failed requests in a row that open the breaker.",
                                          "use a whole number above 0")
    breaker_cooldown_s: Seconds = setting(30.0, "Seconds the breaker stays open.", SECONDS)
    budget: Dollars | None = setting(None, "Session spend cap in USD, or off.",
                                     "use dollars up to 1,000,000, e.g. budget=2.50, or budget=off")
    concurrency: Positive = setting(4, "Grids: requests in flight per endpoint, at most.",
                                    "use a whole number above 0, e.g. concurrency=4")
    check_timeout_s: Seconds = setting(10.0, "Grids: longest a --check may take on one answer.",
                                       SECONDS)
    history_path: FilePath | None = setting(None, "SQLite history file.", "use a file path",
                                            env=("OPUS_MAGIC_HISTORY",))
    history_url: SecretUrl | None = setting(
        None, "postgresql://user@host/db: one shared history on PostgreSQL (else SQLite).",
        "use postgresql://user@host:5432/dbname (a SQLite file goes in history_path)",
        env=("OPUS_MAGIC_HISTORY_URL",))
    user: str | None = setting(None, "Who runs are recorded as (default: the OS login).")
    project: str | None = setting(None, "The project runs are recorded under (default: the "
                                  "current folder's name).")
    profile: str | None = setting(None, "Default endpoint profile.", "use a profile name")
    litellm_prices: FilePath | None = setting(None, "litellm price map (JSON file).",
                                              "use a file path")
    api: Literal["auto", "openai", "anthropic"] = setting(
        "auto", "auto (Claude's native API for Anthropic keys and hosts, and for Claude "
        "models on the simulator), openai or anthropic.",
        "use auto, openai or anthropic")
    cache: Literal["auto", "5m", "1h", "off"] = setting(
        "auto", "Prompt caching on Claude's native API: auto, 5m, 1h or off.",
        "use auto, 5m, 1h or off")
    profiles: Mapping[str, Profile] = field(default_factory=dict)
    routes: Mapping[str, str] = field(default_factory=dict)
    models: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)
    config_file: str | None = None
    config_problem: str | None = None

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **coerce(changes))


SETTINGS = tuple(f for f in dataclasses.fields(Settings) if "help" in f.metadata)
KEYS = ("api_key", "admin_key")  # never shown; each also read from the variable `<name>_env`
SCALAR_KEYS = tuple(f.name for f in SETTINGS)
ENV_VARS = {f.name: f.metadata["env"] for f in SETTINGS if f.metadata["env"]}


@functools.cache
def setting_types() -> dict[str, Any]:
    """Each setting's declared type, limits included."""
    hints = typing.get_type_hints(Settings, include_extras=True)
    return {name: hints[name] for name in SCALAR_KEYS}


def nullable(name: str) -> bool:
    return type(None) in typing.get_args(setting_types()[name])


def base_type(name: str) -> type:
    """A setting's plain Python type: int for `Annotated[int, Gt(0)] | None`, str for a Literal."""
    kind = setting_types()[name]
    if type(None) in typing.get_args(kind):
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    if typing.get_origin(kind) is Annotated:
        kind = typing.get_args(kind)[0]
    return str if typing.get_origin(kind) is Literal else kind


def settings_help() -> str:
    """One line per setting, for `%opus help`."""
    return "\n".join(f"  {f.name:<20} {f.metadata['help']} (default: {_shown(f.name, f.default)}"
                     + "".join(f"; ${name}" for name in f.metadata["env"]) + ")"
                     for f in SETTINGS)


def _shown(name: str, value: Any) -> str:
    if name in KEYS:
        return mask(value)
    if name == "history_url" and value is not None:
        return without_password(str.__str__(value))
    return "(not set)" if value is None else str(value)


def listing(settings: Settings) -> list[tuple[str, str]]:
    """Every setting and its value as shown (the key masked)."""
    return [(name, _shown(name, getattr(settings, name))) for name in SCALAR_KEYS]


@functools.cache
def _adapter(name: str) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(setting_types()[name])


def coerce(values: Mapping[str, Any]) -> dict[str, Any]:
    """Check and convert user-supplied values; raise ConfigError with what to do."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in SCALAR_KEYS:
            raise ConfigError(f"Unknown setting '{key}'{closest(key, SCALAR_KEYS)}. "
                              f"Known settings: {', '.join(SCALAR_KEYS)}.")
        out[key] = coerce_one(key, value)
    return out


def coerce_one(key: str, value: Any) -> Any:
    """One setting's value checked against its declaration; '' or off clears a nullable one."""
    if isinstance(value, str):
        value = value.strip()
        if nullable(key) and (value == "" or (key == "budget" and value.lower() in OFF_WORDS)):
            return None
    hint = next(f.metadata["hint"] for f in SETTINGS if f.name == key)
    if value is None or value == "":
        if nullable(key):
            return None
        raise ConfigError(f"Setting '{key}' needs a value: {hint}. Nothing was changed.")
    if key in KEYS and isinstance(value, str) and wrong_kind(key, value):
        raise ConfigError(f"{wrong_kind(key, value)} Nothing was changed.")
    checked = setting_values.checked(setting_types()[key], value, lambda: _adapter(key))
    if checked is setting_values.REFUSED:
        raise ConfigError(f"Setting '{key}' cannot be {_quoted(value)}: {hint}. "
                          f"Nothing was changed.")
    return checked


def _quoted(value: Any) -> str:
    """A refused value as a refusal shows it: short, and without a password it may hold."""
    text = repr(value) if not isinstance(value, str) else f"'{without_password(value)}'"
    return text if len(text) <= 60 else text[:57] + "…"


def config_path() -> Path:
    """`$OPUS_MAGIC_CONFIG`, else `~/.config/opus_magic/config.toml`."""
    explicit = os.environ.get("OPUS_MAGIC_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "opus_magic" / "config.toml"


def from_file(path: Path) -> dict[str, Any]:
    """Settings found in the config file, checked once against its whole schema."""
    data = read_config_file(path, {f.name: (setting_types()[f.name], f.metadata["hint"])
                                   for f in SETTINGS})
    values = coerce({k: v for k, v in data.items() if k not in FILE_TABLES})
    values["profiles"] = {name: Profile(name, entry["base_url"], entry.get("api_key_env"),
                                        dict(entry.get("aliases", {})), entry.get("api", "auto"))
                          for name, entry in data.get("profiles", {}).items()}
    for table in ("routes", "models", "aliases"):
        values[table] = dict(data.get(table, {}))
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
                  environ: Mapping[str, str] | None = None, lenient: bool = False) -> Settings:
    """Resolve every layer into one frozen Settings.

    `lenient`: a broken config file is skipped and described in `config_problem` instead of
    raised, so `%opus config` can still show where things stand.
    """
    environ = os.environ if environ is None else environ
    path = config_path()
    try:
        file_values = from_file(path)
    except ConfigError as exc:
        if not lenient:
            raise
        file_values = {"config_file": str(path), "config_problem": str(exc)}
    settings = Settings(**file_values).replace(**from_env(environ))
    settings = settings.replace(**(overrides or {}))
    for name in KEYS:
        variable = getattr(settings, f"{name}_env")
        if variable:
            key = environ.get(variable)
            if not key:
                raise ConfigError(f"{name}_env names {variable}, which is not set in the "
                                  f"environment: set it, or change {name}_env.")
            if wrong_kind(name, key):
                raise ConfigError(f"{wrong_kind(name, key)} (read from ${variable})")
            settings = dataclasses.replace(settings, **{name: as_secret(key)})
    return settings
