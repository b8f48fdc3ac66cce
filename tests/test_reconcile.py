"""`%opus reconcile` and `opus-magic reconcile` against the simulator's report endpoints over
real HTTP: an exact history reconciles to $0, each cause of a gap is named with its hand-worked
amount, pages are followed, a 429 waited out, fetched days kept, and the admin key shows nowhere."""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sqlite3
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from IPython.utils.capture import capture_output

import opus_magic
from opus_magic import sim
from opus_magic.cli.main import main
from opus_magic.core.session import default_session
from opus_magic.cost.pricing import format_usd
from opus_magic.records import RunRecord, Usage

ADMIN = "sk-ant-admin01-CANARYadm1nQz7Lp9Xw3Vb5Nc8Hd2Jf4WXYZ"
M = Decimal(1_000_000)


@pytest.fixture
def waits() -> list[float]:
    """Every retry wait a reconcile asks for, instead of sleeping."""
    found: list[float] = []
    default_session().sleep = found.append
    return found


@pytest.fixture
def native(ip, simulator, waits):
    """Claude models on the simulator's Messages API, as an Anthropic key sends them."""
    ip.run_line_magic("opus", "config api=anthropic")
    return ip


def reconcile(ip, line: str) -> tuple[str, str]:
    """What `%opus reconcile LINE` displayed: its text and its HTML."""
    with capture_output(stderr=False) as shown:
        ip.run_line_magic("opus", f"reconcile {line}")
    data = shown.outputs[0].data
    return data["text/plain"], data["text/html"]


def line_of(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(start))


def reports_asked(simulator, report: str = "usage_report") -> list[dict]:
    return [entry.body["query"] for entry in simulator.requests() if entry.api == report]


def test_a_history_that_matches_the_report_reconciles_to_zero(native, simulator) -> None:
    for model in ("opus", "sonnet", "haiku"):
        native.run_cell_magic("opus", f"-m {model} --max-tokens 60", "Explain prompt caching.")
    text, html = reconcile(native, "--since 1d --by model,user,key")
    spent = sum((run.cost for run in opus_magic.history(limit=None)), Decimal(0))
    for model in ("claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"):
        assert re.search(r"\$0\.00 +– +matches$", line_of(text, model))
    total = line_of(text, "total")
    assert total.count(format_usd(spent)) == 2 and total.endswith("matches")
    assert "UTC days, as the provider counts them" in text and "Why:" not in text
    assert re.search(r"  user \w+ .* 1 run$", text, re.MULTILINE)     # shares per user and key
    assert "  key apikey_sim_" in text
    assert "<svg" in html and html.count("<rect") == 6               # recorded and reported bars


def test_outside_runs_a_drifted_price_and_an_estimate_are_each_named(native, simulator) -> None:
    native.run_cell_magic("opus", "-m haiku --max-tokens 40", "Name a prime number.")
    native.run_cell_magic("opus", "-m sonnet --max-tokens 40", "Name a prime number.")
    sonnet = opus_magic.last_run()
    simulator.scenario("cut", after=12, times=1)
    native.run_cell_magic("opus", "-m opus --max-tokens 200", "Name three prime numbers.")
    opus = opus_magic.last_run()
    assert opus.status == "interrupted" and not opus.cost_exact
    simulator.reports(outside=[{"model": "claude-haiku-5-5", "input_tokens": 1000,
                                "output_tokens": 200}],
                      drift={"claude-sonnet-5-5": {"output": 12}})
    text, _ = reconcile(native, "--since 1d --by model")
    outside = Decimal(1000) * Decimal("0.10") / M + Decimal(200) * Decimal("0.50") / M
    drift = sonnet.usage.output_tokens * Decimal(12 - 10) / M
    estimate = (12 - opus.usage.output_tokens) * Decimal(20) / M     # 12 text deltas were sent
    for model, amount, why in (("claude-haiku-5-5", outside, "runs outside this history"),
                               ("claude-sonnet-5-5", drift, "catalog price"),
                               ("claude-opus-5-5", estimate, "estimated runs")):
        row = line_of(text, model)
        assert ("+" if amount > 0 else "") + format_usd(amount) in row and row.endswith(why)
    assert "1,000 more uncached input and 200 more output tokens" in text
    assert "apikey_sim_outside" in text
    assert ("claude-sonnet-5-5's output tokens are billed at $12/M where the catalog says "
            "$10/M" in text) and "token counts match" in text
    assert "1 run recorded only as estimates" in text
    assert f"{12 - opus.usage.output_tokens:,} fewer output tokens" in text or \
        f"{opus.usage.output_tokens - 12:,} fewer output tokens" in text
    total = line_of(text, "total")
    assert ("+" if outside + drift + estimate > 0 else "") + format_usd(
        outside + drift + estimate) in total


def test_reports_are_followed_across_pages(native, simulator) -> None:
    native.run_cell_magic("opus", "-m haiku --max-tokens 30", "Say hi.")
    remote = sim.control(simulator.base_url)            # as from another process
    with pytest.raises(ValueError, match="page_size"):
        remote.reports(page_size=0)
    remote.reports(page_size=1)
    text, _ = reconcile(native, "--since 2d --by model")
    assert line_of(text, "claude-haiku-5-5").endswith("matches")
    for report in ("usage_report", "cost_report"):
        asked = reports_asked(simulator, report)
        assert len(asked) == 3 and "page" not in asked[0]
        assert all(query["page"][0] for query in asked[1:]) and asked[1] != asked[2]
        assert {query["limit"][0] for query in asked} == {"3"}
    assert "6 report page(s) fetched now" in text


def test_a_rate_limited_report_is_asked_again_after_the_wait(native, simulator, waits,
                                                             capsys) -> None:
    native.run_cell_magic("opus", "-m haiku --max-tokens 30", "Say hi.")
    capsys.readouterr()
    simulator.scenario("429", retry_after=2, times=1)
    text, _ = reconcile(native, "--since 1d --by model")
    assert waits == [2.0] and "asking again in 2 s" in capsys.readouterr().err
    assert [e.status for e in simulator.requests() if e.api == "usage_report"] == [429, 200]
    assert line_of(text, "claude-haiku-5-5").endswith("matches")


def test_days_kept_in_the_history_reconcile_again_without_a_request(native, simulator,
                                                                    isolated_dirs) -> None:
    day = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)).date().isoformat()
    usage = Usage(1000, 200)
    store = default_session().store(default_session().settings())
    store.save(RunRecord(id="past-run", created_at=f"{day}T10:00:00.000+00:00",
                         model="claude-haiku-5-5", prompt="an old question",
                         response_model="claude-haiku-5-5", endpoint=simulator.base_url,
                         usage=usage, cost=Decimal("0.0002"), cost_exact=True,
                         cost_source="catalog"))
    simulator.reports(outside=[{"model": "claude-haiku-5-5", "input_tokens": 1000,
                                "output_tokens": 200, "at": f"{day}T10:00:00Z"}])
    first, _ = reconcile(native, f"--since {day} --until {day} --by day,model")
    assert line_of(first, day).endswith("matches") and "fetched now" in first
    asked = len(simulator.requests())
    later = default_session().clock() + 7200
    default_session().clock = lambda: later                         # two hours on
    again, _ = reconcile(native, f"--since {day} --until {day} --by day,model")
    assert len(simulator.requests()) == asked and "nothing fetched" in again
    assert line_of(again, day) == line_of(first, day)
    kept = sqlite3.connect(isolated_dirs / "history.sqlite").execute(
        "SELECT day, complete FROM report_days").fetchall()
    assert kept == [(day, 1)]                                        # final: the day had ended
    reconcile(native, f"--since {day} --until {day} --refresh")
    assert len(simulator.requests()) == asked + 2


def test_wrong_key_kinds_are_refused_in_one_line(native, simulator, capsys) -> None:
    for line, said in (("config admin_key=sk-ant-api03-ordinaryKEY1234", "ordinary API key"),
                       ("config admin_key=sk-proj-ordinaryKEY1234", "ordinary API key"),
                       ("config api_key=sk-ant-admin01-adminKEY12345", "Anthropic admin key"),
                       ("config api_key=sk-admin-adminKEY12345", "OpenAI admin key")):
        native.run_line_magic("opus", line)
        err = capsys.readouterr().err
        assert said in err and err.count("\n") == 1 and "KEY1234" not in err
    assert default_session().settings().admin_key is None
    native.run_line_magic("opus", "config base_url= api_key=sk-ant-api03-ordinaryKEY1234")
    capsys.readouterr()
    native.run_line_magic("opus", "reconcile")
    err = capsys.readouterr().err
    assert "admin key" in err and "admin_key_env" in err and err.count("\n") == 1
    assert not reports_asked(simulator)
    ordinary = urllib.request.Request(
        simulator.base_url.replace("/v1", "") + "/v1/organizations/usage_report/messages"
        "?starting_at=2026-12-01T00:00:00Z",
        headers={"x-api-key": "sk-ant-api03-ordinaryKEY1234", "anthropic-version": "2023-06-01"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(ordinary, timeout=10)
    assert refused.value.code == 401 and "admin API key" in refused.value.read().decode()


def test_the_admin_key_is_asked_for_hidden_or_read_from_its_variable(native, simulator, capsys,
                                                                       monkeypatch) -> None:
    prompts: list[str] = []
    monkeypatch.setattr("getpass.getpass", lambda prompt="": prompts.append(prompt) or ADMIN)
    native.run_cell("%opus config admin_key", store_history=True)
    out, err = capsys.readouterr()
    assert prompts == ["admin_key (hidden; never shown or stored): "] and err == ""
    assert re.search(r"^admin_key +\(not set\) → sk-…WXYZ$", out, re.MULTILINE) and ADMIN not in out
    assert default_session().settings().admin_key.reveal() == ADMIN
    assert not any(ADMIN in line for line in native.history_manager.input_hist_raw)
    monkeypatch.setenv("CLASS_ADMIN_KEY", "sk-ant-api03-ordinaryKEY1234")
    native.run_line_magic("opus", "config admin_key_env=CLASS_ADMIN_KEY")
    err = capsys.readouterr().err
    assert "ordinary API key" in err and "$CLASS_ADMIN_KEY" in err and "KEY1234" not in err
    assert default_session().settings().admin_key.reveal() == ADMIN   # nothing was changed


def test_the_admin_key_is_found_nowhere(native, simulator, monkeypatch, capsys, caplog,
                                        isolated_dirs) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("OPUS_MAGIC_ADMIN_KEY", ADMIN)
    native.run_cell_magic("opus", "-m haiku --max-tokens 30", "Say hi.")
    simulator.scenario("401", times=1)
    native.run_line_magic("opus", "reconcile --since 1d")
    refused = capsys.readouterr().err
    assert "HTTP 401" in refused and "admin key" in refused
    text, html = reconcile(native, "--since 1d --by model,key")
    native.run_line_magic("opus", "config")
    print(repr(default_session().settings()))
    out, err = capsys.readouterr()
    assert "…WXYZ" in out and line_of(text, "claude-haiku-5-5").endswith("matches")
    pieces = (ADMIN, ADMIN[15:-4], ADMIN[-12:-4])
    files = [isolated_dirs / "history.sqlite", Path(f"{isolated_dirs}/history.sqlite-wal")]
    stored = b"".join(f.read_bytes() for f in files if f.exists())
    sim_log = json.dumps([entry.__dict__ for entry in simulator.requests()], default=str)
    for where in (out, err, refused, text, html, caplog.text, sim_log, stored.decode("latin-1")):
        assert not any(piece in where for piece in pieces)
    assert caplog.records                                           # logging did run, at DEBUG


def test_openai_reports_reconcile_openai_models(ip, simulator, waits) -> None:
    ip.run_cell_magic("opus", "-m 4o-mini --max-tokens 40", "Name a prime number.")
    simulator.reports(outside=[{"model": "gpt-4o-mini", "input_tokens": 1000,
                                "output_tokens": 200}])
    text, _ = reconcile(ip, "--since 1d --by model --provider openai")
    assert text.startswith("OpenAI's usage and cost reports")
    outside = Decimal(1000) * Decimal("0.15") / M + Decimal(200) * Decimal("0.60") / M
    row = line_of(text, "gpt-4o-mini")
    assert "+" + format_usd(outside) in row and row.endswith("runs outside this history")
    assert reports_asked(simulator, "openai_usage") and reports_asked(simulator, "openai_costs")


def test_the_cli_reconciles_by_model_and_day(native, simulator, capsys) -> None:
    native.run_cell_magic("opus", "-m haiku --max-tokens 30", "Say hi.")
    today = dt.datetime.now(dt.timezone.utc).date()
    since = (today - dt.timedelta(days=2)).isoformat()
    assert main(["reconcile", "--since", since, "--by", "model,day"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^model +day +recorded in / out", out, re.MULTILINE)
    assert line_of(out, "total").endswith("matches")
    assert main(["reconcile", "--by", "colour"]) == 1
    assert "--by colour: use a comma list of day, model" in capsys.readouterr().err
