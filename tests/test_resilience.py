"""Every fault the simulator can stage, through `%%opus` over real HTTP: what the user sees, what
history holds, and how long retries waited (the session's sleep is injected unless said otherwise)."""
from __future__ import annotations

import email.utils
import math
import os
import signal
import threading
import time
from decimal import Decimal

import pytest

import opus_magic
from opus_magic.core.run.engine import Engine
from opus_magic.core.run.planner import build_request, plan_request
from opus_magic.core.session import default_session
from opus_magic.cost.catalog import default_catalog
from opus_magic.cost.pricing import format_usd
from opus_magic.errors import RequestError, StoreError
from opus_magic.secret import Secret
from opus_magic.sim.content.text import answer_chunks
from opus_magic.wire.endpoints import Endpoint
from opus_magic.wire.explain import Hold, auth_hint, retry_after_s
from opus_magic.wire.retry import Breaker, Retrier, RetryPolicy, hms

PROMPT = "Explain retries in two sentences."


class FakeClock:
    """Wall-clock seconds that move only when told."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def waits(ip) -> list[float]:
    """The seconds each retry waited; nothing really sleeps."""
    recorded: list[float] = []
    default_session().sleep = recorded.append
    return recorded


def run(ip, capsys, line: str = "", prompt: str = PROMPT) -> tuple[str, str, object]:
    ip.run_cell_magic("opus", line, prompt)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return out, err, opus_magic.last_run()


def problems(out: str) -> list[str]:
    """The explanation lines the text view marks with `!`."""
    return [line[2:] for line in out.splitlines() if line.startswith("! ")]


def stored(run_id: str) -> object:
    return next(r for r in opus_magic.history(limit=None) if r.id == run_id)


# --- 4xx: explained once, never retried, nothing billed --------------------------------------

def test_401_without_a_key_says_which_variable_to_set(ip, simulator, waits, capsys, monkeypatch) -> None:
    monkeypatch.delenv("OPUS_MAGIC_API_KEY")
    simulator.scenario("401")
    out, err, record = run(ip, capsys)
    assert problems(out)[0].startswith(f"HTTP 401: No API key is set for {simulator.base_url}: "
                                       f"set OPUS_MAGIC_API_KEY")
    assert err == "" and waits == [] and len(simulator.requests()) == 1
    history = stored(record.id)
    assert history.status == "error" and history.error.startswith("HTTP 401")
    assert history.cost == 0 and history.cost_exact and history.cost_source == "not billed"
    assert history.usage.input_tokens == 0 and "· not billed ·" in out.splitlines()[-1]


def test_401_with_a_raw_vendor_key_on_a_proxy(ip, simulator, waits, capsys, monkeypatch) -> None:
    monkeypatch.setenv("OPUS_MAGIC_API_KEY", "sk-ant-api03-" + "x" * 40 + "WXYZ")
    simulator.scenario("401")
    out, _, record = run(ip, capsys)
    line = problems(out)[0]
    assert "refused a raw Anthropic key (sk-…WXYZ)" in line and "the proxy gave you" in line
    assert "x" * 8 not in out + (record.error or "")


@pytest.mark.parametrize("base_url, key, expected", [
    ("https://api.anthropic.com/v1/", "sk-or-v1-" + "a" * 40,
     "api.anthropic.com takes Anthropic keys (sk-ant-…), and the key sk-…aaaa looks like an "
     "OpenRouter key (sk-or-…)"),
    ("https://openrouter.ai/api/v1", "sk-ant-api03-" + "b" * 40, "looks like an Anthropic key"),
    ("https://api.openai.com/v1", "sk-ant-api03-" + "c" * 40, "takes OpenAI keys (sk-…)"),
    ("https://api.anthropic.com/v1/", "lp-team-" + "d" * 30,
     "does not look like one (a proxy's own key only works at that proxy)"),
    ("https://litellm.internal/v1", "sk-or-v1-" + "e" * 40, "refused a raw OpenRouter key"),
    ("https://api.anthropic.com/v1/", "sk-ant-api03-" + "f" * 40, "may not be active yet"),
    ("https://litellm.internal/v1", "sk-" + "g" * 30, "may not be active yet"),
])
def test_401_explains_key_formats(base_url: str, key: str, expected: str) -> None:
    hint = auth_hint(Endpoint(base_url, Secret(key)))
    assert expected in hint
    assert key not in hint and key[-12:-4] not in hint


def test_403_is_explained_and_not_retried(ip, simulator, waits, capsys) -> None:
    simulator.scenario("403")
    out, _, record = run(ip, capsys)
    assert problems(out)[0].startswith("HTTP 403: The key has no permission")
    assert record.status == "error" and waits == [] and len(simulator.requests()) == 1


def test_402_balance_shows_the_hold_this_request_needed(ip, simulator, waits, capsys) -> None:
    simulator.scenario("402")
    out, _, record = run(ip, capsys, "--max-tokens 2000")
    estimate = record.input_estimate
    hold = (Decimal(estimate) * 4 + Decimal(2000) * 20) / 10**6   # Opus 5.5: $4/$20
    line = problems(out)[0]
    assert line.startswith("HTTP 402: The balance cannot cover this request: add credit or lower "
                           "--max-tokens.")
    assert (f"needed a hold of {format_usd(hold)} ({estimate:,} input + 2,000 max_tokens at "
            f"claude-opus-5-5's prices)") in line
    assert waits == [] and len(simulator.requests()) == 1 and record.cost == 0


def test_402_weight_exceeds_budget_gives_the_largest_max_tokens_that_fits(ip, simulator, waits,
                                                                          capsys) -> None:
    simulator.scenario("402_hold", reason="weight_exceeds_budget", limit_usd=0.01)
    out, _, record = run(ip, capsys, "--max-tokens 1000")
    estimate = record.input_estimate
    largest = math.floor((Decimal("0.01") - Decimal(estimate) * 4 / 10**6) * 10**6 / 20)
    line = problems(out)[0]
    assert "This one request is too big for the budget" in line
    assert (f"The largest max_tokens within the $0.0100 limit is {largest:,}: run again with "
            f"--max-tokens {largest}.") in line
    info = default_catalog().get("claude-opus-5-5")
    assert Hold("claude-opus-5-5", estimate, largest, info).cost <= Decimal("0.01")
    assert Hold("claude-opus-5-5", estimate, largest + 1, info).cost > Decimal("0.01")
    assert waits == [] and record.status == "error"


def test_402_in_flight_budget_is_retried_after_retry_after(ip, simulator, waits, capsys) -> None:
    simulator.scenario("402_hold", reason="in_flight_budget_exhausted", retry_after=2, times=1)
    out, _, record = run(ip, capsys)
    assert waits == [2.0] and record.status == "ok"
    assert "… HTTP 402 in-flight budget held (attempt 1 of 5): retrying in 2.0 s" in out
    assert [r.status for r in simulator.requests()] == [402, 200]


def test_insufficient_quota_is_not_retried(ip, simulator, waits, capsys) -> None:
    simulator.scenario("insufficient_quota")
    out, _, record = run(ip, capsys)
    assert "quota is used up; retrying cannot help" in problems(out)[0]
    assert waits == [] and len(simulator.requests()) == 1 and record.status == "error"


# --- 429 and 5xx: retried, bounded, with a visible countdown ----------------------------------

def test_429_retry_after_seconds_is_honoured(ip, simulator, waits, capsys) -> None:
    simulator.scenario("429", retry_after=3, times=2)
    out, _, record = run(ip, capsys)
    assert waits == [3.0, 3.0] and record.status == "ok"
    assert out.count("HTTP 429 rate limited") == 4 and "retrying in 3.0 s" in out
    assert stored(record.id).status == "ok" and len(simulator.requests()) == 3
    # the retries stay in the record and in the run's closing lines, not only on screen
    assert stored(record.id).retries == [
        f"HTTP 429 rate limited (attempt {n} of 5): waited 3.0 s and retried." for n in (1, 2)]
    assert out.splitlines()[-2] == "! HTTP 429 rate limited (attempt 2 of 5): waited 3.0 s and retried."


def test_429_retry_after_ms_wins_over_backoff(ip, simulator, waits, capsys) -> None:
    simulator.scenario("429", retry_after_ms=1500, times=1)
    _, _, record = run(ip, capsys)
    assert waits == [1.5] and record.status == "ok"


def test_429_beyond_the_cap_fails_at_once_stating_the_wait(ip, simulator, waits, capsys) -> None:
    simulator.scenario("429", retry_after=300)
    before = time.time()
    out, _, record = run(ip, capsys)
    line = problems(out)[0]
    assert "The endpoint asks to wait 300 s, longer than retry_cap_s (120 s): run again after" in line
    stated = line.rsplit("run again after ", 1)[1].rstrip(".")
    assert stated in {hms(before + 300 + s) for s in range(0, 5)}
    assert waits == [] and len(simulator.requests()) == 1 and record.status == "error"


def test_429_without_retry_after_backs_off_exponentially_and_gives_up(ip, simulator, waits,
                                                                      capsys) -> None:
    ip.run_line_magic("opus", "config max_retries=3")
    simulator.scenario("429")
    out, _, record = run(ip, capsys)
    assert len(waits) == 3 and len(simulator.requests()) == 4
    for n, wait in enumerate(waits):
        assert 0.5 * 2 ** n * 0.75 <= wait <= 0.5 * 2 ** n      # jitter takes off up to 25 %
    assert problems(out)[0].endswith("Tried 4 times; giving up.")
    assert stored(record.id).error.startswith("HTTP 429: Rate limited")


@pytest.mark.parametrize("scenario, status", [("500", 500), ("529", 529)])
def test_5xx_are_retried_a_bounded_number_of_times(ip, simulator, waits, capsys, scenario,
                                                   status) -> None:
    ip.run_line_magic("opus", "config max_retries=2")
    simulator.scenario(scenario)
    out, _, record = run(ip, capsys)
    assert len(waits) == 2 and len(simulator.requests()) == 3
    assert problems(out)[0].startswith(f"HTTP {status}: ")
    assert "run again shortly" in problems(out)[0] and record.status == "error"


def test_failures_then_success(ip, simulator, waits, capsys) -> None:
    simulator.scenario("fail_then_ok", status=503, failures=2)
    out, _, record = run(ip, capsys)
    assert record.status == "ok" and len(waits) == 2 and "HTTP 503 server error" in out
    assert [r.status for r in simulator.requests()] == [503, 503, 200]


def test_a_real_retry_after_of_one_second_end_to_end(ip, simulator, capsys) -> None:
    simulator.scenario("429", retry_after=1, times=1)
    out, _, record = run(ip, capsys)
    first, second = simulator.requests()
    assert record.status == "ok" and "retrying in 1.0 s" in out
    assert second.started_at - first.started_at >= 1.0
    assert record.duration_s >= 1.0


# --- timeouts ---------------------------------------------------------------------------------

def test_slow_first_byte_times_out_then_the_retry_succeeds(ip, simulator, waits, capsys) -> None:
    ip.run_line_magic("opus", "config timeout_s=0.3")
    simulator.scenario("slow_first_byte", delay=2, times=1)
    out, _, record = run(ip, capsys)
    assert record.status == "ok" and len(waits) == 1 and "timed out (attempt 1 of 5)" in out


def test_a_timeout_that_persists_is_an_error_with_the_next_step(ip, simulator, waits, capsys) -> None:
    ip.run_line_magic("opus", "config timeout_s=0.3 max_retries=0")
    simulator.scenario("slow_first_byte", delay=2)
    out, _, record = run(ip, capsys)
    assert problems(out)[0].startswith(f"No answer from {simulator.base_url} within 0.3 s")
    assert "raise timeout_s" in problems(out)[0]
    assert record.status == "error" and not record.cost_exact     # it may have been billed


# --- the circuit breaker ----------------------------------------------------------------------

def test_breaker_opens_fails_fast_then_probes_after_the_cool_down(ip, simulator, waits, capsys) -> None:
    clock = FakeClock()
    default_session().clock = clock
    ip.run_line_magic("opus", "config max_retries=0 breaker_threshold=3 breaker_cooldown_s=30")
    simulator.scenario("500")
    began = clock.now
    for _ in range(3):
        run(ip, capsys)
        clock.now += 1
    out, _, record = run(ip, capsys)
    assert len(simulator.requests()) == 3                      # the fourth was never sent
    assert problems(out)[0] == (
        f"{simulator.base_url} failing since {hms(began)}, next try at {hms(began + 2 + 30)} "
        f"(3 failures in a row, last: HTTP 500 server error). Nothing more is sent before then: "
        f"run again after "
        f"{hms(began + 2 + 30)}.")
    assert record.status == "error" and record.cost == 0

    clock.now = began + 2 + 30                                 # cool-down over: one probe
    run(ip, capsys)
    assert len(simulator.requests()) == 4
    out, _, _ = run(ip, capsys)                                # the probe failed: open again
    assert len(simulator.requests()) == 4 and "next try at " + hms(clock.now + 30) in out

    simulator.scenario("normal")
    clock.now += 30
    _, _, record = run(ip, capsys)
    assert record.status == "ok"
    simulator.scenario("500", times=1)
    run(ip, capsys)
    _, _, record = run(ip, capsys)                             # closed again: one failure is not enough
    assert record.status == "ok" and len(simulator.requests()) == 7


@pytest.mark.parametrize("headers, seconds", [
    ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
    ({"Retry-After": "7"}, 7.0),
    ({"Retry-After": "Sun, 06 Nov 1994 08:49:37 GMT"}, 30.0),   # an HTTP date, 30 s from "now"
    ({"Retry-After": "Sun, 06 Nov 1994 08:48:00 GMT"}, 0.0),    # already past
    ({"Retry-After": "soon"}, None),
    ({}, None),
])
def test_retry_after_headers(headers: dict[str, str], seconds: float | None) -> None:
    now = email.utils.parsedate_to_datetime("Sun, 06 Nov 1994 08:49:07 GMT").timestamp()
    assert retry_after_s(headers, now=lambda: now) == seconds


def test_breaker_opening_mid_retry_stops_the_retries() -> None:
    """Another run to the same endpoint fails meanwhile: the breaker opens, no more attempts."""
    clock = FakeClock()
    breaker = Breaker("http://x/v1", threshold=2, cooldown_s=10, clock=clock)
    waited: list[float] = []
    retrier = Retrier(RetryPolicy(max_retries=5), breaker, sleep=waited.append, random=lambda: 0.0,
                      clock=clock)
    attempts = []

    def send() -> None:
        attempts.append(1)
        if len(attempts) == 2:
            breaker.failed("HTTP 500 server error")          # the other run's failure
        raise RequestError("HTTP 500: down.", status=500, retryable=True)

    with pytest.raises(RequestError, match=r"failing since .*\(2 failures in a row"):
        retrier.call(send, lambda seconds, reason: None, threading.Event())
    assert len(attempts) == 2 and waited == [0.5] and breaker.state == "open"
    clock.now += 10
    assert breaker.state == "half-open"
    breaker.admit()
    with pytest.raises(RequestError, match="A trial request is under way"):
        breaker.admit()                                        # one probe at a time
    breaker.release()
    breaker.admit()
    breaker.succeeded()
    assert breaker.state == "closed" and breaker.failures == 0


def test_refusals_do_not_trip_the_breaker() -> None:
    breaker = Breaker("http://x/v1", threshold=1)
    retrier = Retrier(RetryPolicy(), breaker, sleep=lambda s: None)

    def send() -> None:
        raise RequestError("HTTP 401: no.", status=401)

    for _ in range(3):
        with pytest.raises(RequestError, match="HTTP 401"):
            retrier.call(send, lambda seconds, reason: None, threading.Event())
    assert breaker.state == "closed"


def test_stop_during_a_retry_wait_ends_as_stopped(simulator) -> None:
    import io

    from opus_magic.view.run.text import TextView

    os.environ["OPUS_MAGIC_BASE_URL"] = simulator.base_url
    try:
        session = default_session()
        cancel = threading.Event()
        session.sleep = lambda seconds: cancel.set()          # the user presses Stop while waiting
        simulator.scenario("429", retry_after=5)
        settings = session.settings()
        plan = plan_request(session, build_request(settings, PROMPT), settings)
        record = session.execute(plan, TextView(out=io.StringIO()), cancel)
    finally:
        del os.environ["OPUS_MAGIC_BASE_URL"]
    assert record.status == "stopped" and record.error is None and len(simulator.requests()) == 1


# --- streams that break -----------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["close", "reset"])
def test_cut_stream_keeps_the_chunks_that_arrived(ip, simulator, waits, capsys, mode) -> None:
    simulator.scenario("cut", after=7, mode=mode, times=1)
    out, _, record = run(ip, capsys)
    sent = simulator.requests()[-1]
    expected = "".join(answer_chunks(sent.messages, model=sent.model)[:7])
    assert sent.chunks_sent == 7 and record.text == expected and expected in out
    history = stored(record.id)
    assert history.status == "interrupted" and history.text == expected
    assert history.cost_source == "estimate" and not history.cost_exact and history.cost > 0
    assert problems(out)[0].endswith("the partial answer is kept and its cost is estimated; run "
                                     "again for a complete answer.")
    assert "estimated" in out.splitlines()[-1]
    cause = ("The stream ended without a finish reason" if mode == "close"
             else "The connection broke mid-answer (")
    assert history.error.startswith(cause) and waits == []    # streams are never re-sent


def test_mid_stream_error_chunk_is_an_interruption_with_the_error(ip, simulator, capsys) -> None:
    simulator.scenario("error_chunk", after=4)
    out, _, record = run(ip, capsys)
    sent = simulator.requests()[-1]
    expected = "".join(answer_chunks(sent.messages, model=sent.model)[:4])
    history = stored(record.id)
    assert history.status == "interrupted" and history.text == expected
    assert history.error.startswith("The endpoint reported an error mid-stream (Upstream provider "
                                    "error), after ")
    assert history.error in out and not history.cost_exact


def test_kernel_interrupt_mid_stream_stops_and_closes_the_connection(ip, simulator, capsys) -> None:
    simulator.configure(tokens_per_second=40, answer_tokens=400)

    def interrupt_after_a_few_chunks() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            log = simulator.requests()
            if log and log[-1].chunks_sent >= 3:
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=interrupt_after_a_few_chunks, daemon=True)
    watcher.start()
    out, _, record = run(ip, capsys)
    watcher.join()
    assert record.status == "stopped" and record.text and len(record.text) < 400
    assert "Stopped: the text that arrived is kept; the cost is estimated." in problems(out)
    history = stored(record.id)
    assert history.status == "stopped" and history.text == record.text
    assert history.cost_source == "estimate" and not history.cost_exact
    deadline = time.monotonic() + 5
    while not simulator.requests()[-1].client_disconnected and time.monotonic() < deadline:
        time.sleep(0.02)
    assert simulator.requests()[-1].client_disconnected
    assert not simulator.requests()[-1].completed


# --- finish reasons and usage -----------------------------------------------------------------

def test_length_by_your_max_tokens_names_both_limits(ip, simulator, capsys) -> None:
    out, _, record = run(ip, capsys, "--max-tokens 9")
    assert record.finish_reason == "length"
    assert ("Cut at 9 tokens by your max_tokens (9): raise --max-tokens for a complete answer "
            "(the model allows up to 128,000).") in problems(out)


def test_length_below_max_tokens_is_the_endpoints_limit(ip, simulator, capsys) -> None:
    simulator.scenario("length", after=12)
    out, _, record = run(ip, capsys)
    assert record.status == "ok" and record.finish_reason == "length"
    assert ("Cut at 12 tokens, below your max_tokens (1,024): the endpoint applies its own output "
            "limit; ask for a shorter answer or split the task.") in problems(out)


def test_length_at_the_models_ceiling(ip, simulator, capsys) -> None:
    simulator.scenario("length", after=5)
    out, _, _ = run(ip, capsys, "-m claude-opus-4-1 --max-tokens 50000")
    assert "Cut at 5 tokens: the model's own output ceiling (32,000)." in "\n".join(problems(out))


def test_content_filter_is_explained(ip, simulator, capsys) -> None:
    simulator.scenario("content_filter", after=6)
    out, _, record = run(ip, capsys)
    assert record.finish_reason == "content_filter" and len(record.text) > 0
    assert any(line.startswith("The provider's content filter stopped the answer")
               for line in problems(out))


def test_no_usage_chunk_leaves_an_estimated_cost(ip, simulator, capsys) -> None:
    simulator.scenario("no_usage")
    out, _, record = run(ip, capsys)
    assert record.status == "ok" and not record.cost_exact and record.cost_source == "estimate"
    assert "estimated" in out.splitlines()[-1]


# --- bad input and a failing history ----------------------------------------------------------

def test_bad_input_is_one_line_and_sends_nothing(ip, simulator, capsys) -> None:
    """The issue's list beyond test_magic's cases (unknown flag, empty cell, unknown profile)."""
    ip.user_ns["not_tools"] = {"name": "lookup"}
    ip.user_ns["bad_tools"] = [{"type": "function", "function": {"name": "has space"}}]
    for line, expected in [("--max-tokens 1.5", "Setting 'max_tokens' cannot be '1.5'"),
                           ("--max-tokens 0", "Setting 'max_tokens' cannot be '0'"),
                           ("-t 2.5", "Temperature 2.5 is out of range"),
                           ("-t warm", "Setting 'temperature' cannot be 'warm'"),
                           ("--tools not_tools", "--tools not_tools: tool 1 has type None"),
                           ("--tools bad_tools", "--tools bad_tools: tool 1 has function.name"),
                           ("--tools undefined_name", "no variable 'undefined_name'")]:
        ip.run_cell_magic("opus", line, "hi")
        out, err = capsys.readouterr()
        assert err.startswith("opus: ") and expected in err, (line, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in out + err
    assert simulator.requests() == []


def test_a_history_that_cannot_be_written_keeps_the_run(simulator, monkeypatch) -> None:
    class BrokenStore:
        def save(self, record: object) -> None:
            raise StoreError("Could not record the run in /x/history.sqlite (disk I/O error).")

    import io

    from opus_magic.view.run.text import TextView

    monkeypatch.setenv("OPUS_MAGIC_BASE_URL", simulator.base_url)
    session = default_session()
    settings = session.settings()
    plan = plan_request(session, build_request(settings, PROMPT), settings)
    out = io.StringIO()
    record = Engine(BrokenStore()).execute(plan, TextView(out=out))   # type: ignore[arg-type]
    assert record.status == "ok" and record.text
    assert record.not_recorded.startswith("Could not record the run in /x/history.sqlite")
    assert record.text in out.getvalue()
    assert "! Not recorded: Could not record the run in /x/history.sqlite" in out.getvalue()
