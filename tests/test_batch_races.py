"""Provider batches when two processes look at once, or a poll comes late: against the
simulator's batch endpoints over real HTTP."""
from __future__ import annotations

import os
import sqlite3
import threading

import pytest
from test_batches import endpoint  # noqa: F401  (the simulator, the key and the history)

import opus_magic
from opus_magic.core.batch import submit as batch
from opus_magic.core.session import Session, default_session
from opus_magic.errors import RequestError
from opus_magic.records import RunRecord
from opus_magic.store import batches as stored
from opus_magic.wire.batch.engines import BatchClient


def recorded() -> list[tuple[str, str]]:
    """(custom_id, run id) of every run a batch recorded, from the file itself."""
    db = sqlite3.connect(os.environ["OPUS_MAGIC_HISTORY"])
    try:
        return db.execute("SELECT custom_id, id FROM runs WHERE batch_id IS NOT NULL "
                          "ORDER BY custom_id").fetchall()
    finally:
        db.close()


def test_a_batch_recorded_as_ended_stays_ended_under_a_stale_poll(endpoint, monkeypatch,
                                                                  capsys, ip) -> None:
    endpoint.batches(delay_s=3600)
    [row] = opus_magic.submit_batch(["Say hello.", "Say bye."], model="haiku", api="anthropic")
    endpoint.batches(end_now=True)

    def unreachable(self, provider_id):  # the download after the "ended" poll fails
        raise RequestError("Could not reach the endpoint while reading the results.",
                           retryable=True)

    read = BatchClient.results
    monkeypatch.setattr(BatchClient, "results", unreachable)
    with pytest.raises(RequestError):
        opus_magic.collect_batches(row.id)
    store = default_session().store(default_session().settings())
    assert stored.find_batch(store, row.id).status == "ended"
    stored.update_status(store, row.id, "in_progress", {"processing": 2})  # a stale poll
    kept = stored.find_batch(store, row.id)
    assert (kept.status, kept.collected_at) == ("ended", None)
    assert kept.counts["succeeded"] == 2
    monkeypatch.setattr(BatchClient, "results", read)
    assert [r.custom_id for r in opus_magic.collect_batches(row.id)] == ["p0", "p1"]


def test_two_collectors_racing_on_one_batch_record_each_request_once(endpoint,
                                                                    monkeypatch) -> None:
    endpoint.batches(delay_s=3600)
    [row] = opus_magic.submit_batch([f"Say {n}." for n in range(5)], model="gpt-4o")
    endpoint.batches(end_now=True)
    both_read = threading.Barrier(2, timeout=60)
    read = BatchClient.results

    def results(self, provider_id):  # both collectors hold every result before either records
        found = read(self, provider_id)
        both_read.wait()
        return found

    monkeypatch.setattr(BatchClient, "results", results)
    got: list[list[RunRecord]] = []

    def collector() -> None:  # each its own session and connections, as two processes have
        got.append(batch.collect(Session(), row.id).runs)

    threads = [threading.Thread(target=collector) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(len(runs) for runs in got) in ([0, 5], [1, 4], [2, 3])  # split, never doubled
    assert [cid for cid, _ in recorded()] == [f"p{n}" for n in range(5)]
    claimed = {cid: run_id for cid, (_, run_id) in
               stored.collected(default_session().store(default_session().settings()),
                                row.id).items()}
    assert claimed == dict(recorded())


def test_the_claim_lets_only_its_owner_record_a_result(endpoint) -> None:
    store = default_session().store(default_session().settings())
    other = Session().store(Session().settings())           # another process's connection
    mine = RunRecord(id="run-a", created_at="t", model="m", prompt="p", batch_id="b-1")
    theirs = mine.replace(id="run-b")
    assert stored.record_result(store, "b-1", "c1", "succeeded", mine) is True
    assert stored.record_result(other, "b-1", "c1", "succeeded", theirs) is False
    assert stored.record_result(store, "b-1", "c1", "succeeded", mine.replace(text="again")) is True
    assert [r.id for r in opus_magic.history(limit=None)] == ["run-a"]
