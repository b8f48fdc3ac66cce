"""The history survives several kernels at once, and a damaged or foreign file is never touched."""
from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import opus_magic
from opus_magic.errors import StoreError
from opus_magic.store.sqlite import Store

WRITER = """
import os, sys, time
from opus_magic.core.run.engine import new_run_id, now_iso
from opus_magic.records import RunRecord, Usage
from opus_magic.store.sqlite import Store
path, go, who, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
open(f"{go}.{who}", "w").close()                      # imported, ready
while not os.path.exists(go):
    time.sleep(0.002)
store = Store(path)                                   # every kernel opens the new file at once
for i in range(count):
    store.save(RunRecord(id=new_run_id(), created_at=now_iso(), model="claude-opus-4-6",
                         prompt=f"run {i} of {who}", text="word " * 200, tag=who,
                         usage=Usage(12, 200), messages=[{"role": "user", "content": "hi"}]))
"""


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_four_processes_writing_at_once_lose_nothing(tmp_path) -> None:
    history = tmp_path / "shared.sqlite"
    go = tmp_path / "go"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(history), str(go), f"kernel{n}",
                                 "250"], stderr=subprocess.PIPE) for n in range(4)]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("go.*"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    for writer in writers:
        _, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err.decode()[-2000:]
    db = sqlite3.connect(history)
    counts = dict(db.execute("SELECT tag, count(*) FROM runs WHERE tag LIKE 'kernel%' GROUP BY tag"))
    assert counts == {f"kernel{n}": 250 for n in range(4)}
    assert db.execute("SELECT count(DISTINCT id) FROM runs WHERE tag LIKE 'kernel%'").fetchone() == (1000,)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def sqlite_with_garbage_pages(path: Path, tmp_path: Path) -> None:
    """A real database's 100-byte header followed by random pages."""
    good = tmp_path / "good.sqlite"
    Store(good).close()
    header = good.read_bytes()[:100]
    path.write_bytes(header + os.urandom(4096 * 8 - 100))


def foreign_sqlite(path: Path, tmp_path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    db.execute("INSERT INTO invoices VALUES (1, 9.5)")
    db.commit()
    db.close()


def png(path: Path, tmp_path: Path) -> None:
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2000))


@pytest.mark.parametrize("make, why", [
    (sqlite_with_garbage_pages, "database disk image is malformed"),
    (foreign_sqlite, "another program's database, with tables invoices"),
    (png, "not an SQLite database"),
])
def test_a_damaged_or_foreign_file_gets_a_clear_error_and_is_never_modified(
        ip, simulator, capsys, tmp_path, monkeypatch, make, why) -> None:
    history = tmp_path / "notes" / "history.sqlite"
    history.parent.mkdir()
    make(history, tmp_path)
    before = digest(history)
    monkeypatch.setenv("OPUS_MAGIC_HISTORY", str(history))
    expected = (f"opus: History file {history} cannot be used ({why}). It was left untouched: "
                f"move it aside or set OPUS_MAGIC_HISTORY to another file.")
    ip.run_cell_magic("opus", "", "Will this be recorded?")
    ip.run_line_magic("opus", "history")
    out, err = capsys.readouterr()
    assert err.splitlines() == [expected, expected]
    assert "Traceback" not in out + err and simulator.requests() == []    # nothing was sent
    assert digest(history) == before
    assert sorted(p.name for p in history.parent.iterdir()) == ["history.sqlite"]


def test_store_errors_name_the_file_for_the_python_api(tmp_path, monkeypatch) -> None:
    history = tmp_path / "history.sqlite"
    png(history, tmp_path)
    monkeypatch.setenv("OPUS_MAGIC_HISTORY", str(history))
    with pytest.raises(StoreError, match=f"History file {history} cannot be used"):
        opus_magic.history()


def test_a_history_path_under_a_file_is_explained(ip, capsys, tmp_path, monkeypatch) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("OPUS_MAGIC_HISTORY", str(blocker / "history.sqlite"))
    ip.run_line_magic("opus", "history")
    err = capsys.readouterr().err
    assert err.startswith(f"opus: History file {blocker / 'history.sqlite'} cannot be used (")
    assert len(err.splitlines()) == 1 and blocker.read_text() == "x"


def test_a_second_kernel_opening_a_new_history_at_the_same_moment(tmp_path) -> None:
    history = tmp_path / "fresh.sqlite"
    code = ("import sys; from opus_magic.store.sqlite import Store; "
            "[Store(sys.argv[1]).close() for _ in range(20)]")
    openers = [subprocess.Popen([sys.executable, "-c", code, str(history)],
                                stderr=subprocess.PIPE) for _ in range(6)]
    for opener in openers:
        _, err = opener.communicate(timeout=120)
        assert opener.returncode == 0, err.decode()[-2000:]
    db = sqlite3.connect(history)
    assert [row[0] for row in db.execute("SELECT name FROM _migrations")][0] == "m001_runs"


CLOSER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("SELECT count(*) FROM runs").fetchone()
db.close()   # the last connection anywhere checkpoints and deletes the -wal and -shm files
"""


def test_opening_the_history_again_keeps_the_locks_of_the_connection_already_open(
        tmp_path) -> None:
    """A second store on the same file in one kernel (`%opus stats` beside a running grid) must
    not drop the first one's locks: another process would then think itself the last user of the
    file and delete the WAL that the first connection still writes to."""
    path = tmp_path / "history.sqlite"
    first = Store(path)
    first.save(opus_magic.records.RunRecord(id="r1", created_at="2026-12-06T10:00:00Z",
                                            model="claude-opus-5-5", prompt="kept"))
    Store(path)                                              # the same file, opened again here
    subprocess.run([sys.executable, "-c", CLOSER, str(path)], check=True, timeout=60)
    assert Path(f"{path}-wal").exists() and Path(f"{path}-shm").exists()
    first.save(opus_magic.records.RunRecord(id="r2", created_at="2026-12-06T10:00:01Z",
                                            model="claude-opus-5-5", prompt="also kept"))
    first.close()
    again = Store(path)
    assert again.get("r1").prompt == "kept" and again.get("r2").prompt == "also kept"
