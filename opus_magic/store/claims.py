"""Grid cells claimed in the history before they are sent, so kernels sharing it never send the
same cell twice at once."""
from __future__ import annotations

from opus_magic.store.base import HistoryStore


def claim(store: HistoryStore, cell: str, owner: str, expires_at: float, now: float) -> str:
    """Claim `cell` for `owner` unless another owner's claim on it is still in force (one whose
    `expires_at` has passed is taken over); returns the owner holding it afterwards."""
    def work(backend: HistoryStore) -> str:
        taken = backend._rows(  # one statement: a grid claims every cell it sends
            "INSERT INTO cell_claims (cell, owner, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT (cell) DO UPDATE SET owner = excluded.owner, "
            "expires_at = excluded.expires_at WHERE cell_claims.expires_at < ? RETURNING owner",
            (cell, owner, expires_at, now))
        if taken:
            return owner
        rows = backend._rows("SELECT owner FROM cell_claims WHERE cell = ?", (cell,))
        return str(rows[0][0]) if rows else owner

    return store._read(work)


def extend(store: HistoryStore, owner: str, expires_at: float) -> None:
    """Keep every claim of `owner` in force until `expires_at`."""
    store._read(lambda backend: backend._write(
        "UPDATE cell_claims SET expires_at = ? WHERE owner = ?", (expires_at, owner)))


def release(store: HistoryStore, cell: str, owner: str) -> None:
    """Give up `owner`'s claim on `cell` (its run has ended, answered or not)."""
    store._read(lambda backend: backend._write(
        "DELETE FROM cell_claims WHERE cell = ? AND owner = ?", (cell, owner)))
