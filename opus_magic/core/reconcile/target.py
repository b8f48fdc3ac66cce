"""Which provider's reports to read, where, with which admin key, and for which UTC days."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from opus_magic.config import SIMULATOR, Settings
from opus_magic.errors import UsageError
from opus_magic.secret import ADMIN_KEYS, admin_provider
from opus_magic.wire.endpoints import ANTHROPIC, OPENAI, Endpoint, is_claude, platform_of_url

PROVIDERS = {"anthropic": ANTHROPIC, "openai": OPENAI}
MAX_DAYS = 366
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
AGE = re.compile(r"(\d+)\s*([dw])")


@dataclass(frozen=True)
class Target:
    """Where the reports are read (`endpoint`, its key the admin key) and which runs of the
    history they cover: those sent to `origin`, of the models the provider serves."""

    provider: str
    endpoint: Endpoint
    origin: str
    simulator: bool

    @property
    def name(self) -> str:
        return PROVIDERS[self.provider].name

    def bills(self, model: str) -> bool:
        """Whether a model's runs belong in this provider's reports (Claude models are
        Anthropic's; the simulator serves both)."""
        return is_claude(model) == (self.provider == "anthropic")

    def source(self) -> str:
        """The cache's name for these reports: provider, where, and a fingerprint of the key."""
        key = self.endpoint.api_key
        fingerprint = hashlib.sha256(key.reveal().encode()).hexdigest()[:16] if key else "no-key"
        return f"{self.provider} {self.origin} {fingerprint}"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def provider_for(settings: Settings, asked: str | None, base_url: str | None) -> str:
    """`--provider`, else the admin key's, else the base URL's host's, else Anthropic's."""
    owner = admin_provider(settings.admin_key) if settings.admin_key else None
    keyed = next((name for name, p in PROVIDERS.items() if p.name == owner), None)
    if asked and keyed and asked != keyed:
        raise UsageError(f"--provider {asked}, but admin_key is an {owner} admin key: give "
                         f"--provider {keyed}, or the {PROVIDERS[asked].name} admin key.")
    hosted = platform_of_url(base_url) if base_url and base_url != SIMULATOR else None
    by_host = next((name for name, p in PROVIDERS.items() if p == hosted), None)
    return asked or keyed or by_host or "anthropic"


def target(settings: Settings, asked: str | None, simulator_url: Callable[[], str]) -> Target:
    """Where reconcile reads the reports: the built-in simulator when runs go there (no key, no
    base URL, or base_url=sim), a base_url that is no provider's (a proxy, a local server), else
    the provider's own API, which wants an admin key."""
    base = settings.base_url
    provider = provider_for(settings, asked, base)
    keyless = (base is None and settings.api_key is None and settings.admin_key is None
               and not settings.profile)
    simulator = base == SIMULATOR or keyless
    if simulator:
        url = simulator_url()
    elif base and platform_of_url(base) is None:
        url = base
    else:
        url = PROVIDERS[provider].base_url
    if platform_of_url(url) is not None and settings.admin_key is None:
        raise UsageError(f"Reconciling with {PROVIDERS[provider].name}'s bill reads its usage and "
                         f"cost reports with an admin key ({ADMIN_KEYS}): set "
                         f"admin_key_env=VARIABLE (the key is never shown or stored).")
    return Target(provider, Endpoint(url, settings.admin_key, "reports"), origin_of(url),
                  simulator)


def first_day(since: str, now: dt.datetime) -> dt.date:
    """`--since`: a date (a UTC day, as the providers count days), a time, or an age (7d, 2w)."""
    text = since.strip()
    age = AGE.fullmatch(text)
    if age:
        return (now - dt.timedelta(days=int(age[1]) * (7 if age[2] == "w" else 1))).date()
    try:
        if DATE.fullmatch(text):
            return dt.date.fromisoformat(text)
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--since '{since}' is not a day: use a date (2026-12-01), a time "
                         f"(2026-12-01T09:30) or an age (7d, 2w).") from None
    return moment.astimezone(dt.timezone.utc).date()


def days_between(since: str, until: str | None, now: dt.datetime) -> list[str]:
    """The UTC days from `since` to `until` (today by default), both included, oldest first."""
    first = first_day(since, now)
    last = first_day(until, now) if until else now.date()
    if first > last:
        raise UsageError(f"--since {first} comes after {last}: give an earlier day.")
    if (last - first).days >= MAX_DAYS:
        raise UsageError(f"{(last - first).days + 1} days is more than a reconcile covers "
                         f"({MAX_DAYS}): reconcile a year at a time.")
    return [(first + dt.timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
