"""Run history in SQLite: WAL mode, safe for several kernels at once, migrated on open."""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from opus_magic.cost.pricing import to_pico
from opus_magic.errors import StoreError, UsageError
from opus_magic.records import RunRecord, Usage
from opus_magic.store.migrations import migrate

BUSY_TIMEOUT_MS = 30_000
SQLITE_BUSY = 5
DAMAGED = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB
COLUMNS = ("id", "created_at", "model", "response_model", "endpoint", "prompt", "messages",
           "params", "text", "status", "finish_reason", "input_tokens", "output_tokens",
           "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "cost", "cost_exact",
           "cost_source", "ttft_s", "duration_s", "error", "tag", "max_tokens", "concise",
           "comparison_id", "parent_id", "notes", "cache_write_1h_tokens", "cost_pico")
USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
                "reasoning_tokens", "cache_write_1h_tokens")
# One indexed lookup (runs_model: model, created_at) over the model's latest runs with server usage;
# the engine stores its own tiktoken counts in params only when the server's usage arrived.
CALIBRATION_COUNTS = """
SELECT count(*), sum(input_tokens + output_tokens), sum(counted) FROM (
    SELECT input_tokens, output_tokens,
           json_extract(params, '$.tiktoken_input')
           + json_extract(params, '$.tiktoken_output') AS counted
    FROM runs
    WHERE model IN ({names}) AND endpoint = ?
      AND json_extract(params, '$.tiktoken_input') IS NOT NULL
    ORDER BY created_at DESC LIMIT ?)
"""

UPSERT = (f"INSERT INTO runs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)}) "
          f"ON CONFLICT(id) DO UPDATE SET "
          + ", ".join(f"{name} = excluded.{name}" for name in COLUMNS if name != "id"))


def default_path() -> Path:
    """`$OPUS_MAGIC_HISTORY`, else the user's data dir."""
    explicit = os.environ.get("OPUS_MAGIC_HISTORY")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "opus_magic" / "history.sqlite"


def to_row(record: RunRecord) -> tuple[Any, ...]:
    values = {
        **{name: getattr(record, name) for name in COLUMNS if hasattr(record, name)},
        **{name: getattr(record.usage, name) for name in USAGE_FIELDS},
        "messages": json.dumps(record.messages, ensure_ascii=False),
        "params": json.dumps(record.params, ensure_ascii=False, default=str),
        "notes": json.dumps(record.notes, ensure_ascii=False),
        "cost": None if record.cost is None else str(record.cost),
        "cost_pico": None if record.cost is None else to_pico(record.cost),
        "cost_exact": int(record.cost_exact),
    }
    return tuple(values[name] for name in COLUMNS)


def from_row(row: sqlite3.Row) -> RunRecord:
    data = {name: row[name] for name in COLUMNS if name != "cost_pico"}
    usage = Usage(**{name: data.pop(name) for name in USAGE_FIELDS})
    data.update(
        usage=usage,
        messages=json.loads(data["messages"]),
        params=json.loads(data["params"]),
        notes=json.loads(data["notes"]),
        cost=None if data["cost"] is None else Decimal(data["cost"]),
        cost_exact=bool(data["cost_exact"]),
    )
    return RunRecord(**data)


def _use_wal(db: sqlite3.Connection) -> None:
    """Switch to WAL. The switch needs the file to itself and SQLite does not apply the busy
    timeout to it, so kernels opening a new history at the same moment wait here in turn."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", SQLITE_BUSY) != SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class Store:
    """One SQLite history file; a connection per thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._check_file()
        try:
            migrate(self.connection())
        except sqlite3.DatabaseError as exc:
            raise StoreError(self._unusable(exc)) from None

    def _check_file(self) -> None:
        """Refuse, before writing anything, a file that is not a history database in good order."""
        if str(self.path) == ":memory:":
            return
        try:
            if not self.path.exists() or self.path.stat().st_size == 0:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                return
            with open(self.path, "rb") as f:
                header = f.read(16)
        except OSError as exc:
            raise StoreError(self._unusable(exc.strerror or exc)) from None
        if header != b"SQLite format 3\x00":
            raise StoreError(self._unusable("not an SQLite database"))
        tables = self._tables()
        if tables and "_migrations" not in tables:
            raise StoreError(self._unusable(f"another program's database, with tables "
                                            f"{', '.join(tables[:3])}{'…' if len(tables) > 3 else ''}"))

    def _tables(self) -> list[str]:
        """The file's tables, read without writing. Reading a WAL database creates its -wal and
        -shm files; when the file turns out damaged, the ones created here are removed again."""
        sides = [Path(f"{self.path}{end}") for end in ("-wal", "-shm")]
        created = [side for side in sides if not side.exists()]
        try:
            db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                 timeout=BUSY_TIMEOUT_MS / 1000)
            try:
                return sorted(row[0] for row in db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"))
            finally:
                db.close()
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorcode", None) in DAMAGED:
                for side in created:
                    side.unlink(missing_ok=True)
            raise StoreError(self._unusable(exc)) from None

    def _unusable(self, why: object) -> str:
        return (f"History file {self.path} cannot be used ({why}). It was left untouched: move it "
                f"aside or set OPUS_MAGIC_HISTORY to another file.")

    def connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                 check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _use_wal(db)
            db.execute("PRAGMA synchronous = NORMAL")
            self._local.db = db
        return db

    def save(self, record: RunRecord) -> None:
        """Insert one run, or update it in place (an update keeps the search index in step)."""
        try:
            self.connection().execute(UPSERT, to_row(record))
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"Could not record the run in {self.path} ({exc}).") from None

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"Could not read the history in {self.path} ({exc}): move the file "
                             f"aside or set OPUS_MAGIC_HISTORY to another file.") from None

    def get(self, run_id: str) -> RunRecord | None:
        """A run by id or unique id prefix; a prefix shared by several runs is a UsageError."""
        with self._reading():
            rows = self.connection().execute(
                "SELECT * FROM runs WHERE id = ? OR id LIKE ? || '%' ORDER BY id LIMIT 3",
                (run_id, run_id)).fetchall()
        exact = [row for row in rows if row["id"] == run_id]
        if exact or len(rows) == 1:
            return from_row((exact or rows)[0])
        if rows:
            shown = ", ".join(row["id"] for row in rows[:2]) + (", …" if len(rows) > 2 else "")
            raise UsageError(f"'{run_id}' is the start of several run ids ({shown}): give more of "
                             f"the id (see %opus history).")
        return None

    def query(self, where: Sequence[str] = (), args: Sequence[Any] = (), limit: int | None = None,
              order: str = "created_at DESC, rowid DESC") -> list[RunRecord]:
        """Runs matching SQL conditions (built by callers from filters, never from user SQL)."""
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
        sql += f" ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._reading():
            return [from_row(row) for row in self.connection().execute(sql, tuple(args))]

    def calibration_counts(self, names: Sequence[str], endpoint: str,
                           window: int) -> tuple[int, int | None, int | None]:
        """Over the latest `window` runs of `names` on `endpoint` with server usage: how many,
        the server's input + output tokens, and tiktoken's count of the same."""
        if not names:
            return 0, None, None
        sql = CALIBRATION_COUNTS.format(names=", ".join("?" for _ in names))
        with self._reading():
            row = self.connection().execute(sql, (*names, endpoint, window)).fetchone()
        return row[0], row[1], row[2]

    def iter_rows(self, sql: str, args: Sequence[Any] = ()) -> Iterator[sqlite3.Row]:
        with self._reading():
            yield from self.connection().execute(sql, tuple(args))

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
