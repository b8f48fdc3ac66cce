"""Batches sent to the built-in simulator: they live only as long as the kernel that sent them."""
from __future__ import annotations

from opus_magic.config import SIMULATOR
from opus_magic.errors import RequestError
from opus_magic.records import BatchRow

LOST = "lost"  # a batch the built-in simulator of an ended kernel held: its results are gone
LOST_REASON = ("it went to the built-in simulator of a kernel that has ended, and its results "
               "ended with it (nothing was billed): run the cells again to send them anew.")


def gone(row: BatchRow, exc: RequestError) -> bool:
    """Whether a built-in simulator's batch is lost: its kernel ended (port closed or reused)."""
    closed = exc.status is None and exc.retryable
    return row.profile == SIMULATOR and (exc.status == 404 or closed)
