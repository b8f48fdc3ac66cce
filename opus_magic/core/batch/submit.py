"""Batch runs: planned requests through the providers' batch engines, at the batch price.

`submit_grid` sends (custom_id, plan) pairs as one batch per endpoint and remembers it in the
history, so any process (a restarted kernel, `opus-magic batches`) can poll, cancel and collect.
Collected results become ordinary runs with `batch_id`; collecting twice records nothing twice.
"""
from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from opus_magic.config import SIMULATOR, Settings
from opus_magic.core.batch.checks import run_checks
from opus_magic.core.batch.lost import gone
from opus_magic.core.batch.shapes import batch_shape, shaped
from opus_magic.core.batch.split import LIMITS, BatchLimits, split
from opus_magic.core.grid.checks import Check
from opus_magic.core.run.engine import new_run_id, now_iso
from opus_magic.core.run.plan import Plan
from opus_magic.core.session import Session
from opus_magic.cost.pricing import BATCH, usage_cost
from opus_magic.errors import ConfigError, OpusError, RequestError, UsageError
from opus_magic.records import BatchRow, RunRecord, Usage
from opus_magic.store import batches as stored
from opus_magic.wire.batch.engines import BatchClient, batch_api, request_bytes
from opus_magic.wire.batch.results import BatchResult
from opus_magic.wire.endpoints import Endpoint

CUSTOM_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what Anthropic accepts (OpenAI takes more)
RESUBMITTABLE = ("errored", "expired")
PASSING_STATUSES = (408, 429, 500, 502, 503, 504, 529)  # a watch polls on through these
NOT_RUN = {
    "errored": "The provider failed this batch request ({why}); nothing was billed. Resubmit "
               "the failed requests with `%opus batches resubmit {batch}`.",
    "expired": "The batch expired before this request ran; nothing was billed. Resubmit the "
               "failed requests with `%opus batches resubmit {batch}`.",
    "canceled": "The batch was canceled before this request ran; nothing was billed.",
}


@dataclass(frozen=True)
class Collected:
    """What one collect did: the batches it looked at and the runs it recorded just now."""

    batches: list[BatchRow]
    runs: list[RunRecord]


def submit_grid(session: Session, cells: Sequence[tuple[str, Plan]],
                grid_id: str | None = None, labels: Mapping[str, Mapping[str, Any]] | None = None,
                api: str | None = None, limits: Mapping[str, BatchLimits] = LIMITS
                ) -> list[BatchRow]:
    """Submit planned cells as one batch per endpoint (split where the API's `limits` on
    requests and bytes per batch require), each remembered in the history its plan records in;
    `labels` adds RunRecord fields (variant, row_index, ...) to each custom_id's run when it is
    collected."""
    ids = [custom_id for custom_id, _ in cells]
    bad = [i for i in ids if not CUSTOM_ID.match(i)]
    if not cells or bad or len(set(ids)) != len(ids):
        raise UsageError(f"Batch custom_ids must be unique, 1-64 letters, digits, - or _ "
                         f"(got {bad[:3] or 'duplicates' if cells else 'no cells'}).")
    groups: dict[tuple[str, str, str], list[tuple[str, Plan]]] = {}
    for custom_id, plan in cells:
        key = (plan.endpoint.base_url, plan.endpoint.name,
               batch_api(plan.endpoint, plan.model_id, api))
        groups.setdefault(key, []).append((custom_id, plan))
    rows = []
    for (base_url, profile, wire_api), group in groups.items():
        first = group[0][1]
        client = BatchClient(first.endpoint, wire_api, first.policy.timeout_s)
        sizes = [request_bytes(wire_api, custom_id, plan.body) for custom_id, plan in group]
        for indexes in split(sizes, limits[wire_api]):
            part = group[indexes.start:indexes.stop]
            status = client.submit([(custom_id, plan.body) for custom_id, plan in part])
            row = BatchRow(f"b-{secrets.token_hex(5)}", status.provider_id, wire_api, base_url,
                           profile, grid_id, now_iso(), status.state, status.counts,
                           {cid: cell_data(plan, (labels or {}).get(cid)) for cid, plan in part})
            stored.add_batch(session.store_at(first.policy.store), row)
            rows.append(row)
    return rows


def worst_cases(plans: Sequence[Plan]) -> tuple[Decimal | None, Decimal | None]:
    """Input + max_tokens of every plan, interactively and at the batch price (None: unknown)."""
    total, batch_total = Decimal(0), Decimal(0)
    for plan in plans:
        cost = plan.worst_case_cost
        half = usage_cost(Usage(plan.input_tokens, plan.max_tokens), plan.info, BATCH)
        if cost is None or half is None:
            return None, None
        total, batch_total = total + cost, batch_total + half
    return (total, batch_total) if plans else (None, None)


def watch(session: Session, batch_id: str, interval_s: float,
          on_update: Callable[[BatchRow], None] | None = None,
          stop: threading.Event | None = None,
          max_interval_s: float | None = None,
          on_error: Callable[[str], None] | None = None) -> threading.Thread:
    """Poll one batch in a background thread until it ends, then collect it: what the
    submitting kernel does while it lives. The wait starts at `interval_s` and doubles up to
    `max_interval_s` (when given). `stop` ends the watch early. A passing failure (the network,
    an overloaded provider) only waits for the next poll; any other error ends the watch, told
    to `on_error` (the batch stays in the history for `%opus batches`)."""
    stop = stop or threading.Event()
    settings = session.settings()
    longest = max(max_interval_s or 0, interval_s)

    def loop() -> None:
        wait = interval_s
        while not stop.is_set():
            try:
                done = collect(session, batch_id, settings)
            except OpusError as exc:
                if not passing(exc):
                    if on_error is not None:
                        on_error(str(exc))
                    return
            else:
                if on_update is not None:
                    on_update(done.batches[0])
                if done.batches[0].collected_at is not None:
                    return
            stop.wait(wait)
            wait = min(wait * 2, longest)

    thread = threading.Thread(target=loop, name=f"opus-batch-{batch_id}", daemon=True)
    thread.start()
    return thread


def passing(exc: OpusError) -> bool:
    """Whether a later poll may well succeed: the network, or the provider busy or limiting."""
    return isinstance(exc, RequestError) and (exc.retryable or exc.status in PASSING_STATUSES)


def cell_data(plan: Plan, labels: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What a cell's run record needs once its result arrives, and its body for a resubmit."""
    request = plan.request
    return {"model": request.model, "model_id": plan.model_id, "prompt": request.prompt,
            "messages": plan.messages, "body": plan.body, "max_tokens": plan.max_tokens,
            "tag": request.tag, "concise": request.concise,
            "comparison_id": request.comparison_id, "parent_id": request.parent_id,
            "notes": list(plan.warnings), "input_tokens_estimate": plan.input_tokens,
            "labels": dict(labels or {}), **batch_shape(plan)}


def _client(session: Session, settings: Settings, row: BatchRow) -> BatchClient:
    """A client for the endpoint a batch went to, with the key today's settings give it (a
    built-in simulator's batch: that simulator, wherever this process's own one listens)."""
    if row.profile == SIMULATOR:
        return BatchClient(Endpoint(row.endpoint, None, SIMULATOR, row.api), row.api,
                           settings.timeout_s)
    cell = next(iter(row.cells.values()))
    endpoint: Endpoint = session.endpoint(settings, cell["model_id"], cell["model"]).endpoint
    if endpoint.base_url != row.endpoint:
        raise ConfigError(f"Batch {row.id} went to {row.endpoint}, but {cell['model']} now goes "
                          f"to {endpoint.base_url}: point base_url (or the profile) back there "
                          f"to reach it.")
    return BatchClient(endpoint, row.api, settings.timeout_s)


def find(session: Session, settings: Settings, key: str) -> BatchRow:
    row = stored.find_batch(session.store(settings), key)
    if row is None:
        raise UsageError(f"No batch '{key}' in this history: `%opus batches` lists them.")
    return row


def poll(session: Session, settings: Settings | None = None) -> tuple[list[BatchRow], list[str]]:
    """Every batch, newest first, the ones not collected yet refreshed from their provider;
    and a line for each that could not be reached (its last known state is shown)."""
    settings = settings or session.settings()
    store = session.store(settings)
    problems = []
    for row in stored.list_batches(store, uncollected=True):
        if row.status != "ended":
            try:
                status = _client(session, settings, row).status(row.provider_batch_id)
            except RequestError as exc:
                if gone(row, exc):
                    stored.mark_lost(store, row.id, now_iso())
                else:
                    problems.append(f"{row.id}: {exc}")
                continue
            except ConfigError as exc:
                problems.append(f"{row.id}: {exc}")
                continue
            stored.update_status(store, row.id, status.state, status.counts)
    return stored.list_batches(store), problems


def cancel(session: Session, key: str, settings: Settings | None = None) -> BatchRow:
    """Ask the provider to cancel a batch; requests not yet run end canceled."""
    settings = settings or session.settings()
    row = find(session, settings, key)
    status = _client(session, settings, row).cancel(row.provider_batch_id)
    stored.update_status(session.store(settings), row.id, status.state, status.counts)
    return find(session, settings, row.id)


def collect(session: Session, key: str | None = None,
            settings: Settings | None = None) -> Collected:
    """Record the results of ended batches (one, or every one not collected yet) as runs."""
    settings = settings or session.settings()
    store = session.store(settings)
    rows = [find(session, settings, key)] if key else stored.list_batches(store, uncollected=True)
    runs: list[RunRecord] = []
    for row in rows:
        runs += _collect_one(session, settings, row)
    return Collected([find(session, settings, row.id) for row in rows], runs)


def _collect_one(session: Session, settings: Settings, row: BatchRow) -> list[RunRecord]:
    store = session.store(settings)
    done = stored.collected(store, row.id)
    if row.collected_at is not None and len(done) == len(row.cells):
        return []
    client = _client(session, settings, row)
    try:
        status = client.status(row.provider_batch_id)
        stored.update_status(store, row.id, status.state, status.counts)
        if not status.ended:
            return []
        results = client.results(row.provider_batch_id)
    except RequestError as exc:
        if not gone(row, exc):
            raise
        stored.mark_lost(store, row.id, now_iso())
        return []
    catalog = session.catalog(settings)
    runs = []
    for result in results:
        cell = row.cells.get(result.custom_id)
        if cell is None or result.custom_id in done:
            continue
        record = batch_record(row, cell, result, catalog.get(cell["model_id"]),
                              session.grid_checks)
        if stored.record_result(store, row.id, result.custom_id, result.outcome, record):
            runs.append(record)
    stored.mark_collected(store, row.id, now_iso())
    return runs


def batch_record(row: BatchRow, cell: Mapping[str, Any], result: BatchResult, info: Any,
                 kept_checks: Mapping[str, Sequence[Check]] | None = None) -> RunRecord:
    """A batch request's outcome as a run: the provider's usage at the batch price, or why it
    did not run (not billed)."""
    ok = result.outcome == "succeeded"
    usage = result.usage or Usage()
    cost = (None if result.usage is None else usage_cost(usage, info, BATCH)) if ok else Decimal(0)
    source = "batch price" if ok else "not billed"
    error = None if ok else NOT_RUN[result.outcome].format(why=result.error, batch=row.id)
    params = {k: v for k, v in cell["body"].items()
              if k not in ("messages", "stream", "stream_options", "tools", "system")}
    record = RunRecord(
        id=new_run_id(), created_at=now_iso(), model=cell["model"], prompt=cell["prompt"],
        messages=cell["messages"], response_model=result.response_model, endpoint=row.endpoint,
        params=params, text=result.text,
        status="ok" if ok else "stopped" if result.outcome == "canceled" else "error",
        finish_reason=result.finish_reason, usage=usage, cost=cost,
        cost_exact=cost is not None, cost_source=source if cost is not None else "unknown",
        error=error, tag=cell["tag"], max_tokens=cell["max_tokens"], concise=cell["concise"],
        comparison_id=cell["comparison_id"], parent_id=cell["parent_id"], notes=cell["notes"],
        batch_id=row.id, profile=row.profile, custom_id=result.custom_id,
        input_estimate=cell["input_tokens_estimate"], ignored=list(result.ignored))
    known = {k: v for k, v in cell["labels"].items() if hasattr(record, k)}
    checks = run_checks(cell["labels"], result.text, kept_checks or {}) if ok else None
    return shaped(record.replace(**known, checks=checks), cell, result)


def resubmit(session: Session, key: str, settings: Settings | None = None) -> BatchRow:
    """Submit again, as a new batch, only the requests of a batch that errored or expired."""
    settings = settings or session.settings()
    row = find(session, settings, key)
    collect(session, row.id, settings)
    failed = [cid for cid, (outcome, _) in stored.collected(session.store(settings), row.id).items()
              if outcome in RESUBMITTABLE]
    if not failed:
        raise UsageError(f"Batch {row.id} has no errored or expired requests to resubmit "
                         f"(collect it first if it is still running).")
    client = _client(session, settings, row)
    status = client.submit([(cid, row.cells[cid]["body"]) for cid in failed])
    new = BatchRow(f"b-{secrets.token_hex(5)}", status.provider_id, row.api, row.endpoint,
                   row.profile, row.grid_id, now_iso(), status.state, status.counts,
                   {cid: row.cells[cid] for cid in failed})
    stored.add_batch(session.store(settings), new)
    return new
