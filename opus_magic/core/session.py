"""A session: layered settings, the history store, the catalog, endpoints and the last run."""
from __future__ import annotations

import getpass
import json
import os
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from opus_magic.config import Settings, load_settings
from opus_magic.core.budget import Budget
from opus_magic.core.run.attach.resend import SentAttachments
from opus_magic.core.run.engine import Engine, Observer
from opus_magic.core.run.plan import Plan
from opus_magic.core.run.target import StoreKey
from opus_magic.cost import litellm_prices
from opus_magic.cost.catalog import Catalog, default_catalog
from opus_magic.records import RunRecord
from opus_magic.store.backends import open_store
from opus_magic.store.base import HistoryStore
from opus_magic.store.sqlite import default_path
from opus_magic.wire.apis import transport_for
from opus_magic.wire.endpoints import Endpoint, Route, needs_simulator, route
from opus_magic.wire.retry import Breakers, Clock, Retrier, Sleep


class Session:
    """State shared by the magic and the Python API within one process."""

    def __init__(self) -> None:
        self.overrides: dict[str, Any] = {}
        self.last_run: RunRecord | None = None
        self.budget = Budget()
        self._stores: dict[StoreKey, HistoryStore] = {}
        self._simulator: Any = None
        self._lock = threading.Lock()
        self.breakers = Breakers()
        self.sleep: Sleep | None = None  # how retries wait; None waits on the run's cancel event
        self.clock: Clock = time.time  # the wall clock circuit breakers read
        self._exact_counts: dict[str, int] = {}
        self.grid_checks: dict[str, list[Any]] = {}  # grid id -> its checks, for its batches
        self.sent = SentAttachments()  # what was attached, for --continue to send again

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

    def store_key(self, settings: Settings) -> StoreKey:
        """`history_url` (a PostgreSQL server), else `history_path`, else the default file; runs
        are recorded as `user` (else the OS login) in `project` (else this folder)."""
        location = settings.history_url or str(settings.history_path or default_path())
        return StoreKey(str.__str__(location), settings.user or login() or "",
                        settings.project or Path.cwd().name)

    def store(self, settings: Settings) -> HistoryStore:
        """The history the settings name."""
        return self.store_at(self.store_key(settings))

    def store_at(self, key: StoreKey) -> HistoryStore:
        """The history at `key`, opened once per process."""
        with self._lock:
            if key not in self._stores:
                self._stores[key] = open_store(key.location, key.user or None, key.project)
            return self._stores[key]

    def unsaved(self) -> list[RunRecord]:
        """The runs no history could record yet, oldest first, after trying once more."""
        with self._lock:
            stores = list(self._stores.values())
        kept: list[RunRecord] = []
        for store in stores:
            store.flush()
            kept += store.unsaved
        return sorted(kept, key=lambda record: record.created_at)

    def simulator(self) -> Any:
        """The built-in simulator, started on first use at the pace `$OPUS_MAGIC_SIM_PACE` names
        (a real model's unless `instant`)."""
        with self._lock:
            if self._simulator is None:
                from opus_magic import sim
                from opus_magic.sim.pace import builtin_pace

                self._simulator = sim.start(**builtin_pace(os.environ))
            return self._simulator

    def simulator_url(self) -> str:
        return self.simulator().base_url

    def endpoint(self, settings: Settings, model_id: str, requested: str) -> Route:
        """Endpoint, the model name to send, and notes (e.g. that the simulator answers)."""
        simulator = self.simulator_url() if needs_simulator(settings, model_id, requested) else None
        return route(settings, model_id, requested, simulator)

    def exact_count(self, endpoint: Endpoint, body: dict[str, Any], timeout_s: float) -> int:
        """The exact input count of a body, asked once per distinct prompt this session."""
        fields = {k: v for k, v in body.items() if k not in ("max_tokens", "stream")}
        key = json.dumps([endpoint.base_url, fields], sort_keys=True, default=str)
        if key not in self._exact_counts:
            counted = transport_for(endpoint.api).count(endpoint, body, timeout_s)
            with self._lock:
                self._exact_counts[key] = counted
        return self._exact_counts[key]

    def execute(self, plan: Plan, observer: Observer,
                cancel: threading.Event | None = None) -> RunRecord:
        """Stream one plan to its end, record it, and remember it as the last run."""
        engine = Engine(self.store_at(plan.policy.store), guard=self.budget,
                        retrier=self.retrier(plan))
        record = engine.execute(plan, observer, cancel)
        with self._lock:
            self.last_run = record
        return record

    def retrier(self, plan: Plan) -> Retrier:
        """Retries for one run, through the breaker every run to its endpoint shares."""
        self.breakers.clock = self.clock
        policy = plan.policy
        breaker = self.breakers.get(plan.endpoint.base_url, policy.breaker_threshold,
                                    policy.breaker_cooldown_s)
        return Retrier(policy.retry, breaker, sleep=self.sleep, clock=self.clock)

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
