"""Migration m019: the column a grid cell sits in, so a grid read back from the history shows
its columns in the order it ran them, whichever cell happened to start first."""
from __future__ import annotations

from typing import Any

from opus_magic.store.schema.registry import ddl, migration


@migration
def m019_grid_columns(db: Any) -> None:
    """`grid_column`: a grid cell's (variant, model) column, from 0 in the order its table shows
    them (NULL outside a grid, and on runs written before it was kept)."""
    ddl(db, "ALTER TABLE runs ADD COLUMN grid_column INTEGER")
