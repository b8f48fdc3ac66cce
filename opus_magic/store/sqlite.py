"""Run history in SQLite: WAL mode, safe for several kernels at once, migrated on open."""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opus_magic.errors import StoreError
from opus_magic.store.base import HistoryStore
from opus_magic.store.migrations import migrate
from opus_magic.store.rows import COLUMNS, UPSERT, USAGE_FIELDS, to_row

__all__ = ["COLUMNS", "UPSERT", "USAGE_FIELDS", "Store", "default_path", "to_row"]

BUSY_TIMEOUT_MS = 30_000
SQLITE_BUSY = 5
SQLITE_NOTADB = 26
DAMAGED = (11, SQLITE_NOTADB)  # SQLITE_CORRUPT too
# Why a write failed, by SQLite's primary result code, in the words the views show.
REASONS = {3: "no permission to write the history", 5: "the history file is locked",
           6: "the history file is locked", 8: "the history is read-only",
           10: "disk I/O error", 13: "disk full",
           14: "the history file cannot be opened (is its folder read-only?)"}


def reason_of(exc: sqlite3.DatabaseError) -> str:
    """A failed write in a few words: "disk full", "the history is read-only", ..."""
    code = getattr(exc, "sqlite_errorcode", None)
    return REASONS.get(code & 0xFF, str(exc)) if code is not None else str(exc)


def writable(folder: Path) -> bool:
    """Whether files can be created in `folder` (a read-only mount says no, even to root)."""
    return os.access(folder, os.W_OK)


def default_path() -> Path:
    """`$OPUS_MAGIC_HISTORY`, else the user's data dir."""
    explicit = os.environ.get("OPUS_MAGIC_HISTORY")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "opus_magic" / "history.sqlite"


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


class Store(HistoryStore):
    """One SQLite history file; a connection per thread."""

    def __init__(self, path: str | Path, user: str | None = None,
                 project: str | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self.user, self.project = user, project
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
                if not writable(self.path.parent):
                    raise StoreError(
                        f"History folder {self.path.parent} is read-only, so the history file "
                        f"{self.path.name} cannot be created there: set OPUS_MAGIC_HISTORY (or "
                        f"history_path) to a file in a folder you can write.")
                return
        except OSError as exc:
            raise StoreError(self._unusable(exc.strerror or exc)) from None
        tables = self._tables()
        if tables and "_migrations" not in tables:
            raise StoreError(self._unusable(f"another program's database, with tables "
                                            f"{', '.join(tables[:3])}{'…' if len(tables) > 3 else ''}"))

    def _tables(self) -> list[str]:
        """The file's tables, read without writing, through SQLite only: closing a descriptor
        this process opened on the file any other way would drop the POSIX locks its other
        connections hold there, and another process could then checkpoint and delete the WAL
        under them. Reading a WAL database creates its -wal and -shm files; when the file turns
        out damaged, the ones created here are removed again."""
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
            code = getattr(exc, "sqlite_errorcode", None)
            if code in DAMAGED:
                for side in created:
                    side.unlink(missing_ok=True)
            why = "not an SQLite database" if code == SQLITE_NOTADB else exc
            raise StoreError(self._unusable(why)) from None

    def _unusable(self, why: object) -> str:
        if str(self.path) != ":memory:" and not writable(self.path.parent):
            return (f"History file {self.path} is in a read-only folder, where SQLite cannot "
                    f"write beside it ({why}): set OPUS_MAGIC_HISTORY (or history_path) to a "
                    f"file in a folder you can write.")
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

    def _write(self, sql: str, args: Sequence[Any]) -> None:
        try:
            self.connection().execute(sql, tuple(args))
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"Could not record the run in {self.path} ({exc}).",
                             reason_of(exc)) from None

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return [tuple(row) for row in self.connection().execute(sql, tuple(args))]
        except sqlite3.DatabaseError as exc:
            if not writable(self.path.parent):
                raise StoreError(self._unusable(exc)) from None
            raise StoreError(f"Could not read the history in {self.path} ({exc}): move the file "
                             f"aside or set OPUS_MAGIC_HISTORY to another file.") from None

    def close(self) -> None:
        """Close this thread's connection."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
