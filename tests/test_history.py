"""History filters, full-text search, stats by hand, exports, DataFrames and a 100,000-run store."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from IPython.utils.capture import capture_output

import opus_magic
from opus_magic.core.history import totals
from opus_magic.core.history.select import parse_since
from opus_magic.core.session import default_session
from opus_magic.cost.pricing import format_usd
from opus_magic.errors import UsageError
from opus_magic.records import RunRecord, Usage
from opus_magic.store.sqlite import COLUMNS, Store

NOW = dt.datetime.now(dt.timezone.utc)


def ago(**delta: float) -> str:
    moment = dt.datetime.now(dt.timezone.utc) - dt.timedelta(**delta)
    return moment.isoformat(timespec="milliseconds")


def run(run_id: str, created_at: str, model: str = "claude-opus-4-6", prompt: str = "a prompt",
        text: str = "an answer", tag: str | None = None, usage: Usage = Usage(1000, 100),
        cost: str | None = "0.0075", exact: bool = True, ttft: float | None = 0.5,
        duration: float | None = 1.5, response_model: str | None = None) -> RunRecord:
    return RunRecord(id=run_id, created_at=created_at, model=model, prompt=prompt,
                     messages=[{"role": "user", "content": prompt}], text=text, tag=tag,
                     response_model=response_model or model, usage=usage,
                     cost=None if cost is None else Decimal(cost), cost_exact=exact,
                     cost_source="catalog" if exact else "estimate", ttft_s=ttft, duration_s=duration)


def four_runs() -> list[RunRecord]:
    """Four runs across models, tags and ages, as the filter and search tests use them."""
    return [
        run("aaaa00000001", ago(days=10), model="opus-4.6", prompt="Explain WAL mode in SQLite",
            text="Write-ahead logging lets readers continue.", tag="db"),
        run("aaaa00000002", ago(days=3), model="gpt-4o", prompt="Name three prime numbers",
            text="Two, three and five.", tag="math"),
        run("aaaa00000003", ago(hours=5), model="claude-opus-4-6", prompt="Prompt caching costs",
            text="Cache reads are billed at a tenth of the input price.", tag="db"),
        run("aaaa00000004", ago(minutes=10), model="haiku", prompt="Say hi", text="Hi!",
            response_model="claude-haiku-4-5"),
    ]


@pytest.fixture
def store(isolated_dirs: Path) -> Store:
    store = Store(isolated_dirs / "history.sqlite")
    for record in four_runs():
        store.save(record)
    return store


def ids(runs: list[RunRecord]) -> list[str]:
    return [r.id[-1] for r in runs]


@pytest.mark.parametrize("filters, expected", [
    ({}, ["4", "3", "2", "1"]),
    ({"limit": 2}, ["4", "3"]),
    ({"model": "opus-4.6"}, ["3", "1"]),                     # alias and id are the same model
    ({"model": "opus"}, []),                                 # opus is Opus 5.5 now
    ({"model": "claude-opus-4-6"}, ["3", "1"]),
    ({"model": "claude-haiku-4-5"}, ["4"]),                  # the answering model counts too
    ({"tag": "db"}, ["3", "1"]),
    ({"search": "cache"}, ["3"]),                            # prefix of "caching" and "Cache"
    ({"search": "prime three"}, ["2"]),                      # every word, in prompt or answer
    ({"search": "readers"}, ["1"]),
    ({"search": "nothing-like-this"}, []),
    ({"since": "1d"}, ["4", "3"]),
    ({"since": "30m"}, ["4"]),
    ({"since": (NOW - dt.timedelta(days=4)).date().isoformat()}, ["4", "3", "2"]),
    ({"tag": "db", "since": "2d"}, ["3"]),
])
def test_each_history_filter(store, filters, expected) -> None:
    assert ids(opus_magic.history(**{"limit": 20, **filters})) == expected


def test_search_index_follows_updates_of_a_run(store) -> None:
    changed = store.get("aaaa00000002").replace(text="Eleven and thirteen.")
    store.save(changed)
    assert ids(opus_magic.history(search="eleven")) == ["2"]
    assert opus_magic.history(search="five") == []
    assert store.connection().execute("SELECT count(*) FROM runs").fetchone()[0] == 4


def test_since_parsing() -> None:
    fixed = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)
    assert parse_since("2h", lambda: fixed) == "2026-11-20T10:00:00.000+00:00"
    assert parse_since("1w", lambda: fixed) == "2026-11-13T12:00:00.000+00:00"
    assert parse_since("2026-11-20T09:30+01:00") == "2026-11-20T08:30:00.000+00:00"
    with pytest.raises(UsageError, match="not a time"):
        parse_since("yesterday")


def test_history_magic_html_table_and_text(ip, store, capsys) -> None:
    with capture_output() as shown:
        ip.run_line_magic("opus", "history -n 3 --tag db")
    data = shown.outputs[0].data
    assert data["text/html"].count("<tr>") == 3                 # header + two runs
    assert "aaaa00000003" in data["text/html"] and "aaaa00000001" in data["text/html"]
    assert "Explain WAL mode in SQLite" in data["text/html"]
    assert "aaaa00000002" not in data["text/plain"] and "aaaa00000003" in data["text/plain"]
    ip.run_line_magic("opus", "history --search prime")
    out = capsys.readouterr().out
    assert "aaaa00000002" in out and "aaaa00000001" not in out
    for line, expected in [("history --since soon", "is not a time"),
                           ("history --search '!!'", "has no words"),
                           ("history -n 0", "at least one run"),
                           ("history --colour red", "Unknown history option")]:
        ip.run_line_magic("opus", line)
        err = capsys.readouterr().err
        assert expected in err and len(err.strip().splitlines()) == 1, (line, err)


def priced_runs() -> list[RunRecord]:
    """Four runs whose stats are worked out by hand in the tests that save them."""
    return [run("s1", ago(hours=4), model="opus-4.6", usage=Usage(10_000, 100, 8_000, 0),
                cost="0.0115", ttft=0.5, duration=1.5, tag="x"),
            run("s2", ago(hours=3), model="claude-opus-4-6", usage=Usage(2_000, 60, 0, 1_500),
                cost="0.0126", ttft=0.3, duration=0.8, tag="x"),
            run("s3", ago(hours=2), model="gpt-4o", usage=Usage(1_000, 200, 500, 0),
                cost=None, exact=False, ttft=None, duration=2.0),
            run("s4", ago(hours=1), model="gpt-4o", usage=Usage(1_000, 100, 0, 0),
                cost="0.002", exact=False, ttft=0.2, duration=1.2, tag="x")]


@pytest.fixture
def priced(isolated_dirs: Path) -> Store:
    store = Store(isolated_dirs / "history.sqlite")
    for record in priced_runs():
        store.save(record)
    return store


def test_stats_numbers_by_hand(priced) -> None:
    opus, gpt, total = totals.compute(priced, "model")
    assert (opus.key, opus.runs, opus.cost) == ("claude-opus-4-6", 2, Decimal("0.0241"))
    assert opus.mean_cost == Decimal("0.01205")
    assert opus.output_tokens == 160
    assert opus.cache_hit_rate == pytest.approx(8_000 / 12_000)
    # reads save 5 - 0.50 $/M on 8,000 tokens; writes cost 6.25 - 5 $/M extra on 1,500
    assert opus.cache_saved == Decimal("0.036") - Decimal("0.001875")
    assert opus.mean_ttft_s == pytest.approx(0.4)
    assert opus.tokens_per_s == pytest.approx((100 / 1.0 + 60 / 0.5) / 2)
    assert (gpt.key, gpt.runs, gpt.cost, gpt.unknown_cost_runs) == ("gpt-4o", 2, Decimal("0.002"), 1)
    assert gpt.mean_cost == Decimal("0.002") and gpt.estimated_runs == 1
    assert gpt.cache_hit_rate == pytest.approx(0.25)
    assert gpt.cache_saved == Decimal(500) * (Decimal("2.50") - Decimal("1.25")) / 10**6
    assert gpt.mean_ttft_s == pytest.approx(0.2) and gpt.tokens_per_s == pytest.approx(100)
    assert (total.key, total.runs, total.cost) == ("all runs", 4, Decimal("0.0261"))
    assert total.cache_hit_rate == pytest.approx(8_500 / 14_000)
    assert total.mean_ttft_s == pytest.approx(1.0 / 3)
    by_tag = {g.key: g for g in totals.compute(priced, "tag")}
    assert by_tag["x"].runs == 3 and by_tag["x"].cost == Decimal("0.0261")
    assert by_tag["(no tag)"].runs == 1 and by_tag["(no tag)"].cost == 0
    assert totals.compute(priced, "model", since="150m")[-1].runs == 2


def test_stats_magic_and_cli_show_the_same_numbers(ip, priced, isolated_dirs, capsys) -> None:
    with capture_output() as shown:
        ip.run_line_magic("opus", "stats")
    html = shown.outputs[0].data["text/html"]
    assert "<svg" in html and html.count("<rect") == 2
    for figure in ("$0.0241", "$0.01205", "66.7%", "$0.0341", "0.40 s", "110", "≈$0.0020 (+1 unknown)",
                   "$0.0261", "60.7%"):
        assert figure in html and figure in shown.outputs[0].data["text/plain"], figure
    env = {**os.environ, "OPUS_MAGIC_HISTORY": str(isolated_dirs / "history.sqlite")}
    cli = subprocess.run([sys.executable, "-m", "opus_magic.cli.main", "stats", "--by", "tag"],
                         capture_output=True, text=True, env=env, check=True).stdout
    assert "x " in cli and "(no tag)" in cli and "$0.0261" in cli
    ip.run_line_magic("opus", "stats --by colour")
    assert "group by one of model, tag" in capsys.readouterr().err


def cli_history(isolated_dirs: Path, *args: str) -> str:
    env = {**os.environ, "OPUS_MAGIC_HISTORY": str(isolated_dirs / "history.sqlite")}
    return subprocess.run([sys.executable, "-m", "opus_magic.cli.main", "history", *args],
                          capture_output=True, text=True, env=env, check=True).stdout


def test_csv_and_jsonl_exports_parse_back(store, isolated_dirs) -> None:
    exported = cli_history(isolated_dirs, "--format", "csv", "--tag", "db")
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["id"] for r in rows] == ["aaaa00000003", "aaaa00000001"]
    assert Decimal(rows[0]["cost"]) == Decimal("0.0075") and rows[0]["input_tokens"] == "1000"
    assert json.loads(rows[1]["messages"]) == [{"role": "user",
                                               "content": "Explain WAL mode in SQLite"}]
    lines = cli_history(isolated_dirs, "--format", "jsonl", "--search", "prime").splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert data["id"] == "aaaa00000002" and data["text"] == "Two, three and five."
    assert data["output_tokens"] == 100 and Decimal(data["cost"]) == Decimal("0.0075")
    assert len(cli_history(isolated_dirs, "--format", "jsonl", "--since", "1d").splitlines()) == 2


def test_history_frame(store, monkeypatch) -> None:
    frame = opus_magic.history_frame(model="opus-4.6")
    assert list(frame["id"]) == ["aaaa00000003", "aaaa00000001"]
    assert frame["cost"].sum() == Decimal("0.0150")
    assert frame["created_at"].dt.tz is not None and "cache_read_tokens" in frame.columns
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(UsageError, match=r"needs pandas: pip install pandas"):
        opus_magic.history_frame()


def generated_rows(count: int) -> list[tuple]:
    """Plausible runs, one every five minutes up to now, in the store's column order."""
    column = {name: index for index, name in enumerate(COLUMNS)}
    template = [None] * len(COLUMNS)
    for name, value in dict(endpoint="http://127.0.0.1/v1", messages="[]", params="{}",
                            status="ok", finish_reason="stop", input_tokens=4096,
                            cache_write_tokens=0, cache_write_1h_tokens=0, reasoning_tokens=0,
                            cost_exact=1,
                            cost_source="catalog", ttft_s=0.4, duration_s=2.0, max_tokens=1024,
                            concise="off", notes="[]").items():
        template[column[name]] = value
    models = ("claude-opus-4-6", "opus", "gpt-4o", "claude-haiku-4-5", "claude-sonnet-4-5")
    topics = ("caching", "latency", "tokens")
    start = NOW - dt.timedelta(minutes=5 * count)
    rows = []
    for i in range(count):
        row = template.copy()
        row[column["id"]] = f"{i:012x}"
        row[column["created_at"]] = (start + dt.timedelta(minutes=5 * i)).isoformat(
            timespec="milliseconds")
        row[column["model"]] = row[column["response_model"]] = models[i % 5]
        row[column["prompt"]] = f"question {i} about {topics[i % 3]}"
        row[column["text"]] = f"answer {i}"
        row[column["output_tokens"]] = 10 + i * 37 % 490
        row[column["cache_read_tokens"]] = 2048 if i % 4 == 0 else 0
        row[column["cost"]] = f"0.00{100 + i % 900}"
        row[column["cost_pico"]] = (100 + i % 900) * 10**7
        row[column["tag"]] = f"t{i % 7}"
        rows.append(tuple(row))
    return rows


def test_a_hundred_thousand_runs_stay_interactive(ip, isolated_dirs, capsys) -> None:
    store = Store(isolated_dirs / "history.sqlite")
    db = store.connection()
    marks = ", ".join("?" for _ in COLUMNS)
    db.execute("BEGIN")
    db.execute("CREATE TEMP TABLE generated AS SELECT * FROM runs WHERE 0")
    db.executemany(f"INSERT INTO generated VALUES ({marks})", generated_rows(100_000))
    db.execute("INSERT INTO runs SELECT * FROM generated")    # one statement: the triggers index it
    db.execute("COMMIT")

    session = default_session()
    connection = session.store(session.settings()).connection()
    statements: list[str] = []
    connection.set_trace_callback(statements.append)
    try:
        for line in ("history -n 50", "history -n 50 --tag t3", "history -n 50 --since 1d",
                     "history -n 50 --search latency", "history -n 50 -m opus", "stats",
                     "stats --by tag"):
            ip.run_line_magic("opus", line)
    finally:
        connection.set_trace_callback(None)
    out = capsys.readouterr().out
    assert f"{99_999:012x}" in out and "100,000" in out
    assert format_usd(sum(Decimal(f"0.00{100 + i % 900}") for i in range(100_000))) in out
    queries = [s.strip() for s in statements if s.strip().startswith("SELECT") and "FROM runs" in s]
    assert len(queries) == 7
    for query in queries:
        steps = [row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + query)]
        assert "SCAN runs" not in steps, (query, steps)          # never a full pass over the rows
        assert any("INDEX" in step for step in steps), (query, steps)


def test_stats_price_cache_savings_by_long_context_tier(isolated_dirs) -> None:
    store = Store(isolated_dirs / "tiers.sqlite")
    for run_id, input_tokens in (("short", 10_000), ("long", 250_000)):
        store.save(RunRecord(id=run_id, created_at="2026-11-23T10:00:00.000+00:00",
                             model="claude-sonnet-4-5", prompt="p", status="ok",
                             usage=Usage(input_tokens, 10, cache_read_tokens=1000)))
    sonnet, total = totals.compute(store)
    # 1,000 reads under 200K save (3 - 0.30)/M each; 1,000 above it save (6 - 0.60)/M each
    assert sonnet.cache_saved == Decimal("0.0027") + Decimal("0.0054") == total.cache_saved
