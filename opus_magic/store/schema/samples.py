"""Migration m017: a grid cell sampled several times, and the judge runs that score answers."""
from __future__ import annotations

from typing import Any

from opus_magic.store.schema.registry import ddl, migration


@migration
def m017_repeats_and_judges(db: Any) -> None:
    """`repeat_index`: which sample of its grid cell a run is (from 0; NULL outside a grid);
    `judge_of`: on a judge's run, the id of the answer it scored (NULL on every other run)."""
    ddl(db, "ALTER TABLE runs ADD COLUMN repeat_index INTEGER")
    ddl(db, "ALTER TABLE runs ADD COLUMN judge_of TEXT")
