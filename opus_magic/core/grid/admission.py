"""Budget admission for a grid: a cell starts only while what the session spent, what is running
and the worst cases of the cells admitted stay under the budget cap."""
from __future__ import annotations

import threading
from decimal import Decimal

from opus_magic.core.budget import Budget
from opus_magic.core.grid.mirror import POLL_S
from opus_magic.cost.pricing import format_usd


class Reservations:
    """Budget admission for a grid: spent + running + admitted worst cases never pass the cap."""

    def __init__(self, budget: Budget, cap: Decimal | None) -> None:
        self.budget, self.cap = budget, cap
        self.reserved = Decimal(0)
        self.holding = 0
        self._cond = threading.Condition()

    def admit(self, worst: Decimal | None, cancel: threading.Event) -> str | None:
        """Reserve a cell's worst case, waiting for running cells to end; else why not."""
        if self.cap is None:
            return None
        if worst is None:
            return "its price is unknown, so the budget cannot be kept"
        with self._cond:
            while not cancel.is_set():
                committed = self.budget.committed()
                if committed + self.reserved + worst <= self.cap:
                    self.reserved += worst
                    self.holding += 1
                    return None
                if self.holding == 0:
                    left = max(self.cap - committed, Decimal(0))
                    return (f"over the session budget (worst case {format_usd(worst)}, "
                            f"{format_usd(left)} of {format_usd(self.cap)} left)")
                self._cond.wait(POLL_S)
        return "stopped"

    def release(self, worst: Decimal | None) -> None:
        if self.cap is None or worst is None:
            return
        with self._cond:
            self.reserved -= worst
            self.holding -= 1
            self._cond.notify_all()
