"""The TOML config file: read, then checked once against its whole schema (pydantic), so every
problem is named in one message with its key path and what was expected, before any run."""
from __future__ import annotations

import datetime as dt
import difflib
import functools
import json
import re
import sys
import typing
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from annotated_types import Ge, Gt

from opus_magic.errors import ConfigError
from opus_magic.secret import without_password

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FILE_TABLES = ("profiles", "routes", "models", "aliases")
Price = Annotated[Decimal, Ge(0)]
Tokens = Annotated[int, Gt(0)]
BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PRICE = "a number of dollars per million tokens, 0 or more"
TOKENS = "a whole number of tokens above 0"
EXPECTED = {  # what each key of the file's tables takes, said the way a refusal says it
    "input": PRICE, "output": PRICE, "cache_read": PRICE, "cache_write": PRICE,
    "cache_write_1h": PRICE, "context_window": TOKENS, "max_output": TOKENS,
    "min_cache_prefix": TOKENS, "threshold": TOKENS,
    "source": "text saying where the figures come from",
    "as_of": "a date, e.g. \"2026-11\"",
    "retired": "true or false", "legacy": "true or false",
    "successor": "a model id", "provider": "a provider name, e.g. \"anthropic\"",
    "modifiers": "a table of price multipliers, e.g. { batch = 0.5 }",
    "accepts": "a table: sampling, thinking, effort",
    "api": "auto, openai or anthropic",
    "base_url": "an http(s) URL, e.g. \"http://127.0.0.1:11434/v1\"",
    "api_key_env": "the name of an environment variable, e.g. \"ANTHROPIC_API_KEY\"",
    "aliases": "a table of name = model id",
    "routes": "a table of model = profile name",
    "profiles": "a table of profiles, e.g. [profiles.local] with a base_url",
    "models": "a table of models, e.g. [models.\"llama3.1:8b\"] with input and output prices",
}


def read_config_file(path: Path, scalars: Mapping[str, tuple[Any, str]]) -> dict[str, Any]:
    """The file's contents once they match the schema ({} when there is no file).

    `scalars`: each top-level setting's type and the hint a refusal gives.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Config file {path} cannot be read ({exc}); fix or move it.") from None
    return _checked(text, str(path), tuple(scalars.items()))


@functools.lru_cache(maxsize=8)
def _checked(text: str, path: str, scalars: tuple[tuple[str, tuple[Any, str]], ...]
             ) -> dict[str, Any]:
    from pydantic import ValidationError

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Config file {path} is not valid TOML ({exc}); fix or move it.") from None
    model = file_model(tuple((name, kind) for name, (kind, _) in scalars))
    try:
        model.model_validate(data)
    except ValidationError as exc:
        hints = {name: hint for name, (_, hint) in scalars}
        problems = [problem(error, model, hints) for error in exc.errors()]
        raise ConfigError(f"{path}: {'; '.join(problems)}. Fix the file or move it aside "
                          f"(nothing from it is used until then).") from None
    return data


@functools.cache
def file_model(scalars: tuple[tuple[str, Any], ...]) -> Any:
    """The schema of the whole file: the settings at the top, then its tables."""
    # Long only because it declares the schema's nested models, which pydantic builds here.
    from pydantic import BaseModel, ConfigDict, create_model

    closed = ConfigDict(extra="forbid")

    class Prices(BaseModel):
        model_config = closed
        input: Price | None = None
        output: Price | None = None
        cache_read: Price | None = None
        cache_write: Price | None = None
        cache_write_1h: Price | None = None

    class LongContext(Prices):
        threshold: Tokens

    class Accepts(BaseModel):
        model_config = closed
        sampling: Literal["default-only", "any"] | None = None
        thinking: Literal["none", "budget", "adaptive", "adaptive-only"] | None = None
        effort: list[Literal["low", "medium", "high", "max"]] | None = None

    class ModelEntry(Prices):
        context_window: Tokens | None = None
        max_output: Tokens | None = None
        min_cache_prefix: Tokens | None = None
        long_context: LongContext | None = None
        source: str = ""
        as_of: str | dt.date = ""
        retired: bool = False
        legacy: bool = False
        successor: str | None = None
        provider: str | None = None
        modifiers: dict[str, Price] = {}
        accepts: Accepts | None = None

    profile_entry = create_model("ProfileEntry", __config__=closed,
                                 base_url=(dict(scalars)["base_url"], ...),
                                 api_key_env=(str | None, None), aliases=(dict[str, str], {}),
                                 api=(Literal["auto", "openai", "anthropic"], "auto"))
    fields: dict[str, Any] = {name: (kind | None, None) for name, kind in scalars}
    tables: dict[str, Any] = {"profiles": (dict[str, profile_entry], {}),  # type: ignore[valid-type]
                              "routes": (dict[str, str], {}),
                              "models": (dict[str, ModelEntry], {}),
                              "aliases": (dict[str, str], {})}
    return create_model("ConfigFile", __config__=closed, **tables, **fields)


def problem(error: Mapping[str, Any], model: Any, hints: Mapping[str, Any]) -> str:
    """One problem: `models."x".input: expected ..., got "$5"`."""
    loc = tuple(error["loc"])
    where = ".".join(str(part) if BARE_KEY.fullmatch(str(part)) else json.dumps(str(part))
                     for part in loc)
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key{closest(str(loc[-1]), _known(model, loc[:-1]))}"
    if error["type"] == "missing":
        return f"{where}: missing ({EXPECTED.get(str(loc[-1]), 'required')})"
    got = _shown(error.get("input"))
    expected = next((EXPECTED[str(part)] for part in reversed(loc) if str(part) in EXPECTED), None)
    if expected is None and len(loc) == 1 and str(loc[0]) in hints:
        return f"{where}: {hints[str(loc[0])]}, got {got}"
    return f"{where}: expected {expected or error['msg'].lower()}, got {got}"


def _shown(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, str):
        value = without_password(value)  # a URL refused is shown without its password
    try:
        return json.dumps(value, default=str)[:60]
    except ValueError:
        return repr(value)[:60]


def _known(model: Any, path: tuple[Any, ...]) -> list[str]:
    """The keys allowed at `path` in the schema."""
    from pydantic import BaseModel

    current: Any = model
    for part in path:
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            current = _unwrap_optional(info.annotation) if info else None
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap_optional(kind: Any) -> Any:
    """`X | None` -> X."""
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    return args[0] if len(args) == 1 and type(None) in typing.get_args(kind) else kind


def closest(name: str, known: Any) -> str:
    """` (did you mean 'max_tokens'?)` when a known name is close, else nothing."""
    match = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""
