"""Run history on a PostgreSQL server (psycopg 3), with a local SQLite spool for outages.

A run is never lost to a server that is down or restarting: it is kept in the spool and written
to the server, exactly once (runs are upserted by id), as soon as the server answers again.
"""
from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from opus_magic.errors import StoreError
from opus_magic.records import RunRecord
from opus_magic.secret import PERCENT_ENCODING, SecretUrl
from opus_magic.store.attachments import save_attachments
from opus_magic.store.base import HistoryStore
from opus_magic.store.migrations import migrate
from opus_magic.store.rows import UPSERT, to_row
from opus_magic.wording import plural

T = TypeVar("T")
CONNECT_TIMEOUT_S = 5
# Errors that no waiting cures: the login or the database name is wrong.
MISCONFIGURED = ("password authentication failed", "no password supplied", "does not exist",
                 "authentication failed", "permission denied")


def psycopg_module() -> Any:
    """psycopg, imported on first use (only a shared history needs it)."""
    try:
        import psycopg
    except ImportError:
        raise StoreError("history_url names a PostgreSQL server, which needs psycopg: "
                         "pip install 'opus_magic[postgresql]'.") from None
    return psycopg


def reason(exc: Exception) -> str:
    """The part of a psycopg message that says what went wrong, on one line."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return " ".join(first.rsplit("failed: ", 1)[-1].replace("FATAL:", "").split())


class Unreachable(Exception):
    """The server did not answer (down, restarting, or no route to it)."""


def placeholders(sql: str, args: Sequence[Any] | None) -> str:
    """The package writes `?` placeholders; psycopg takes `%s` (and then `%` must be doubled)."""
    return sql.replace("%", "%%").replace("?", "%s") if args else sql


class Schema:
    """A psycopg connection with the two calls migrations make, in the package's SQL style."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        return self.connection.execute(placeholders(sql, args), tuple(args) or None)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self.connection.cursor() as cursor:
                cursor.executemany(placeholders(sql, rows[0]), rows)


def default_spool(shown_url: str) -> Path:
    """A local SQLite file per server, beside the default history."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    name = hashlib.sha1(shown_url.encode()).hexdigest()[:12]
    return Path(base) / "opus_magic" / f"spool-{name}.sqlite"


class PgStore(HistoryStore):
    """One PostgreSQL history, a connection per thread; migrated on the first connection."""

    dialect = "postgresql"

    def __init__(self, url: str, user: str | None = None, project: str | None = None,
                 spool: str | Path | None = None) -> None:
        super().__init__()
        self._url = str.__str__(url)  # kept in memory only, never shown
        self._secret = SecretUrl(self._url)
        self.shown = str(self._secret)
        self.user, self.project = user, project
        self.spool_path = Path(spool) if spool else default_spool(self.shown)
        self._local = threading.local()
        self._lock = threading.RLock()
        self._migrated = False
        self._outage = False  # said once per outage
        self._from_spool = False
        self._spool: HistoryStore | None = None
        self._pending = self.spool_path.exists()

    def _misconfigured(self, why: str) -> StoreError:
        return StoreError(f"History server {self.shown} refused the connection ({why}): check the "
                          f"user, database and password (history_url, PGPASSWORD or ~/.pgpass); "
                          f"{PERCENT_ENCODING}.")

    def _connect(self) -> Any:
        """A new connection; the first one of this store brings the schema up to date."""
        psycopg = psycopg_module()
        try:
            connection = psycopg.connect(self._url, autocommit=True,
                                         connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.OperationalError as exc:
            why = self._secret.hide(reason(exc))
            if any(marker in why for marker in MISCONFIGURED):
                raise self._misconfigured(why) from None
            raise Unreachable(why) from None
        except psycopg.Error:  # the driver could not read the URL; its message quotes it
            raise StoreError(f"history_url {self.shown} cannot be read as a PostgreSQL URL: "
                             f"{PERCENT_ENCODING}.") from None
        try:
            with self._lock:
                if not self._migrated:
                    migrate(Schema(connection))
                    self._migrated = True
        except BaseException:
            connection.close()
            raise
        return connection

    def _once(self, work: Callable[[Any], T]) -> T:
        connection = getattr(self._local, "db", None)
        if connection is None or connection.closed:
            connection = self._local.db = self._connect()
        try:
            return work(connection)
        except BaseException:
            if connection.broken:
                self._local.db = None
                connection.close()
            raise

    def _attempt(self, work: Callable[[Any], T]) -> T:
        """Run `work` on this thread's connection; a broken connection is opened again once."""
        psycopg = psycopg_module()
        try:
            try:
                return self._once(work)
            except psycopg.OperationalError:
                return self._once(work)        # e.g. the server restarted since the last call
        except psycopg.OperationalError as exc:
            raise Unreachable(self._secret.hide(reason(exc))) from None
        except psycopg.Error as exc:
            raise StoreError(f"The history server {self.shown} refused a query "
                             f"({self._secret.hide(reason(exc))}): the user in history_url needs "
                             f"to create and write tables there.") from None

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._attempt(lambda db: db.execute(placeholders(sql, args), tuple(args) or None)
                             .fetchall())

    def _write(self, sql: str, args: Sequence[Any]) -> None:
        self._attempt(lambda db: db.execute(placeholders(sql, args), tuple(args)))

    def spool(self) -> HistoryStore:
        """The local SQLite file that keeps runs while the server is unreachable."""
        if self._spool is None:
            from opus_magic.store.sqlite import Store

            self._spool = Store(self.spool_path, self.user, self.project)
        return self._spool

    def _announce(self, why: str) -> None:
        if not self._outage:
            self._outage = True
            print(f"History server {self.shown} is unreachable ({why}): runs are kept in "
                  f"{self.spool_path} and written to the server when it is back (if it should be "
                  f"up, check the host and port in history_url).", file=sys.stderr)

    def _flush(self) -> None:
        """Write spooled runs to the server (each upserted by id, so never twice), then drop them."""
        if not self._pending:
            return
        from opus_magic.store.queries import select_runs

        with self._lock:
            spool = self.spool()
            runs = select_runs(spool, limit=None, oldest_first=True)
            rows = [to_row(run) for run in runs]

            def send(db: Any) -> None:
                with db.transaction(), db.cursor() as cursor:
                    cursor.executemany(placeholders(UPSERT, rows[0]), rows)

            if rows:
                self._attempt(send)
                for run in runs:
                    save_attachments(self, run)
                for run in runs:
                    spool._write("DELETE FROM runs WHERE id = ?", (run.id,))
                    spool._write("DELETE FROM attachments WHERE run_id = ?", (run.id,))
            self._pending = False
        if rows:
            print(f"History server {self.shown} is back: "
                  f"{plural(len(rows), 'spooled run')} written to it.",
                  file=sys.stderr)

    def _save(self, record: RunRecord) -> None:
        """Write the run to the server, or keep it in the spool while the server is away."""
        record = self.stamped(record)
        try:
            self._flush()
            self._write(UPSERT, to_row(record))
            save_attachments(self, record)
            self._outage = False
        except Unreachable as exc:
            self._announce(str(exc))
            self.spool()._save(record)
            self._pending = True

    def _read(self, query: Callable[[HistoryStore], T]) -> T:
        self.flush()
        try:
            self._flush()
            result = query(self)
            self._from_spool = self._outage = False
            return result
        except Unreachable as exc:
            self._announce(str(exc))
            self._from_spool = True
            return query(self.spool())

    def notice(self) -> str | None:
        if not self._from_spool:
            return super().notice()
        return (f"Showing only runs kept in the local spool {self.spool_path}: the history server "
                f"{self.shown} is unreachable.")

    def close(self) -> None:
        connection = getattr(self._local, "db", None)
        if connection is not None:
            connection.close()
            self._local.db = None
