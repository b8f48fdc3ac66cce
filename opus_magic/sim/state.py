"""What a running simulator shares between its request threads: settings, faults, caches, the log."""
from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass
from typing import Any

from opus_magic.sim.batch.book import BatchBook
from opus_magic.sim.content.text import PromptCache
from opus_magic.sim.faults import ScenarioBook
from opus_magic.sim.files import FileStore
from opus_magic.sim.limits import Limiter, LimitSettings
from opus_magic.sim.log import RequestLog
from opus_magic.sim.native.cache import NativeCache
from opus_magic.sim.reports.billing import ReportBook


@dataclass(frozen=True)
class Settings:
    """Speed, usage and accuracy knobs; `tokens_per_second` None means full speed, a dict is per
    model."""

    tokens_per_second: float | dict[str, float] | None = None
    ttft_s: float = 0.0
    answer_tokens: int | None = None
    usage_scale: float = 1.0
    accuracy: dict[str, float] | None = None  # per model-name key, see sim/content/choices.py

    def __post_init__(self) -> None:
        rates = self.tokens_per_second
        values = rates.values() if isinstance(rates, dict) else [] if rates is None else [rates]
        if any(not isinstance(v, (int, float)) or v <= 0 for v in values):
            raise ValueError("tokens_per_second must be positive (or None for full speed)")
        if self.ttft_s < 0 or self.usage_scale < 0:
            raise ValueError("ttft_s and usage_scale must not be negative")
        if self.answer_tokens is not None and self.answer_tokens < 1:
            raise ValueError("answer_tokens must be at least 1")
        if any(not isinstance(v, (int, float)) or not 0 <= v <= 1
               for v in (self.accuracy or {}).values()):
            raise ValueError("accuracy maps model names to probabilities from 0 to 1")

    def rate_for(self, model: str) -> float | None:
        if isinstance(self.tokens_per_second, dict):
            return self.tokens_per_second.get(model)
        return self.tokens_per_second


class State:
    """Everything a running simulator shares between its request threads."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.book = ScenarioBook()
        self.cache = PromptCache()
        self.native_cache = NativeCache()
        self.batches = BatchBook()
        self.files = FileStore()
        self.reports = ReportBook()
        self._lock = threading.Lock()
        self._ended = threading.Condition(self._lock)
        self._log: list[RequestLog] = []
        self.limiter: Limiter | None = None

    def limit(self, **settings: Any) -> None:
        """Enforce requests/tokens per window (see sim.limits); no arguments lifts the limits."""
        limits = LimitSettings(**settings)
        self.limiter = Limiter(limits) if limits.requests or limits.tokens else None

    def configure(self, **settings: Any) -> None:
        self.settings = dataclasses.replace(self.settings, **settings)

    def ended(self, entry: RequestLog) -> None:
        """The simulator is done with a request (it may be after the client read the last bytes)."""
        with self._ended:
            entry.ended_at = time.time()
            self._ended.notify_all()

    def wait_ended(self, count: int, timeout_s: float) -> bool:
        """Whether `count` requests arrived and all of them ended within `timeout_s`."""
        with self._ended:
            return self._ended.wait_for(lambda: len(self._log) >= count and all(
                entry.ended_at is not None for entry in self._log), timeout_s)

    def record(self, entry: RequestLog) -> None:
        with self._lock:
            self._log.append(entry)

    def requests(self) -> list[RequestLog]:
        with self._lock:
            return [dataclasses.replace(entry) for entry in self._log]

    def reset(self) -> None:
        with self._lock:
            self._log.clear()
        self.cache = PromptCache()
        self.native_cache = NativeCache()
        self.book.clear()
        self.batches.clear()
        self.files.clear()
        self.reports = ReportBook()
        self.limiter = None
