"""The same history behaviour on SQLite and on PostgreSQL: filters, search, get, compare, stats,
calibration, export, who ran what, and money summed exactly."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from IPython.utils.capture import capture_output
from test_history import ago, four_runs, priced_runs, run

import opus_magic
from opus_magic.core.history import totals
from opus_magic.core.session import default_session
from opus_magic.cost import calibration
from opus_magic.cost.pricing import format_usd
from opus_magic.errors import UsageError
from opus_magic.records import RunRecord, Usage
from opus_magic.store.base import HistoryStore
from opus_magic.store.queries import calibration_counts, runs_of_comparison


@pytest.fixture(params=["sqlite", "postgresql"])
def history(request: pytest.FixtureRequest, isolated_dirs: Path,
            monkeypatch: pytest.MonkeyPatch) -> HistoryStore:
    """The session's history on each backend (the magic, the CLI and the Python API use it)."""
    if request.param == "postgresql":
        monkeypatch.setenv("OPUS_MAGIC_HISTORY_URL", request.getfixturevalue("pg_url"))
    session = default_session()
    return session.store(session.settings())


def cli(*args: str) -> str:
    return subprocess.run([sys.executable, "-m", "opus_magic.cli.main", *args], capture_output=True,
                          text=True, env=dict(os.environ), check=True).stdout


@pytest.fixture
def four(history: HistoryStore) -> HistoryStore:
    for record in four_runs():
        history.save(record)
    return history


@pytest.mark.parametrize("filters, expected", [
    ({}, ["4", "3", "2", "1"]),
    ({"limit": 2}, ["4", "3"]),
    ({"model": "opus-4.6"}, ["3", "1"]),
    ({"model": "claude-haiku-4-5"}, ["4"]),
    ({"tag": "db"}, ["3", "1"]),
    ({"search": "cache"}, ["3"]),
    ({"search": "prime three"}, ["2"]),
    ({"search": "nothing-like-this"}, []),
    ({"since": "1d"}, ["4", "3"]),
    ({"tag": "db", "since": "2d"}, ["3"]),
])
def test_each_filter(four, filters, expected) -> None:
    assert [r.id[-1] for r in opus_magic.history(**{"limit": 20, **filters})] == expected


def test_search_follows_updates_and_get_takes_a_prefix(four) -> None:
    four.save(four.get("aaaa00000002").replace(text="Eleven and thirteen."))
    assert [r.id for r in opus_magic.history(search="eleven")] == ["aaaa00000002"]
    assert opus_magic.history(search="five") == []
    assert len(opus_magic.history(limit=None)) == 4
    with pytest.raises(UsageError, match="start of several run ids"):  # not unique
        four.get("aaaa0000000")
    assert four.get("aaaa00000003").text.startswith("Cache reads")


def test_a_comparison_comes_back_in_the_order_it_ran(history, ip, capsys) -> None:
    for index, model in enumerate(("opus", "gpt-4o", "haiku")):
        history.save(run(f"cmp{index}", f"2026-11-2{index}T10:00:00.000+00:00", model=model,
                         text=f"answer number {index}").replace(comparison_id="c-42"))
    assert [r.id for r in runs_of_comparison(history, "c-42")] == ["cmp0", "cmp1", "cmp2"]
    ip.run_line_magic("opus", "compare c-42")
    out = capsys.readouterr().out
    assert "opus · cmp0" in out and "haiku · cmp2" in out and "{+1+}" in out


def test_stats_by_hand(history) -> None:
    for record in priced_runs()[:3]:
        history.save(record)
    opus, gpt, total = totals.compute(history, "model")
    assert (opus.key, opus.runs, opus.cost, opus.output_tokens) == ("claude-opus-4-6", 2,
                                                                    Decimal("0.0241"), 160)
    assert opus.cache_saved == Decimal("0.036") - Decimal("0.001875")
    assert opus.mean_ttft_s == pytest.approx(0.4)
    assert opus.tokens_per_s == pytest.approx((100 / 1.0 + 60 / 0.5) / 2)
    assert (gpt.runs, gpt.unknown_cost_runs, gpt.estimated_runs, gpt.cost) == (1, 1, 0, 0)
    assert (total.runs, total.cost) == (3, Decimal("0.0241"))
    assert total.cache_hit_rate == pytest.approx(8_500 / 13_000)
    assert totals.compute(history, "model", since="150m")[-1].runs == 1


def test_stats_price_one_hour_cache_writes_at_their_own_rate(history) -> None:
    # opus-4-6: input $5/M, 5-minute writes $6.25/M, 1-hour writes $10/M, reads $0.50/M
    history.save(run("h1", ago(hours=2), model="claude-opus-4-6", cost="0.03",
                     usage=Usage(5_000, 10, 0, 4_000, cache_write_1h_tokens=4_000)))
    history.save(run("h2", ago(hours=1), model="claude-opus-4-6", cost="0.005",
                     usage=Usage(5_000, 10, 4_000, 0)))
    [opus, _] = totals.compute(history, "model")
    written = Decimal(4_000) * (10 - 5) / 10**6            # the 1-hour premium over plain input
    read = Decimal(4_000) * (Decimal(5) - Decimal("0.50")) / 10**6
    assert opus.cache_saved == read - written == Decimal("-0.002")


@pytest.mark.parametrize("runs", [2, 3])
def test_calibration_needs_three_runs_with_usage(history, runs) -> None:
    endpoint = "http://127.0.0.1:9/v1"
    for index in range(runs):
        history.save(RunRecord(id=f"k{index}", created_at=ago(minutes=10 - index), model="gpt-4o",
                               prompt="p", endpoint=endpoint, usage=Usage(110, 22),
                               tiktoken_input=100, tiktoken_output=20))
    history.save(RunRecord(id="estimated", created_at=ago(minutes=1), model="gpt-4o", prompt="p",
                           endpoint=endpoint, usage=Usage(5000, 5000)))   # no server usage
    learned = calibration.learn(*calibration_counts(history, ["gpt-4o", "4o"], endpoint,
                                                    calibration.WINDOW))
    if runs == 2:
        assert learned is None
    else:
        assert learned is not None and learned.runs == 3 and learned.ratio == pytest.approx(1.1)


def test_money_is_summed_exactly(history, ip) -> None:
    for index in range(100):
        history.save(run(f"m{index:03d}", ago(minutes=200 - index), cost="0.0031"))
    assert totals.compute(history)[-1].cost == Decimal("0.31")
    shown = format_usd(Decimal("0.31"))
    with capture_output() as out:
        ip.run_line_magic("opus", "stats")
    assert f"{shown} " in out.outputs[0].data["text/plain"]
    assert shown in cli("stats")
    rows = list(csv.DictReader(io.StringIO(cli("history", "-n", "1000", "--format", "csv"))))
    assert len(rows) == 100 and sum(Decimal(r["cost"]) for r in rows) == Decimal("0.31")


def test_who_ran_it_filters_and_groups(history, ip, capsys) -> None:
    session = default_session()
    for index, (user, project, cost) in enumerate([("ann", "lab1", "0.01"), ("ann", "lab2", "0.02"),
                                                   ("bob", "lab1", "0.04")]):
        history.save(run(f"u{index}", ago(minutes=30 - index), cost=cost).replace(
            user=user, project=project))
    session.configure(user="cleo", project="lab3")
    session.store(session.settings()).save(run("u3", ago(minutes=1), cost="0.08"))
    assert [r.id for r in opus_magic.history(user="ann")] == ["u1", "u0"]
    assert [r.id for r in opus_magic.history(project="lab1")] == ["u2", "u0"]
    assert opus_magic.history(user="cleo")[0].project == "lab3"
    by_user = {g.key: g for g in totals.compute(history, "user")}
    assert {k: g.cost for k, g in by_user.items()} == {
        "cleo": Decimal("0.08"), "bob": Decimal("0.04"), "ann": Decimal("0.03"),
        "all runs": Decimal("0.15")}
    assert [g.key for g in totals.compute(history, "project")][:3] == ["lab3", "lab1", "lab2"]
    ip.run_line_magic("opus", "history --user bob")
    out = capsys.readouterr().out
    assert "u2" in out and "u0" not in out
    shell = cli("stats", "--by", "user")
    assert shell.index("cleo") < shell.index("bob") < shell.index("ann") and "$0.1500" in shell
    assert "u1" in cli("history", "--user", "ann", "--project", "lab2")


def test_a_cell_records_user_project_and_the_simulator(history, ip) -> None:
    ip.run_cell_magic("opus", "--tag who", "Say hi")
    record = opus_magic.history(tag="who")[0]
    assert record.user == os.environ.get("USER", record.user) and record.user
    assert record.project == Path.cwd().name and record.simulator is True


def test_the_backend_is_the_one_asked_for(history, request) -> None:
    expected = "postgresql" if "postgresql" in request.node.name else "sqlite"
    assert history.dialect == expected and type(history).__name__ == (
        "PgStore" if expected == "postgresql" else "Store")
