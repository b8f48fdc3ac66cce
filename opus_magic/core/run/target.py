"""Where a run goes and how it is carried out: settled once per cell, read by every plan of it."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from opus_magic.cost.catalog import ModelInfo
from opus_magic.wire.apis import transport_for
from opus_magic.wire.endpoints import Endpoint
from opus_magic.wire.retry import RetryPolicy
from opus_magic.wire.transport import Transport

if TYPE_CHECKING:
    from opus_magic.cost.calibration import Calibration


@dataclass(frozen=True, kw_only=True)
class Target:
    """A model as resolved for a cell: its catalog id and facts, the endpoint it goes to, the name
    sent there, notes for the user (e.g. that the simulator answers), and how far tiktoken's
    counts are from its own tokenizer."""

    requested: str
    model_id: str
    info: ModelInfo | None
    endpoint: Endpoint
    wire_model: str
    notes: tuple[str, ...] = ()
    calibration: Calibration | None = None
    legacy: str | None = None  # "legacy: Opus 5.5 is current, 20 % cheaper"

    @property
    def transport(self) -> Transport:
        """The wire API the endpoint speaks."""
        return transport_for(self.endpoint.api)


class StoreKey(NamedTuple):
    """Which history a run is recorded in: a file or server, and as whom, for which project."""

    location: str
    user: str
    project: str


@dataclass(frozen=True, kw_only=True)
class RunPolicy:
    """How a plan is carried out, from the settings in force when it was made: the history it
    is recorded in, its retries and the endpoint's circuit breaker, the request timeout, the
    session budget's cap and the view that shows it."""

    store: StoreKey
    retry: RetryPolicy = RetryPolicy()
    breaker_threshold: int = 5
    breaker_cooldown_s: float = 30.0
    timeout_s: float = 60.0
    budget: Decimal | None = None
    view: str = "auto"
