"""What every history backend provides: save, get, and rows for the named queries in `queries`."""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from opus_magic.errors import NotRecorded, StoreError, UsageError
from opus_magic.records import RunRecord
from opus_magic.store.attachments import save_attachments, with_attachments
from opus_magic.store.rows import SELECT, UPSERT, from_row, to_row

T = TypeVar("T")


class HistoryStore:
    """A history of runs. Subclasses supply `_rows` and `_write` in their SQL dialect.

    A run that cannot be written (a full disk, a read-only folder, a locked file) is kept in
    `unsaved` and written, in order, before the next save or read that finds the history
    writable again; runs are upserted by id, so none is written twice.
    """

    dialect = "sqlite"
    user: str | None = None
    project: str | None = None

    def __init__(self) -> None:
        self._unsaved: dict[str, RunRecord] = {}
        self._unsaved_lock = threading.Lock()

    @property
    def unsaved(self) -> list[RunRecord]:
        """The runs this store could not write yet, oldest first."""
        with self._unsaved_lock:
            return list(self._unsaved.values())

    def flush(self) -> None:
        """Write the runs kept meanwhile; those that still cannot be written stay kept."""
        if not self._unsaved:
            return
        with self._unsaved_lock:
            while self._unsaved:
                record = next(iter(self._unsaved.values()))
                try:
                    self._save(record)
                except StoreError:
                    return
                del self._unsaved[record.id]

    def _keep(self, record: RunRecord) -> None:
        with self._unsaved_lock:
            self._unsaved.pop(record.id, None)
            self._unsaved[record.id] = record

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _write(self, sql: str, args: Sequence[Any]) -> None:
        raise NotImplementedError

    def _read(self, query: Callable[[HistoryStore], T]) -> T:
        """Run a named query (after writing the runs kept meanwhile, when it can); a backend that
        can fall back to a local copy overrides this."""
        self.flush()
        return query(self)

    def notice(self) -> str | None:
        """One line to show beside results (e.g. that they come from a local spool), or None."""
        kept = len(self._unsaved)
        if not kept:
            return None
        return (f"{kept} run{'s' if kept > 1 else ''} of this session could not be written yet "
                f"and {'are' if kept > 1 else 'is'} not shown: `opus_magic.unsaved()` lists them.")

    def stamped(self, record: RunRecord) -> RunRecord:
        """The record with this store's user and project, where it names none."""
        return record.replace(user=record.user or self.user, project=record.project or self.project)

    def save(self, record: RunRecord) -> None:
        """Insert one run, or update it in place (an update keeps the search index in step).

        When it cannot be written, it is kept (see `unsaved`) and NotRecorded says why."""
        self.flush()
        try:
            self._save(record)
        except StoreError as exc:
            self._keep(record)
            raise NotRecorded(str(exc), exc.reason) from None

    def _save(self, record: RunRecord) -> None:
        self._write(UPSERT, to_row(self.stamped(record)))
        save_attachments(self, record)

    def get(self, run_id: str) -> RunRecord | None:
        """A run by id or unique id prefix; a prefix shared by several runs is a UsageError."""
        rows = self._read(lambda store: store._rows(
            f"{SELECT} WHERE id = ? OR id LIKE ? || '%' ORDER BY id LIMIT 3", (run_id, run_id)))
        exact = [row for row in rows if row[0] == run_id]
        if exact or len(rows) == 1:
            record = from_row((exact or rows)[0])
            return self._read(lambda store: with_attachments(store, [record]))[0]
        if rows:
            shown = ", ".join(row[0] for row in rows[:2]) + (", …" if len(rows) > 2 else "")
            raise UsageError(f"'{run_id}' is the start of several run ids ({shown}): give more of "
                             f"the id (see %opus history).")
        return None

    def close(self) -> None:
        """Release connections (the store can still be used afterwards)."""
