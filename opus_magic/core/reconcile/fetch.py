"""Reading the providers' reports for a run of UTC days: from the history's cache where it holds
them, else over the network (every page, within the providers' limits, retried as any request)
and then kept; and the reconciliation of those reports with the history's runs."""
from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opus_magic.config import Settings
from opus_magic.core.reconcile.table import Reconciliation, cells_of, reconcile, total_row
from opus_magic.core.reconcile.target import Target, days_between, target
from opus_magic.core.session import Session
from opus_magic.store.base import HistoryStore
from opus_magic.store.reconcile import CachedDay, cached_days, keep_days, recorded_rows
from opus_magic.wire.reports import anthropic as anthropic_reports
from opus_magic.wire.reports import openai as openai_reports
from opus_magic.wire.reports.day import Call, DayReport
from opus_magic.wire.retry import Retrier, RetryPolicy, Waiting

FETCHERS = {"anthropic": anthropic_reports.fetch, "openai": openai_reports.fetch}
FINAL_AFTER = dt.timedelta(hours=1)  # a day's report is final once fetched this long after it
REUSE_OPEN = dt.timedelta(minutes=1)  # the providers ask for at most one poll a minute


@dataclass(frozen=True)
class Reports:
    """A provider's reports per day, and how they were had (fetched now, or kept)."""

    days: dict[str, DayReport]
    how: str


def complete(day: str, now: dt.datetime) -> bool:
    """Whether a day's report, fetched `now`, is final (the day ended long enough ago)."""
    end = dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc) + dt.timedelta(days=1)
    return now >= end + FINAL_AFTER


def reusable(kept: CachedDay | None, now: dt.datetime, refresh: bool) -> bool:
    """A kept day serves again when final, or when fetched within the last minute."""
    if kept is None or refresh:
        return False
    return kept.complete or now - dt.datetime.fromisoformat(kept.fetched_at) < REUSE_OPEN


def read_reports(store: HistoryStore, where: Target, days: list[str], now: dt.datetime,
                 timeout_s: float, call: Call[Any], refresh: bool = False) -> Reports:
    """The reports for `days`: kept ones reused, the others fetched (one span) and kept."""
    source = where.source()
    kept = cached_days(store, source, days)
    missing = [day for day in days if not reusable(kept.get(day), now, refresh)]
    if not missing:
        first = min(kept[day].fetched_at for day in days)[:16].replace("T", " ")
        return Reports({day: DayReport.from_json(day, kept[day].report) for day in days},
                       f"kept in the history (fetched {first} UTC), nothing fetched")
    span = days[days.index(missing[0]):days.index(missing[-1]) + 1]
    fetched = FETCHERS[where.provider](where.endpoint, span, timeout_s, call)
    stamp = now.isoformat(timespec="seconds")
    keep_days(store, source, [CachedDay(day, report.to_json(), stamp, complete(day, now))
                              for day, report in fetched.days.items()])
    reused = len(days) - len(span)
    how = (f"{fetched.pages} report page(s) fetched now"
           + (f", {reused} day(s) kept in the history" if reused else ""))
    return Reports({day: fetched.days.get(day) or DayReport.from_json(day, kept[day].report)
                    for day in days}, how)


def retrying(session: Session, settings: Settings, where: Target,
             waiting: Waiting | None) -> Call[Any]:
    """Each report request as any request is sent: retried on 429 and 5xx, waiting as long as
    the provider asks (within retry_cap_s), through a breaker of its own."""
    breaker = session.breakers.get(f"{where.endpoint.base_url} reports",
                                   settings.breaker_threshold, settings.breaker_cooldown_s)
    retrier = Retrier(RetryPolicy(settings.max_retries, settings.retry_cap_s), breaker,
                      sleep=session.sleep, clock=session.clock)
    cancel = threading.Event()
    said = waiting or (lambda seconds, reason: None)
    return lambda send: retrier.call(send, said, cancel)


def run(session: Session, since: str = "7d", until: str | None = None,
        by: tuple[str, ...] = ("day", "model"), provider: str | None = None,
        refresh: bool = False, waiting: Callable[[float, str], None] | None = None
        ) -> Reconciliation:
    """The history beside a provider's usage and cost reports, per UTC day and model."""
    settings = session.settings()
    now = dt.datetime.fromtimestamp(session.clock(), dt.timezone.utc)
    where = target(settings, provider, session.simulator_url)
    days = days_between(since, until, now)
    store = session.store(settings)
    reports = read_reports(store, where, days, now, settings.timeout_s,
                           retrying(session, settings, where, waiting), refresh)
    end = (dt.date.fromisoformat(days[-1]) + dt.timedelta(days=1)).isoformat()
    runs = recorded_rows(store, days[0], end, where.origin)
    rows = reconcile(runs, reports.days, session.catalog(settings), by, where.bills)
    label = where.endpoint.base_url + (" (the built-in simulator)" if where.simulator else "")
    return Reconciliation(where.name, label, tuple(days), cells_of(by), tuple(rows),
                          total_row(rows), reports.how)
