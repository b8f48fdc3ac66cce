"""The attachments of runs in the history: written with their run, read back with it, and the
uploaded file a hash was last sent as."""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from opus_magic.records import AttachedFile, RunRecord

T = TypeVar("T")

FIELDS = ("run_id", "position", "turn", "name", "media_type", "kind", "size", "sha256", "width",
          "height", "pages", "tokens", "tokens_exact", "file_id", "source", "notes", "data")
INSERT = (f"INSERT INTO attachments ({', '.join(FIELDS)}) "
          f"VALUES ({', '.join('?' for _ in FIELDS)})")
BATCH = 500  # run ids a lookup names at a time (SQLite allows 32,766 parameters)


class Backend(Protocol):
    """The calls of a history store these functions make (store/base.py's HistoryStore)."""

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def _write(self, sql: str, args: Sequence[Any]) -> None: ...

    def _read(self, query: Callable[[Any], T]) -> T: ...


def to_row(run_id: str, position: int, attached: AttachedFile) -> tuple[Any, ...]:
    """One attachment as a row of the `attachments` table."""
    width, height = attached.pixels or (None, None)
    return (run_id, position, attached.turn, attached.name, attached.media_type, attached.kind,
            attached.size, attached.sha256, width, height, attached.pages, attached.tokens,
            int(attached.tokens_exact), attached.file_id, attached.source,
            json.dumps(list(attached.notes), ensure_ascii=False), attached.data)


def from_row(row: Sequence[Any]) -> AttachedFile:
    """An attachment from a row in FIELDS order (less the run id and position)."""
    data = dict(zip(FIELDS, row))
    width, height, kept = data["width"], data["height"], data["data"]
    return AttachedFile(
        name=data["name"], media_type=data["media_type"], kind=data["kind"], size=data["size"],
        sha256=data["sha256"], pixels=(width, height) if width and height else None,
        pages=data["pages"], tokens=data["tokens"], tokens_exact=bool(data["tokens_exact"]),
        file_id=data["file_id"], source=data["source"], turn=data["turn"],
        notes=tuple(json.loads(data["notes"] or "[]")),
        data=None if kept is None else bytes(kept))


def save_attachments(store: Backend, record: RunRecord) -> None:
    """Write a run's attachments (after its row); a run saved again keeps one set of them."""
    if not record.attachments:
        return
    store._write("DELETE FROM attachments WHERE run_id = ?", (record.id,))
    for position, attached in enumerate(record.attachments):
        store._write(INSERT, to_row(record.id, position, attached))


def with_attachments(store: Backend, records: list[RunRecord]) -> list[RunRecord]:
    """The records with their attachments read back (one query per few hundred runs)."""
    found: dict[str, list[AttachedFile]] = {}
    ids = [record.id for record in records]
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        rows = store._rows(f"SELECT {', '.join(FIELDS)} FROM attachments WHERE run_id IN "
                           f"({', '.join('?' for _ in chunk)}) ORDER BY run_id, position", chunk)
        for row in rows:
            found.setdefault(row[0], []).append(from_row(row))
    return [record.replace(attachments=found[record.id]) if record.id in found else record
            for record in records]


def uploaded_file(store: Backend, sha256: str, endpoint: str) -> str | None:
    """The file_id these bytes were last sent as through `endpoint`'s Files API, if any."""
    rows = store._read(lambda backend: backend._rows(
        "SELECT a.file_id FROM attachments a JOIN runs r ON r.id = a.run_id "
        "WHERE a.sha256 = ? AND r.endpoint = ? AND a.file_id IS NOT NULL "
        "ORDER BY r.created_at DESC LIMIT 1", (sha256, endpoint)))
    return rows[0][0] if rows else None
