"""Where requests go: the Endpoint type, the one table of known platforms, and routing."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

from opus_magic.config import SIMULATOR, Settings
from opus_magic.errors import ConfigError
from opus_magic.secret import Secret, as_secret

SIMULATOR_NOTE = "No API key configured: answers come from the built-in simulator, not a real model."


class Platform(NamedTuple):
    """A provider known by its key prefix and host; `base_url` is where its key goes by default."""

    name: str
    key_prefix: str
    host_suffix: str
    base_url: str


# The most specific key prefix first ("sk-" alone is OpenAI's).
PLATFORMS = (
    Platform("Anthropic", "sk-ant-", "anthropic.com", "https://api.anthropic.com/v1/"),
    Platform("OpenRouter", "sk-or-", "openrouter.ai", "https://openrouter.ai/api/v1"),
    Platform("OpenAI", "sk-", "openai.com", "https://api.openai.com/v1"),
)
OPENAI = PLATFORMS[-1]
ANTHROPIC = PLATFORMS[0]
ANTHROPIC_HOST = "api.anthropic.com"


def platform_of_key(key: str) -> Platform | None:
    return next((p for p in PLATFORMS if key.startswith(p.key_prefix)), None)


def platform_of_url(url: str) -> Platform | None:
    host = (urlsplit(url).hostname or "").lower()
    return next((p for p in PLATFORMS if host.endswith(p.host_suffix)), None)


@dataclass(frozen=True)
class Endpoint:
    """Where requests go; `name` is the profile, `api_key` is never shown; `api` is the wire
    format spoken there: `openai` (chat completions) or `anthropic` (the native Messages API)."""

    base_url: str
    api_key: Secret | None
    name: str = "default"
    api: str = "openai"

    def __repr__(self) -> str:
        return f"Endpoint({self.base_url!r}, name={self.name!r})"


class Route(NamedTuple):
    """An endpoint for one model, the model name to send there, and notes for the user."""

    endpoint: Endpoint
    wire_model: str
    notes: tuple[str, ...] = ()


def route(settings: Settings, model_id: str, requested: str, simulator_url: str | None) -> Route:
    """The endpoint a model goes to: its route's profile, the session profile, the base URL, the
    key's platform, or the simulator (`simulator_url`) when nothing is configured."""
    profile_name = settings.routes.get(requested) or settings.routes.get(model_id) or settings.profile
    if profile_name:
        profile = settings.profiles.get(profile_name)
        if profile is None:
            known = ", ".join(sorted(settings.profiles)) or "none defined"
            raise ConfigError(f"Unknown profile '{profile_name}' (profiles: {known}); "
                              f"define it under [profiles.{profile_name}] in the config file.")
        key = os.environ.get(profile.api_key_env) if profile.api_key_env else settings.api_key
        wire = profile.aliases.get(requested) or profile.aliases.get(model_id) or model_id
        api = wire_api(profile.api, profile.base_url, key)
        return Route(Endpoint(profile.base_url, as_secret(key) if key else None, profile.name, api),
                     wire)
    base_url, key = settings.base_url, settings.api_key
    if base_url == SIMULATOR or (base_url is None and key is None):
        assert simulator_url is not None
        notes = () if base_url == SIMULATOR else (SIMULATOR_NOTE,)
        api = simulator_api(settings.api, model_id)
        return Route(Endpoint(simulator_url, key, SIMULATOR, api), model_id, notes)
    api = wire_api(settings.api, base_url, key.reveal() if key else None)
    if base_url is None:
        base_url = (platform_of_key(key.reveal() if key else "") or OPENAI).base_url
    return Route(Endpoint(base_url, key, api=api), model_id)


def wire_api(api: str, base_url: str | None, key: str | None) -> str:
    """`auto` speaks Anthropic's native API to an Anthropic key with no base URL, or to a base
    URL on api.anthropic.com; everything else speaks OpenAI chat completions."""
    if api != "auto":
        return api
    if base_url is None:
        return "anthropic" if (key or "").startswith(ANTHROPIC.key_prefix) else "openai"
    return "anthropic" if (urlsplit(base_url).hostname or "").lower() == ANTHROPIC_HOST else "openai"


def simulator_api(api: str, model_id: str) -> str:
    """The simulator speaks both APIs: `auto` sends Claude models to its Messages API, as an
    Anthropic key would, and every other model to chat completions."""
    if api != "auto":
        return api
    return "anthropic" if is_claude(model_id) else "openai"


def is_claude(model_id: str) -> bool:
    """A Claude model id, bare or behind a provider prefix (`anthropic/claude-…`)."""
    return model_id.rsplit("/", 1)[-1].startswith("claude")


def needs_simulator(settings: Settings, model_id: str, requested: str) -> bool:
    """Whether `route` would send this model to the built-in simulator."""
    if settings.routes.get(requested) or settings.routes.get(model_id) or settings.profile:
        return False
    return settings.base_url == SIMULATOR or (settings.base_url is None and settings.api_key is None)
