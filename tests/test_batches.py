"""Batch runs through the providers' batch engines, against the simulator over real HTTP:
submit, poll, cancel, collect (also from a new process), resubmit failures, half-price costs."""
from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
from decimal import Decimal

import anthropic
import openai
import pytest

import opus_magic
from opus_magic.config import SIMULATOR
from opus_magic.cost.catalog import default_catalog
from opus_magic.cost.pricing import usage_cost

KEY = "sk-test-0123456789abcdef"


@pytest.fixture
def endpoint(simulator, monkeypatch: pytest.MonkeyPatch):
    """The Python API, the magic and subprocesses all pointed at the shared simulator."""
    monkeypatch.setenv("OPUS_MAGIC_BASE_URL", simulator.base_url)
    monkeypatch.setenv("OPUS_MAGIC_API_KEY", KEY)
    return simulator


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`opus-magic ...` in a new process (the same environment: history, endpoint, key)."""
    return subprocess.run([sys.executable, "-m", "opus_magic.cli.main", *args], text=True,
                          capture_output=True, timeout=120, env=os.environ.copy())


def runs_in_history() -> list[tuple[str, str, str]]:
    db = sqlite3.connect(os.environ["OPUS_MAGIC_HISTORY"])
    return db.execute("SELECT r.id, b.custom_id, r.status FROM runs r JOIN batch_runs b "
                      "ON b.run_id = r.id ORDER BY b.custom_id").fetchall()


def test_the_official_sdks_drive_the_simulators_batch_endpoints(simulator) -> None:
    root = simulator.base_url.removesuffix("/v1")
    claude = anthropic.Anthropic(base_url=root, api_key="sk-ant-test", max_retries=0)
    params = {"model": "claude-haiku-4-5", "max_tokens": 5,
              "messages": [{"role": "user", "content": "Explain how TCP retransmission works."}]}
    simulator.batches(delay_s=3600)
    batch = claude.messages.batches.create(requests=[{"custom_id": "a", "params": params},
                                                     {"custom_id": "b", "params": params}])
    assert batch.processing_status == "in_progress" and batch.request_counts.processing == 2
    assert batch.results_url is None
    simulator.batches(end_now=True)
    done = claude.messages.batches.retrieve(batch.id)
    assert done.processing_status == "ended" and done.request_counts.succeeded == 2
    assert [b.id for b in claude.messages.batches.list()] == [batch.id]
    results = {r.custom_id: r.result for r in claude.messages.batches.results(batch.id)}
    message = results["a"].message
    assert message.content[0].text == "TCP resends a segment" and message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 5 and message.usage.input_tokens > 0
    late = claude.messages.batches.create(requests=[{"custom_id": "c", "params": params}])
    assert claude.messages.batches.cancel(late.id).processing_status == "canceling"
    assert claude.messages.batches.retrieve(late.id).request_counts.canceled == 1

    simulator.batches(delay_s=0, fail=["o1"])
    gpt = openai.OpenAI(base_url=simulator.base_url, api_key="sk-test", max_retries=0)
    lines = "".join(json.dumps({"custom_id": f"o{i}", "method": "POST",
                                "url": "/v1/chat/completions", "body": {
                                    "model": "gpt-4o", "max_tokens": 50,
                                    "messages": [{"role": "user", "content": "Say hello."}]}}) + "\n"
                    for i in range(2))
    upload = gpt.files.create(file=("in.jsonl", lines.encode()), purpose="batch")
    assert upload.purpose == "batch" and upload.bytes == len(lines.encode())
    created = gpt.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions",
                                 completion_window="24h")
    job = gpt.batches.retrieve(created.id)
    assert job.status == "completed" and (job.request_counts.completed,
                                          job.request_counts.failed) == (1, 1)
    output = [json.loads(line) for line in gpt.files.content(job.output_file_id).text.splitlines()]
    assert output[0]["custom_id"] == "o0" and output[0]["response"]["status_code"] == 200
    hello = output[0]["response"]["body"]["choices"][0]["message"]["content"]
    assert hello == "Hello! How can I help you today?"
    errors = [json.loads(line) for line in gpt.files.content(job.error_file_id).text.splitlines()]
    assert errors[0]["custom_id"] == "o1" and errors[0]["response"]["status_code"] == 500
    assert [b.id for b in gpt.batches.list()] == [created.id]
    assert gpt.batches.cancel(created.id).status == "completed"  # too late: already ended
    with pytest.raises(openai.NotFoundError):
        gpt.batches.retrieve("batch_nope")


def test_submit_poll_and_collect_at_half_the_price(endpoint, ip, capsys) -> None:
    endpoint.batches(delay_s=3600)
    [row] = opus_magic.submit_batch({"hello": "Say hello.", "tcp": "Explain how TCP "
                                     "retransmission works."}, model="haiku-4.5", api="anthropic",
                                    max_tokens=300, tag="nightly")
    assert row.api == "anthropic" and row.provider_batch_id.startswith("msgbatch_")
    ip.run_line_magic("opus", "batches")
    listed = capsys.readouterr().out
    assert row.id in listed and "in progress" in listed and "2 processing" in listed
    assert opus_magic.collect_batches() == []  # still processing: nothing to record yet
    endpoint.batches(end_now=True)
    ip.run_line_magic("opus", "batches collect")
    assert f"{row.id}: recorded 2 runs (2 ok)" in capsys.readouterr().out
    runs = {r.custom_id: r for r in opus_magic.history(tag="nightly")}
    hello = runs["hello"]
    assert hello.text == "Hello!" and hello.status == "ok" and hello.finish_reason == "stop"
    # By hand: 10 input tokens × $1/M + 2 output tokens × $5/M = $0.000020, half of it in a batch.
    assert (hello.usage.input_tokens, hello.usage.output_tokens) == (10, 2)
    assert hello.cost == Decimal("0.00001") and hello.cost_exact
    assert hello.cost_source == "batch price"
    interactive = usage_cost(runs["tcp"].usage, default_catalog().get("claude-haiku-4-5"))
    assert runs["tcp"].cost * 2 == interactive
    ip.run_line_magic("opus", "batches collect")
    assert "No batches waiting to be collected." in capsys.readouterr().out
    ip.run_line_magic("opus", f"batches collect {row.id}")
    assert "nothing new, already collected" in capsys.readouterr().out
    assert len(runs_in_history()) == 2 and len(opus_magic.history(tag="nightly")) == 2
    ip.run_line_magic("opus", "batches")
    assert "collected" in capsys.readouterr().out


def test_a_new_process_collects_what_an_exited_one_submitted(endpoint) -> None:
    endpoint.batches(delay_s=3600)
    submit = subprocess.run(
        [sys.executable, "-c", "import opus_magic; [b] = opus_magic.submit_batch(['Say hello.', "
         "'Explain how HTTPS protects a login form.'], model='gpt-4o', max_tokens=400); "
         "print(b.id)"], text=True, capture_output=True, timeout=120, env=os.environ.copy())
    assert submit.returncode == 0, submit.stderr
    batch_id = submit.stdout.strip()
    listed = cli("batches")
    assert batch_id in listed.stdout and "2 processing" in listed.stdout
    endpoint.batches(end_now=True)
    first = cli("batches", "collect")
    assert f"{batch_id}: recorded 2 runs (2 ok)" in first.stdout, first.stderr
    again = cli("batches", "collect", batch_id)
    assert "nothing new, already collected" in again.stdout
    assert [(custom_id, status) for _, custom_id, status in runs_in_history()] == [
        ("p0", "ok"), ("p1", "ok")]
    assert KEY not in first.stdout and KEY not in json.dumps(runs_in_history())


def test_cancel_records_nothing_billed(endpoint, ip, capsys) -> None:
    endpoint.batches(delay_s=3600)
    [row] = opus_magic.submit_batch(["Say hello."], model="opus", api="anthropic")
    ip.run_line_magic("opus", f"batches cancel {row.provider_batch_id}")
    assert f"Cancel requested for {row.id}: canceling" in capsys.readouterr().out
    [run] = opus_magic.collect_batches(row.id)
    assert run.status == "stopped" and run.cost == 0 and run.cost_source == "not billed"
    assert "canceled before this request ran" in run.error and run.batch_id == row.id


def test_only_errored_and_expired_requests_are_resubmitted_with_one_command(endpoint) -> None:
    endpoint.batches(fail=["p1"])
    [row] = opus_magic.submit_batch(["Say hello."] * 3, model="4o")
    failed = {r.custom_id: r for r in opus_magic.collect_batches()}
    assert failed["p1"].status == "error" and failed["p1"].cost == 0
    assert f"resubmit {row.id}" in failed["p1"].error and failed["p0"].status == "ok"
    endpoint.batches(fail=[], delay_s=3600)
    again = cli("batches", "resubmit", row.id)
    assert "Resubmitted 1 errored or expired requests" in again.stdout, again.stderr
    endpoint.batches(expire=True, end_now=True)
    expired = opus_magic.collect_batches()
    assert [(r.custom_id, r.status) for r in expired] == [("p1", "error")]
    assert "expired before this request ran" in expired[0].error
    retry = cli("batches", "resubmit", expired[0].batch_id)
    assert "Resubmitted 1" in retry.stdout
    endpoint.batches(expire=False, end_now=True)
    [fixed] = opus_magic.collect_batches()
    assert fixed.custom_id == "p1" and fixed.status == "ok" and fixed.text.startswith("Hello!")
    assert [status for _, _, status in runs_in_history()].count("ok") == 3


def test_bad_batch_commands_say_what_to_do(endpoint, ip, capsys) -> None:
    ip.run_line_magic("opus", "batches frob")
    assert "Use %opus batches [collect [ID] | cancel ID" in capsys.readouterr().err
    ip.run_line_magic("opus", "batches cancel b-nope")
    err = capsys.readouterr().err
    assert "No batch 'b-nope'" in err and "Traceback" not in err
    with pytest.raises(opus_magic.errors.UsageError, match="custom_ids must be unique"):
        opus_magic.submit_batch({"bad id!": "Say hello."})
    assert cli("batches", "cancel").returncode == 1
    assert "No batches in this history yet." in cli("batches").stdout


def test_the_batches_table_has_the_columns_other_processes_read() -> None:
    from opus_magic.store.migrations import migrate

    db = sqlite3.connect(":memory:", isolation_level=None)
    migrate(db)
    columns = [row[1] for row in db.execute("PRAGMA table_info(batches)")]
    assert columns == ["id", "provider_batch_id", "api", "endpoint", "profile", "grid_id",
                       "submitted_at", "status", "counts", "cells", "collected_at"]
    assert [row[1] for row in db.execute("PRAGMA table_info(batch_runs)")] == [
        "batch_id", "custom_id", "run_id", "outcome"]


# --- pure logic: which API, request conversion, results read into usage ----------------------

def test_which_batch_api_an_endpoint_speaks() -> None:
    from opus_magic.wire.batch.engines import batch_api
    from opus_magic.wire.endpoints import Endpoint

    anthropic_host = Endpoint("https://api.anthropic.com/v1/", None)
    assert batch_api(anthropic_host, "claude-opus-4-6") == "anthropic"
    assert batch_api(Endpoint("https://api.openai.com/v1", None), "gpt-4o") == "openai"
    assert batch_api(Endpoint("http://127.0.0.1:9/v1", None, SIMULATOR), "claude-haiku-4-5") \
        == "anthropic"
    assert batch_api(Endpoint("http://127.0.0.1:9/v1", None, SIMULATOR), "gpt-4o") == "openai"
    assert batch_api(anthropic_host, "claude-opus-4-6", api="openai") == "openai"


def test_a_chat_body_becomes_messages_params() -> None:
    from opus_magic.wire.batch.engines import anthropic_params, openai_body

    body = {"model": "claude-opus-4-6", "max_tokens": 300, "stream": True, "temperature": 0.2,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "system", "content": "Be concise."},
                         {"role": "user", "content": "Hi"}],
            "tools": [{"type": "function", "function": {"name": "get_weather",
                                                        "parameters": {"type": "object"}}}]}
    assert anthropic_params(body) == {
        "model": "claude-opus-4-6", "max_tokens": 300, "system": "Be concise.",
        "messages": [{"role": "user", "content": "Hi"}], "temperature": 0.2,
        "tools": [{"name": "get_weather", "description": "", "input_schema": {"type": "object"}}]}
    assert "stream" not in openai_body(body) and "stream_options" not in openai_body(body)


def test_a_native_body_goes_into_a_batch_as_it_is() -> None:
    from opus_magic.wire.anthropic.messages import request_body
    from opus_magic.wire.batch.engines import anthropic_params
    from opus_magic.wire.body.request import WireRequest

    messages = [{"role": "system", "content": "Be concise."}, {"role": "user", "content": "Hi"}]
    body = request_body(WireRequest(
        model="claude-opus-4-6", messages=messages, max_tokens=300, thinking="adaptive",
        breakpoints=("system",)))
    params = anthropic_params(body)
    assert params == {k: v for k, v in body.items() if k != "stream"}
    assert params["system"][0]["cache_control"]["type"] == "ephemeral"


def test_results_are_read_into_usage_with_cache_counted_in_input() -> None:
    from opus_magic.records import Usage
    from opus_magic.wire.batch.results import anthropic_result, openai_result

    line = {"custom_id": "a", "result": {"type": "succeeded", "message": {
        "model": "claude-opus-4-6", "stop_reason": "end_turn",
        "content": [{"type": "text", "text": "Hi"}],
        "usage": {"input_tokens": 10, "output_tokens": 4, "cache_read_input_tokens": 2000,
                  "cache_creation_input_tokens": 300,
                  "cache_creation": {"ephemeral_1h_input_tokens": 100}}}}}
    read = anthropic_result(line)
    assert read.usage == Usage(2310, 4, 2000, 300, 0, 100, cache_write_5m_tokens=200)
    assert read.finish_reason == "stop"
    errored = anthropic_result({"custom_id": "b", "result": {"type": "errored", "error": {
        "type": "error", "error": {"type": "api_error", "message": "Overloaded"}}}})
    assert (errored.outcome, errored.error) == ("errored", "Overloaded")
    assert openai_result({"custom_id": "c", "response": None, "error": {
        "code": "batch_expired", "message": "expired"}}).outcome == "expired"
    failed = openai_result({"custom_id": "d", "error": None, "response": {
        "status_code": 429, "body": {"error": {"message": "Slow down"}}}})
    assert (failed.outcome, failed.error) == ("errored", "HTTP 429: Slow down")


def test_the_batch_price_is_half_of_every_token_price() -> None:
    from opus_magic.cost.pricing import BATCH, usage_cost
    from opus_magic.records import Usage

    opus = default_catalog().get("claude-opus-4-6")
    # $5/M input, $25/M output, cache reads $0.50/M: (1000×5 + 2000×0.5 + 500×25) / 1M = $0.0185
    usage = Usage(input_tokens=3000, output_tokens=500, cache_read_tokens=2000)
    assert usage_cost(usage, opus) == Decimal("0.0185")
    assert usage_cost(usage, opus, BATCH) == Decimal("0.00925")
    assert usage_cost(usage, None, BATCH) is None


def test_without_an_endpoint_claude_batches_go_to_the_built_in_simulators_messages_batches() -> None:
    [row] = opus_magic.submit_batch(["Name three uses of a bloom filter."], model="opus",
                                    max_tokens=1000)
    assert row.api == "anthropic" and row.profile == SIMULATOR
    [run] = opus_magic.collect_batches()
    assert run.status == "ok" and run.text.startswith("1. **Skipping needless disk reads**")
    assert run.usage.output_tokens == 177 and run.batch_id == row.id


def test_the_submitting_process_watches_and_collects_when_the_batch_ends(endpoint) -> None:
    import queue
    import threading

    from opus_magic.core.batch import submit as batch
    from opus_magic.core.session import default_session

    endpoint.batches(delay_s=3600)
    [row] = opus_magic.submit_batch(["Say hello."], model="haiku", api="anthropic")
    seen: queue.Queue = queue.Queue()
    stop = threading.Event()
    watcher = batch.watch(default_session(), row.id, 0.01, seen.put, stop)
    assert seen.get(timeout=30).status == "in_progress"
    endpoint.batches(end_now=True)
    watcher.join(timeout=60)
    assert not watcher.is_alive() and len(runs_in_history()) == 1
    assert opus_magic.collect_batches() == []


def test_the_preflight_figures_put_the_batch_price_beside_the_interactive_one(endpoint) -> None:
    from opus_magic.core.batch import submit as batch
    from opus_magic.core.run.planner import build_request, plan_request
    from opus_magic.core.session import default_session

    session = default_session()
    settings = session.settings(model="opus", max_tokens=1000)
    plans = [plan_request(session, build_request(settings, p), settings) for p in ("Say hello.", "Hi")]
    interactive, batched = batch.worst_cases(plans)
    inputs = sum(plan.input_tokens for plan in plans)
    # Opus 5.5: $4/M input, $20/M output; two plans of 1,000 max_tokens each.
    assert interactive == (inputs * 4 + 2000 * 20) / Decimal(1_000_000)
    assert batched * 2 == interactive


def test_a_batch_whose_endpoint_moved_is_listed_with_what_to_do(endpoint, monkeypatch) -> None:
    endpoint.batches(delay_s=3600)
    [row] = opus_magic.submit_batch(["Say hello."], model="4o")
    monkeypatch.setenv("OPUS_MAGIC_BASE_URL", "http://127.0.0.1:9/v1")
    listed = cli("batches")
    assert listed.returncode == 0 and row.id in listed.stdout and "in progress" in listed.stdout
    assert f"went to {endpoint.base_url}" in listed.stdout and "point base_url" in listed.stdout
    refused = cli("batches", "collect", row.id)
    assert refused.returncode == 1 and "point base_url" in refused.stderr
    assert KEY not in listed.stdout + refused.stderr


def test_big_grids_are_split_at_the_apis_limit_on_requests_per_batch(endpoint, monkeypatch) -> None:
    from opus_magic.core.batch import split

    monkeypatch.setitem(split.LIMITS, "openai", split.BatchLimits(2, 200 * split.MB))
    rows = opus_magic.submit_batch(["Say hello."] * 5, model="4o")
    assert [sorted(row.cells) for row in rows] == [["p0", "p1"], ["p2", "p3"], ["p4"]]
    assert len({row.provider_batch_id for row in rows}) == 3
    assert len(opus_magic.collect_batches()) == 5


def test_a_live_status_line_says_state_age_and_counts() -> None:
    import datetime as dt

    from opus_magic.records import BatchRow
    from opus_magic.view.grid.batches import status_line

    row = BatchRow("b-1", "msgbatch_1", "anthropic", "u", "p", None,
                   "2026-11-30T10:00:00.000+00:00", "in_progress",
                   {"processing": 3, "succeeded": 2, "errored": 0})
    now = dt.datetime(2026, 11, 30, 11, 5, 30, tzinfo=dt.timezone.utc)
    assert status_line(row, now) == ("batch b-1 · in progress · submitted 1 h 05 min ago · "
                                     "3 processing · 2 succeeded")
    collected = dataclasses.replace(row, status="ended", collected_at="2026-11-30T10:12:00+00:00",
                                    counts={"succeeded": 5})
    assert status_line(collected, now) == ("batch b-1 · collected · 12 min after it was "
                                           "submitted · 5 succeeded")  # no age frozen at "ago"
    canceled = dataclasses.replace(collected, counts={"canceled": 120})
    assert status_line(canceled, now).startswith(
        "batch b-1 · canceled before any answer, nothing billed · 12 min after it was submitted")
