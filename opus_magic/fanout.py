"""Running several plans at once: one thread per model, one comparison id for all."""
from __future__ import annotations

import threading
from collections.abc import Sequence

from .config import Settings
from .engine import Observer, Plan
from .records import RunRecord
from .session import Session


def execute_all(session: Session, runs: Sequence[tuple[Plan, Settings]],
                observers: Sequence[Observer], cancel: threading.Event | None = None) -> list[RunRecord]:
    """Execute every plan concurrently; wall time is the slowest run, not the sum.

    One run failing does not stop the others: each ends in its own record.
    """
    cancel = cancel or threading.Event()
    records: list[RunRecord | None] = [None] * len(runs)

    def work(index: int) -> None:
        plan, settings = runs[index]
        records[index] = session.execute(plan, settings, observers[index], cancel)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(runs))]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except KeyboardInterrupt:
        cancel.set()
        for thread in threads:
            thread.join()
    return [record for record in records if record is not None]
