"""History at scale: 100,000 stored runs; insert time, `%opus history -n 50`, `%opus stats`, size."""
from __future__ import annotations

import datetime as dt
import random
import sqlite3
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from .harness import VENV_PYTHON, SimProcess, kernel_setup, median, package_env, spread
from .kernel import Kernel
from .streaming import LOAD_EXTENSION, settle

MODELS = ("claude-opus-4-6", "claude-sonnet-4-5", "claude-haiku-4-5", "gpt-4o", "gpt-4o-mini",
          "gpt-4.1")
TAGS = (None, None, "baseline", "concise-ab", "rag", "eval-set-3", "demo")
PROMPTS = (
    "Summarise the attached incident report for an executive audience: {n}",
    "Rewrite this function so it streams results instead of building a list (case {n}).",
    "Explain, with a worked example, how prompt caching changes the cost of request {n}.",
    "Translate the following release notes into plain language for customers, batch {n}.",
    "Given the table of latencies below, which endpoint should we route to? Scenario {n}.",
    "Write three test cases for the tokenizer edge cases described in ticket {n}.",
)
DB_NAME = "history-100k.sqlite"
BATCH = 10_000
POOL = 2_000
START = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)


def answer_pool(size: int, seed: int) -> list[str]:
    """Answers as the simulator writes them (natural lengths, 60-200 tokens)."""
    from opus_magic.sim.content.text import answer_chunks

    return ["".join(answer_chunks([{"role": "user", "content": f"pool {seed} {i}"}]))
            for i in range(size)]


def synthetic_runs(count: int, seed: int = 7) -> Iterator[Any]:
    """Plausible run records: several models and tags, mostly ok, spread over 200 days."""
    from opus_magic.records import RunRecord, Usage

    rng = random.Random(seed)
    answers = answer_pool(400, seed)
    for index in range(count):
        prompt = rng.choice(PROMPTS).format(n=index)
        model = MODELS[index % len(MODELS)]
        messages = [{"role": "user", "content": prompt}]
        if index % 5 == 0:
            messages.insert(0, {"role": "system", "content": "You are a careful reviewer."})
        text = rng.choice(answers)
        usage = Usage(input_tokens=40 + rng.randrange(400), output_tokens=60 + rng.randrange(200),
                      cache_read_tokens=rng.choice((0, 0, 0, 4096)))
        status = "ok" if index % 50 else rng.choice(("error", "interrupted", "stopped"))
        created = START + dt.timedelta(seconds=index * 170)
        yield RunRecord(
            id=f"{index:012x}", created_at=created.isoformat(timespec="milliseconds"),
            model=model, prompt=prompt, messages=messages, response_model=model,
            endpoint="http://127.0.0.1:8765/v1", text=text if status == "ok" else text[:200],
            params={"model": model, "max_tokens": 1024, "stream": True, "profile": "default",
                    "simulator": True, "input_tokens_estimate": usage.input_tokens},
            status=status, finish_reason="stop" if status == "ok" else None, usage=usage,
            cost=Decimal(usage.input_tokens * 5 + usage.output_tokens * 25) / 1_000_000,
            cost_exact=True, cost_source="catalog", ttft_s=0.2 + rng.random(),
            duration_s=1 + rng.random() * 5, error=None if status == "ok" else "stopped early",
            tag=TAGS[index % len(TAGS)], max_tokens=1024, concise="off")


def raw_size(row: tuple[Any, ...]) -> int:
    """Bytes of one row's values written as text: what a plain text log would hold."""
    return sum(len(str(value).encode()) for value in row if value is not None)


def numbered_rows(count: int) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    """(record, row) pairs in the store's row format (`to_row`): records come from a pool, and
    each row gets its own id, time, prompt and messages."""
    import json

    from opus_magic.store.sqlite import COLUMNS, to_row

    where = {name: COLUMNS.index(name) for name in ("id", "created_at", "prompt", "messages")}
    pool = [(record, to_row(record)) for record in synthetic_runs(POOL)]
    for index in range(count):
        record, template = pool[index % POOL]
        row = list(template)
        prompt = f"{record.prompt} #{index}"
        messages = [*record.messages[:-1], {"role": "user", "content": prompt}]
        row[where["id"]] = f"{index:012x}"
        row[where["created_at"]] = (START + dt.timedelta(seconds=index * 170)).isoformat(
            timespec="milliseconds")
        row[where["prompt"]] = prompt
        row[where["messages"]] = json.dumps(messages, ensure_ascii=False)
        yield record.replace(prompt=prompt), tuple(row)


def build(path: Path, count: int) -> dict[str, Any]:
    """Write `count` runs in the store's own row format, in large transactions."""
    from opus_magic.store.sqlite import UPSERT, Store

    store = Store(path)
    db = store.connection()
    started = time.perf_counter()
    raw = answer_raw = 0
    batch: list[tuple[Any, ...]] = []
    for record, row in numbered_rows(count):
        raw += raw_size(row)
        answer_raw += len(record.prompt.encode()) + len(record.text.encode())
        batch.append(row)
        if len(batch) == BATCH:
            _write(db, UPSERT, batch)
    _write(db, UPSERT, batch)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return {"runs": count, "build_s": time.perf_counter() - started, "raw_bytes": raw,
            "prompt_and_answer_bytes": answer_raw}


def _write(db: sqlite3.Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    db.execute("BEGIN")
    db.executemany(sql, rows)
    db.execute("COMMIT")
    rows.clear()


def measure_inserts(path: Path, count: int) -> dict[str, float]:
    """`Store.save` of new runs into the full store, one transaction each, as the engine does."""
    from opus_magic.store.sqlite import Store

    store = Store(path)
    times = []
    for record in synthetic_runs(count, seed=11):
        record = record.replace(id=f"new{record.id}")
        start = time.perf_counter()
        store.save(record)
        times.append(time.perf_counter() - start)
    store.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    times.sort()
    return {"median_s": median(times), "p90_s": times[int(len(times) * 0.9)], "count": count}


def sizes(path: Path) -> dict[str, int]:
    """File size, and how much of it the full-text index takes (when SQLite has dbstat)."""
    result = {"file_bytes": path.stat().st_size}
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
        result["fts_bytes"] = sum(size for name, size in rows if name.startswith("runs_fts"))
        result["index_bytes"] = sum(size for name, size in rows
                                    if name.startswith(("runs_", "sqlite_autoindex"))
                                    and not name.startswith("runs_fts"))
    except sqlite3.OperationalError:
        pass
    finally:
        db.close()
    return result


def history_kernel(sim: SimProcess, workdir: Path, path: Path) -> Kernel:
    """A kernel with the extension loaded and `path` as its history."""
    kernel = Kernel(VENV_PYTHON, package_env(sim.base_url, path, workdir / "config"), workdir)
    kernel.check(kernel_setup(f"{LOAD_EXTENSION}\n"
                              "from opus_magic.notebook.commands import dispatch as _commands"))
    settle(kernel)
    return kernel


def measure_commands(sim: SimProcess, workdir: Path, path: Path, rounds: int) -> dict[str, Any]:
    """`%opus history -n 50` and `%opus stats` in a kernel over the full store, timed inside."""
    results: dict[str, Any] = {}
    with history_kernel(sim, workdir, path) as kernel:
        available = kernel.run("", {"names": "sorted(_commands.SUBCOMMANDS)"}).value("names")
        for name, line in (("history", "history -n 50"), ("stats", "stats")):
            if name not in available:
                results[name] = {"missing": True}
                continue
            code = f"_seconds = _bench.timed_magic('opus', {line!r})"
            first = kernel.run(code, {"s": "_bench.LAST['seconds']"})
            timings, walls = [], []
            for _ in range(rounds):
                execution = kernel.run(code, {"s": "_bench.LAST['seconds']"})
                if execution.status != "ok":
                    raise RuntimeError(f"%opus {line} failed: {execution.error}")
                timings.append(execution.value("s"))
                walls.append(execution.wall_s)
            results[name] = {"first_s": first.value("s"), "median_s": median(timings),
                             "spread": spread(timings), "frontend_wall_s": median(walls),
                             "output_bytes": execution.output_bytes}
    return results


def measure_history(sim: SimProcess, workdir: Path, count: int, inserts: int,
                    rounds: int) -> dict[str, Any]:
    path = workdir / DB_NAME
    built = build(path, count)
    inserted = measure_inserts(path, inserts)
    commands = measure_commands(sim, workdir, path, rounds)
    return {**built, "insert": inserted, **commands, **sizes(path)}


def profile_stats(sim: SimProcess, workdir: Path, path: Path) -> list[Any]:
    """cProfile of `%opus stats` over the full store (after one warm call)."""
    from .profiles import profile_magic

    with history_kernel(sim, workdir, path) as kernel:
        kernel.run("get_ipython().run_line_magic('opus', 'stats')")
        return profile_magic(kernel, "stats")
