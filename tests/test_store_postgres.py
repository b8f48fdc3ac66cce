"""A shared history on PostgreSQL: many writers, a server that goes away, wrong credentials."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from pg_support import STUDENT, STUDENT_PASSWORD, PgServer, free_port

import opus_magic
from opus_magic.core.session import default_session
from opus_magic.errors import ConfigError, StoreError
from opus_magic.records import RunRecord
from opus_magic.store.migrations import MIGRATIONS
from opus_magic.store.postgres import PgStore

WRITER = """
import sys
from opus_magic.records import RunRecord
from opus_magic.store.postgres import PgStore
url, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = PgStore(url, user=f"student{worker}", project="load")
for index in range(count):
    store.save(RunRecord(id=f"w{worker}-{index}", created_at=f"2026-11-30T10:{index % 60:02d}:00",
                         model="gpt-4o", prompt=f"question {index}", cost=None))
print("done", flush=True)
"""


def count(url: str, sql: str = "SELECT count(*) FROM runs") -> int:
    with psycopg.connect(url) as db:
        return db.execute(sql).fetchone()[0]


def test_eight_processes_writing_at_once_give_every_row_once(pg_url: str, tmp_path: Path) -> None:
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, pg_url, str(worker), "250"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "XDG_DATA_HOME": str(tmp_path)})
               for worker in range(8)]
    for writer in writers:
        out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0 and out.strip() == "done", err
    assert count(pg_url) == 2_000
    assert count(pg_url, "SELECT count(DISTINCT user_name) FROM runs") == 8
    # every kernel opened a fresh database at once: each migration was applied exactly once
    assert count(pg_url, "SELECT count(*) FROM _migrations") == len(MIGRATIONS)
    assert not list(tmp_path.rglob("spool-*.sqlite"))          # the server never went away


def saved(store: PgStore, first: int, last: int) -> None:
    for index in range(first, last):
        store.save(RunRecord(id=f"r{index:03d}", created_at=f"2026-11-30T11:00:{index:02d}",
                             model="gpt-4o", prompt=f"run {index}", text="kept"))


def test_a_server_restart_mid_session_loses_and_doubles_nothing(
        pg_server: PgServer, pg_url: str, capsys: pytest.CaptureFixture[str], ip,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPUS_MAGIC_HISTORY_URL", pg_url)
    session = default_session()
    store = session.store(session.settings())
    saved(store, 0, 5)
    for first in (5, 15):                                     # two outages, each said once
        pg_server.stop()
        try:
            saved(store, first, first + 7)
            err = capsys.readouterr().err
            assert "(Connection refused)" in err
            assert err.count("is unreachable") == 1 and len(err.strip().splitlines()) == 1, err
            ip.run_line_magic("opus", "history -n 50")
            out = capsys.readouterr().out
            assert "Showing only runs kept in the local spool" in out
            assert f"r{first + 6:03d}" in out and "r004" not in out
        finally:
            pg_server.start()
        saved(store, first + 7, first + 10)
        assert "7 spooled runs written" in capsys.readouterr().err
    assert count(pg_url) == 25
    assert count(pg_url, "SELECT count(DISTINCT id) FROM runs") == 25
    assert sqlite3.connect(store.spool_path).execute("SELECT count(*) FROM runs").fetchone() == (0,)
    assert [r.id for r in opus_magic.history(limit=3)] == ["r024", "r023", "r022"]
    assert store.notice() is None


def test_wrong_credentials_get_one_line_without_the_password(pg_server: PgServer, pg_url: str,
                                                             ip, capsys) -> None:
    database = pg_url.rsplit("/", 1)[1]
    wrong = pg_server.url(database, STUDENT, "not-the-password")
    with pytest.raises(StoreError) as caught:
        PgStore(wrong).get("x")
    message = str(caught.value)
    assert "not-the-password" not in message and "password authentication failed" in message
    assert "PGPASSWORD or ~/.pgpass" in message and len(message.splitlines()) == 1
    ip.run_line_magic("opus", f"config history_url={wrong}")
    listing = capsys.readouterr().out
    assert f"postgresql://{STUDENT}@127.0.0.1:{pg_server.port}/{database}" in listing
    assert "not-the-password" not in listing
    ip.run_line_magic("opus", "history")
    captured = capsys.readouterr()
    assert "refused the connection" in captured.err and "not-the-password" not in captured.err
    assert len(captured.err.strip().splitlines()) == 1


def test_the_right_password_from_the_url_pgpassword_or_pgpass(
        pg_server: PgServer, pg_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    database = pg_url.rsplit("/", 1)[1]
    PgStore(pg_server.url(database, STUDENT, STUDENT_PASSWORD), user="s").save(
        RunRecord(id="pw1", created_at="2026-11-30", model="m", prompt="p"))
    monkeypatch.setenv("PGPASSWORD", STUDENT_PASSWORD)
    assert PgStore(pg_server.url(database, STUDENT)).get("pw1").user == "s"
    monkeypatch.delenv("PGPASSWORD")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{pg_server.port}:{database}:{STUDENT}:{STUDENT_PASSWORD}\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))              # what ~/.pgpass is by default
    assert PgStore(pg_server.url(database, STUDENT)).get("pw1").user == "s"


def test_an_unreachable_host_says_what_to_check_once(ip, capsys, isolated_dirs,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"postgresql://nobody:s3cret-pw@127.0.0.1:{free_port()}/history"
    monkeypatch.setenv("OPUS_MAGIC_HISTORY_URL", url)
    ip.run_cell_magic("opus", "--tag offline", "Say hi")
    ip.run_cell_magic("opus", "--tag offline", "Say hi again")
    ip.run_line_magic("opus", "history")
    captured = capsys.readouterr()
    assert captured.err.count("is unreachable") == 1, captured.err
    assert "check the host and port in history_url" in captured.err
    assert "runs are kept in" in captured.err and "s3cret-pw" not in captured.err + captured.out
    assert "Showing only runs kept in the local spool" in captured.out
    assert len(opus_magic.history(tag="offline")) == 2
    ip.run_line_magic("opus", "stats --by user")
    assert "Showing only runs kept in the local spool" in capsys.readouterr().out
    spool = next(isolated_dirs.rglob("spool-*.sqlite"))
    assert b"s3cret-pw" not in spool.read_bytes()


def test_history_url_never_shows_its_password_and_a_path_is_history_paths(
        isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from opus_magic.config import load_settings

    monkeypatch.setenv("OPUS_MAGIC_HISTORY_URL",
                       "postgresql://ann:pa55word@db:5432/h?sslmode=require&password=pa55word")
    url = load_settings().history_url
    for shown in (str(url), repr(url), f"{url}", f"{url:>60}", repr(load_settings())):
        assert "pa55word" not in shown and "postgresql://ann@db:5432/h?sslmode=require" in shown
    assert "pa55word" in url.reveal()                         # what psycopg is given
    session = default_session()
    with pytest.raises(ConfigError, match="a SQLite file goes in history_path"):
        session.settings(history_url=str(isolated_dirs / "team.sqlite"))
    store = session.store(session.settings(history_url="",
                                           history_path=str(isolated_dirs / "team.sqlite")))
    assert store.dialect == "sqlite" and (isolated_dirs / "team.sqlite").exists()
