"""Claiming grid cells in the history before sending them, as batches already are: two kernels
(or two students on one PostgreSQL history) running the same grid never pay for a cell twice;
the second waits for the first's answer and reuses it.

A claim lasts `LEASE_S` and its owner's heartbeat keeps it in force while the grid runs, so the
claims of a kernel that died free themselves within seconds. A history that cannot take claims
(unreachable, read-only) claims nothing: the cells run as they would alone.
"""
from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable

from opus_magic.core.grid.spec import Grid, GridCell
from opus_magic.errors import StoreError
from opus_magic.records import RunRecord
from opus_magic.store import claims
from opus_magic.store.base import HistoryStore
from opus_magic.store.grids import reusable

LEASE_S = 30.0  # how long a claim holds without its owner's heartbeat
HEARTBEAT_S = 10.0
POLL_S = 0.25  # how often a kernel waiting for another's cell looks again
Clock = Callable[[], float]


class Claims:
    """The claims one grid run holds, and the waiting for cells another run holds."""

    def __init__(self, store: HistoryStore, grid: Grid, fresh_since: str | None,
                 clock: Clock = time.time) -> None:
        self.store, self.grid, self.clock = store, grid, clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.fresh_since = fresh_since  # with --fresh, only answers given since then count
        self._stop = threading.Event()

    def cell_id(self, cell: GridCell) -> str:
        return json.dumps([self.grid.id, cell.variant, cell.row, cell.key, cell.repeat])

    def take(self, cell: GridCell) -> bool:
        """Claim the cell; False while another run holds it (True when claims cannot be made)."""
        now = self.clock()
        try:
            return claims.claim(self.store, self.cell_id(cell), self.owner, now + LEASE_S,
                                now) == self.owner
        except StoreError:
            return True

    def answer(self, cell: GridCell) -> RunRecord | None:
        """This grid's finished answer to the cell, if another run recorded one meanwhile."""
        try:
            found = reusable(self.store, [cell.key or ""]).get(cell.key or "", [])
        except StoreError:
            return None
        own = [r for r in found if r.grid_id == self.grid.id and r.variant == cell.variant
               and r.row == cell.row and (r.repeat or 0) == cell.repeat
               and r.created_at >= (self.fresh_since or "")]
        return own[-1] if own else None

    def acquire(self, cell: GridCell, cancel: threading.Event,
                wait: bool) -> RunRecord | bool:
        """True when the cell is ours to run; another run's answer to it, to reuse; False while
        another run holds it (unless `wait`: then until it ends) or once the grid stopped."""
        while True:
            if self.take(cell):
                found = self.answer(cell)  # answered elsewhere since this grid began
                if found is not None:
                    self.release(cell)
                return found or True
            if not wait or cancel.wait(POLL_S):
                return False

    def release(self, cell: GridCell) -> None:
        """The cell ended here (its record is written): others may look for its answer."""
        try:
            claims.release(self.store, self.cell_id(cell), self.owner)
        except StoreError:
            pass

    def heartbeat(self) -> None:
        """Keep this run's claims in force until `stop()`, in a thread of its own."""
        def beat() -> None:
            while not self._stop.wait(HEARTBEAT_S):
                try:
                    claims.extend(self.store, self.owner, self.clock() + LEASE_S)
                except StoreError:
                    pass

        threading.Thread(target=beat, name="opus-grid-claims", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
