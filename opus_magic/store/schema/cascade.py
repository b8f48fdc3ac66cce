"""Migration m018: the stage of a cascade a run answered at."""
from __future__ import annotations

from typing import Any

from opus_magic.store.schema.registry import ddl, migration


@migration
def m018_cascade_stage(db: Any) -> None:
    """A cascade's attempt at a row records its stage (1 for the first model, 2 for the next,
    ...); NULL for every other run, a comparison run of the last model alone included."""
    ddl(db, "ALTER TABLE runs ADD COLUMN stage INTEGER")
