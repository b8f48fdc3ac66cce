"""A session: layered settings, the history store, the catalog, endpoints and the last run."""
from __future__ import annotations

import os
import threading
import time
from decimal import Decimal
from typing import Any

from . import calibration, litellm_prices, tokens
from .budget import Budget
from .catalog import Catalog, default_catalog
from .client import Endpoint
from .config import SIMULATOR, Settings, as_secret, load_settings
from .engine import Engine, Observer
from .plan import Plan, RunRequest, plan_run
from .errors import ConfigError, OpusError
from .records import RunRecord
from .retry import Breaker, Clock, Retrier, RetryPolicy, Sleep
from .store import Store, default_path

KEY_PREFIX_ENDPOINTS = (
    ("sk-ant-", "https://api.anthropic.com/v1/"),
    ("sk-or-", "https://openrouter.ai/api/v1"),
)
OPENAI_BASE_URL = "https://api.openai.com/v1"
SIMULATOR_NOTE = "No API key configured: answers come from the built-in simulator, not a real model."


class Session:
    """State shared by the magic and the Python API within one process."""

    def __init__(self) -> None:
        self.overrides: dict[str, Any] = {}
        self.last_run: RunRecord | None = None
        self.budget = Budget()
        self._stores: dict[str, Store] = {}
        self._simulator: Any = None
        self._lock = threading.Lock()
        self._breakers: dict[str, Breaker] = {}
        self.sleep: Sleep | None = None  # how retries wait; None waits on the run's cancel event
        self.clock: Clock = time.time  # the wall clock circuit breakers read

    def settings(self, **flags: Any) -> Settings:
        """Defaults < TOML < environment < session overrides < these flags."""
        given = {k: v for k, v in flags.items() if v is not None}
        return load_settings({**self.overrides, **given})

    def configure(self, **values: Any) -> Settings:
        """Set session overrides (checked first, so a bad value changes nothing)."""
        load_settings({**self.overrides, **values})
        self.overrides.update(values)
        return self.settings()

    @property
    def spent(self) -> Decimal:
        """Dollars spent by every run of this session."""
        return self.budget.spent

    def catalog(self, settings: Settings) -> Catalog:
        """Package catalog < litellm price map (if configured) < models and aliases from config."""
        catalog = default_catalog()
        if settings.litellm_prices:
            path = settings.litellm_prices
            catalog = catalog.extended(litellm_prices.load(path), origin=path)
        return catalog.extended(settings.models, settings.aliases)

    def store(self, settings: Settings) -> Store:
        path = str(settings.history_path or default_path())
        with self._lock:
            if path not in self._stores:
                self._stores[path] = Store(path)
            return self._stores[path]

    def simulator_url(self) -> str:
        with self._lock:
            if self._simulator is None:
                from . import sim

                self._simulator = sim.start()
            return self._simulator.base_url

    def endpoint(self, settings: Settings, model_id: str, requested: str) -> tuple[Endpoint, str, list[str]]:
        """Endpoint, the model name to send, and notes (e.g. that the simulator answers)."""
        profile_name = settings.routes.get(requested) or settings.routes.get(model_id) or settings.profile
        if profile_name:
            profile = settings.profiles.get(profile_name)
            if profile is None:
                known = ", ".join(sorted(settings.profiles)) or "none defined"
                raise ConfigError(f"Unknown profile '{profile_name}' (profiles: {known}); "
                                  f"define it under [profiles.{profile_name}] in the config file.")
            key = os.environ.get(profile.api_key_env) if profile.api_key_env else settings.api_key
            wire = profile.aliases.get(requested) or profile.aliases.get(model_id) or model_id
            return Endpoint(profile.base_url, as_secret(key) if key else None, profile.name), wire, []
        base_url, key = settings.base_url, settings.api_key
        if base_url == SIMULATOR or (base_url is None and key is None):
            note = [] if base_url == SIMULATOR else [SIMULATOR_NOTE]
            return Endpoint(self.simulator_url(), key, SIMULATOR), model_id, note
        if base_url is None:
            raw = key.reveal() if key else ""
            base_url = next((url for prefix, url in KEY_PREFIX_ENDPOINTS if raw.startswith(prefix)),
                            OPENAI_BASE_URL)
        return Endpoint(base_url, key), model_id, []

    def plan(self, request: RunRequest, settings: Settings) -> Plan:
        """Resolve the model (a profile's alias counts), pre-flight it, refuse what must not run."""
        catalog = self.catalog(settings)
        model_id = catalog.resolve(request.model)
        endpoint, wire_model, notes = self.endpoint(settings, model_id, request.model)
        if model_id not in catalog.models:
            model_id = catalog.resolve(wire_model)
        learned = None
        if not tokens.is_native(model_id):
            names = dict.fromkeys((*catalog.names_for(model_id), request.model))
            learned = calibration.learn(self.store(settings), tuple(names), endpoint.base_url)
        plan = plan_run(request, model_id, catalog.get(model_id), endpoint, wire_model,
                        settings.timeout_s, learned, tuple(notes))
        self.budget.admit(plan, settings.budget)
        return plan

    def execute(self, plan: Plan, settings: Settings, observer: Observer,
                cancel: threading.Event | None = None) -> RunRecord:
        engine = Engine(self.store(settings), guard=self.budget,
                        retrier=self.retrier(plan.endpoint, settings))
        record = engine.execute(plan, observer, cancel)
        with self._lock:
            self.last_run = record
        return record

    def retrier(self, endpoint: Endpoint, settings: Settings) -> Retrier:
        """Retries for one run, through the breaker every run to this endpoint shares."""
        with self._lock:
            breaker = self._breakers.get(endpoint.base_url)
            if breaker is None:
                breaker = self._breakers[endpoint.base_url] = Breaker(endpoint.base_url,
                                                                      clock=self.clock)
        breaker.tune(settings.breaker_threshold, settings.breaker_cooldown_s)
        return Retrier(RetryPolicy(settings.max_retries, settings.retry_cap_s), breaker,
                       sleep=self.sleep, clock=self.clock)


_default: Session | None = None


def default_session() -> Session:
    global _default
    if _default is None:
        _default = Session()
    return _default


def build_request(settings: Settings, prompt: str, **extra: Any) -> RunRequest:
    """A RunRequest from resolved settings; checks what the settings layer cannot."""
    from .errors import UsageError

    if not prompt.strip():
        raise UsageError("The cell is empty: write a prompt below %%opus.")
    if settings.temperature is not None and not 0 <= settings.temperature <= 2:
        raise UsageError(f"Temperature {settings.temperature:g} is out of range: use 0 to 2 "
                         f"(Anthropic's endpoint caps it at 1).")
    return RunRequest(prompt=prompt, model=settings.model, max_tokens=settings.max_tokens,
                      temperature=settings.temperature, system=settings.system,
                      concise=settings.concise, stream=settings.stream, **extra)


def warm_up() -> None:
    """Load what a first run needs (the SDK, widgets in a kernel, the token encoding) ahead of it."""
    import sys

    import openai  # noqa: F401

    if "ipykernel" in sys.modules:
        import ipywidgets  # noqa: F401
    try:
        settings = default_session().settings()
    except OpusError:
        return
    tokens.encoding_for(default_catalog().resolve(settings.model))
