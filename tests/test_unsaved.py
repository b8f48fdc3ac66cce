"""The history never silently drops a run: on a full disk, in a folder turned read-only and
behind a locked file, the view says at once that the run is not recorded, the session keeps it
(`opus_magic.unsaved()`), a grid cell keeps its answer and is not paid for again, and every
run is written once the history can be written. Through the magic over real HTTP."""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from fs_support import fill, small_disk, switchable

import opus_magic
from opus_magic.core.session import default_session
from opus_magic.store import sqlite as sqlite_store

KEY = "sk-test-0123456789abcdef"   # the ip fixture's key


def stored_ids(history: Path) -> list[str]:
    db = sqlite3.connect(history)
    try:
        return sorted(row[0] for row in db.execute("SELECT id FROM runs"))
    finally:
        db.close()


def billed(simulator) -> int:
    return sum(1 for r in simulator.requests() if r.status == 200)


def no_key_in(*paths: Path) -> bool:
    return all(KEY.encode() not in p.read_bytes() for p in paths if p.exists())


def grid(ip, capsys) -> str:
    ip.user_ns.pop("out", None)
    ip.user_ns["items"] = ["one", "two"]
    ip.run_cell_magic("opus", "--each items -m haiku --max-tokens 20 -o out", "Say {item}.")
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return out


def test_a_full_disk_keeps_every_run_in_the_session_until_it_has_room(
        ip, simulator, capsys, tmp_path, monkeypatch) -> None:
    with small_disk(tmp_path / "disk") as disk:
        history = disk / "history.sqlite"
        monkeypatch.setenv("OPUS_MAGIC_HISTORY", str(history))
        ip.run_cell_magic("opus", "-m haiku --max-tokens 20", "First, while there is room.")
        filler = fill(disk)
        capsys.readouterr()

        ip.run_cell_magic("opus", "-m haiku --max-tokens 20", "Second, on a full disk.")
        out = capsys.readouterr().out
        record = opus_magic.last_run()
        assert record.status == "ok" and record.text in out
        assert ("! Not recorded: disk full; the run is kept in this session: "
                "`opus_magic.unsaved()`") in out
        assert [r.id for r in opus_magic.unsaved()] == [record.id]

        out = grid(ip, capsys)
        frame = ip.user_ns["out"]
        assert list(frame["status"]) == ["ok", "ok"] and frame["answer"].str.len().gt(0).all()
        assert "error" not in set(frame["status"]) and (frame["cost"] > 0).all()
        assert "Not recorded: disk full; 2 runs are kept in this session" in out
        sent = len(simulator.requests())
        grid(ip, capsys)                                   # a rerun pays for nothing again
        assert len(simulator.requests()) == sent
        assert list(ip.user_ns["out"]["status"]) == ["reused", "reused"]
        assert len(opus_magic.unsaved()) == 3
        ip.run_line_magic("opus", "history")
        assert ("3 runs of this session could not be written yet and are not shown: "
                "`opus_magic.unsaved()` lists them.") in capsys.readouterr().out

        filler.unlink()                                    # room again: written, once each
        assert opus_magic.unsaved() == []
        assert len(stored_ids(history)) == billed(simulator) == 4
        assert no_key_in(history, Path(f"{history}-wal"))


def test_a_folder_turned_read_only_refuses_before_anything_is_billed(ip, simulator, capsys,
                                                                     tmp_path, monkeypatch) -> None:
    with switchable(tmp_path / "shared") as folder:
        history = folder.path / "history.sqlite"
        monkeypatch.setenv("OPUS_MAGIC_HISTORY", str(history))
        ip.run_cell_magic("opus", "-m haiku --max-tokens 20", "Before.")
        default_session().store(default_session().settings()).close()  # no file held open:
        folder.set(read_only=True)                                  # the mount can turn read-only
        ip.user_ns.pop("out", None)
        ip.user_ns["items"] = ["one", "two"]
        ip.run_cell_magic("opus", "--each items -m haiku --max-tokens 20 -o out", "Say {item}.")
        err = capsys.readouterr().err
        assert f"History file {history} is in a read-only folder" in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert "out" not in ip.user_ns and billed(simulator) == 1   # SQLite cannot even read
        folder.set(read_only=False)
        ip.run_cell_magic("opus", "--each items -m haiku --max-tokens 20 -o out", "Say {item}.")
        assert list(ip.user_ns["out"]["status"]) == ["ok", "ok"]
        assert len(stored_ids(history)) == billed(simulator) == 3


def test_a_missing_history_in_a_read_only_folder_is_named_as_such(ip, simulator, capsys,
                                                                  tmp_path, monkeypatch) -> None:
    with switchable(tmp_path / "readonly") as folder:
        folder.set(read_only=True)
        monkeypatch.setenv("OPUS_MAGIC_HISTORY", str(folder.path / "history.sqlite"))
        ip.run_cell_magic("opus", "-m haiku", "Nothing may be sent.")
        err = capsys.readouterr().err
        assert f"History folder {folder.path} is read-only, so the history file " \
               f"history.sqlite cannot be created there" in err
        assert "move it aside" not in err and len(err.strip().splitlines()) == 1
        assert simulator.requests() == []                 # refused before anything was billed
        folder.set(read_only=False)


def test_a_locked_history_keeps_the_runs_until_the_lock_is_released(
        ip, simulator, capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_MS", 200)
    history = tmp_path / "history.sqlite"
    ip.run_cell_magic("opus", "-m haiku --max-tokens 20", "Before the lock.")
    holder = sqlite3.connect(history, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")                     # another program holds the file
    out = grid(ip, capsys)
    assert list(ip.user_ns["out"]["status"]) == ["ok", "ok"]
    assert "Not recorded: the history file is locked; 2 runs are kept" in out
    holder.execute("ROLLBACK")
    holder.close()
    done = threading.Event()
    threading.Thread(target=lambda: (opus_magic.unsaved(), done.set()), daemon=True).start()
    assert done.wait(30) and opus_magic.unsaved() == []
    assert len(stored_ids(history)) == billed(simulator) == 3


def test_the_python_api_lists_nothing_when_every_run_was_recorded(ip, simulator) -> None:
    ip.run_cell_magic("opus", "-m haiku --max-tokens 20", "Recorded.")
    assert opus_magic.unsaved() == []
    assert opus_magic.last_run().not_recorded is None
    with pytest.raises(AttributeError):
        opus_magic.history(limit=1)[0].nothing_here  # noqa: B018 (a record read back is plain)
