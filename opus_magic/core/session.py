"""A session: layered settings, the history store, the catalog, endpoints and the last run."""
from __future__ import annotations

import dataclasses
import getpass
import json
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from opus_magic.config import Settings, load_settings
from opus_magic.core.budget import Budget
from opus_magic.core.engine import Engine, Observer
from opus_magic.core.plan import Plan, RunRequest, plan_run
from opus_magic.cost import calibration, lineup, litellm_prices, tokens
from opus_magic.cost.catalog import Catalog, default_catalog
from opus_magic.records import RunRecord
from opus_magic.store.backends import open_store
from opus_magic.store.base import HistoryStore
from opus_magic.store.queries import calibration_counts
from opus_magic.store.sqlite import default_path
from opus_magic.wire.endpoints import Endpoint, Route, needs_simulator, route
from opus_magic.wire.retry import Breakers, Clock, Retrier, RetryPolicy, Sleep


class Session:
    """State shared by the magic and the Python API within one process."""

    def __init__(self) -> None:
        self.overrides: dict[str, Any] = {}
        self.last_run: RunRecord | None = None
        self.budget = Budget()
        self._stores: dict[tuple[str, str, str], HistoryStore] = {}
        self._simulator: Any = None
        self._lock = threading.Lock()
        self.breakers = Breakers()
        self.sleep: Sleep | None = None  # how retries wait; None waits on the run's cancel event
        self.clock: Clock = time.time  # the wall clock circuit breakers read
        self._exact_counts: dict[str, int] = {}

    def settings(self, **flags: Any) -> Settings:
        """Defaults < TOML < environment < session overrides < these flags."""
        given = {k: v for k, v in flags.items() if v is not None}
        return load_settings({**self.overrides, **given})

    def configure(self, **values: Any) -> Settings:
        """Set session overrides (checked first, so a bad value changes nothing).

        A broken config file does not stop this: the settings returned say what is wrong with it.
        """
        settings = load_settings({**self.overrides, **values}, lenient=True)
        self.overrides.update(values)
        return settings

    @property
    def spent(self) -> Decimal:
        """Dollars spent by every run of this session."""
        return self.budget.spent

    def catalog(self, settings: Settings) -> Catalog:
        """genai-prices < package catalog < litellm price map (if configured) < config models."""
        catalog = default_catalog()
        if settings.litellm_prices:
            path = settings.litellm_prices
            catalog = catalog.extended(litellm_prices.load(path), origin=path)
        return catalog.extended(settings.models, settings.aliases)

    def store(self, settings: Settings) -> HistoryStore:
        """`history_url` (a PostgreSQL server or a path), else `history_path`, else the default
        file; runs are recorded as `user` (else the OS login) in `project` (else this folder)."""
        location = settings.history_url or str(settings.history_path or default_path())
        user = settings.user or login()
        project = settings.project or Path.cwd().name
        key = (str.__str__(location), user or "", project)
        with self._lock:
            if key not in self._stores:
                self._stores[key] = open_store(location, user, project)
            return self._stores[key]

    def simulator_url(self) -> str:
        with self._lock:
            if self._simulator is None:
                from opus_magic import sim

                self._simulator = sim.start()
            return self._simulator.base_url

    def endpoint(self, settings: Settings, model_id: str, requested: str) -> Route:
        """Endpoint, the model name to send, and notes (e.g. that the simulator answers)."""
        simulator = self.simulator_url() if needs_simulator(settings, model_id, requested) else None
        return route(settings, model_id, requested, simulator)

    def plan(self, request: RunRequest, settings: Settings, count_later: bool = False) -> Plan:
        """Resolve the model (a profile's alias counts), pre-flight it, refuse what must not run;
        `count_later`: a run shown as it streams may go out before its tokens are counted."""
        catalog = self.catalog(settings)
        model_id = catalog.resolve(request.model)
        endpoint, wire_model, notes = self.endpoint(settings, model_id, request.model)
        if model_id not in catalog.models:
            model_id = catalog.resolve(wire_model)
        learned = None
        if not tokens.is_native(model_id):
            names = dict.fromkeys((*catalog.names_for(model_id), request.model))
            counts = calibration_counts(self.store(settings), tuple(names), endpoint.base_url,
                                        calibration.WINDOW)
            learned = calibration.learn(*counts) or calibration.prior(catalog.get(model_id))
        plan = plan_run(request, model_id, catalog.get(model_id), endpoint, wire_model,
                        settings.timeout_s, learned, tuple(notes), self.exact_count,
                        count_later and settings.budget is None)
        plan = dataclasses.replace(plan, legacy=lineup.legacy_note(plan.info, catalog))
        self.budget.admit(plan, settings.budget)
        return plan

    def exact_count(self, endpoint: Endpoint, body: dict[str, Any]) -> int:
        """count_tokens for a native request body, asked once per distinct prompt this session."""
        from opus_magic.wire import anthropic

        fields = {k: v for k, v in body.items() if k not in ("max_tokens", "stream")}
        key = json.dumps([endpoint.base_url, fields], sort_keys=True, default=str)
        if key not in self._exact_counts:
            counted = anthropic.count_tokens(endpoint, body, self.settings().timeout_s)
            with self._lock:
                self._exact_counts[key] = counted
        return self._exact_counts[key]

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
        self.breakers.clock = self.clock
        breaker = self.breakers.get(endpoint.base_url, settings.breaker_threshold,
                                    settings.breaker_cooldown_s)
        return Retrier(RetryPolicy(settings.max_retries, settings.retry_cap_s), breaker,
                       sleep=self.sleep, clock=self.clock)


def login() -> str | None:
    """The OS login name, or None where the system has none (e.g. a container without one)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return None


_default: Session | None = None
_default_lock = threading.Lock()


def default_session() -> Session:
    """The process's one session; the warm-up thread and the magic may ask for it at once."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Session()
        return _default


def build_request(settings: Settings, prompt: str, **extra: Any) -> RunRequest:
    """A RunRequest from resolved settings; checks what the settings layer cannot."""
    from opus_magic.errors import UsageError

    if not prompt.strip():
        raise UsageError("The cell is empty: write a prompt below %%opus.")
    if settings.temperature is not None and not 0 <= settings.temperature <= 2:
        raise UsageError(f"Temperature {settings.temperature:g} is out of range: use 0 to 2 "
                         f"(Anthropic's endpoint caps it at 1).")
    return RunRequest(prompt=prompt, model=settings.model, max_tokens=settings.max_tokens,
                      temperature=settings.temperature, system=settings.system,
                      concise=settings.concise, stream=settings.stream, cache=settings.cache,
                      **extra)
