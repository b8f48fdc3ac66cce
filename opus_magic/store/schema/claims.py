"""Migrations m015 and m016: values an endpoint sent that were ignored, and grid cells claimed
by the kernel running them."""
from __future__ import annotations

from typing import Any

from opus_magic.store.schema.registry import ddl, migration


@migration
def m015_ignored_values(db: Any) -> None:
    """What the endpoint sent that could not be right (a count of 'lots', an infinite cost) and
    was ignored, one line each, as a JSON list."""
    ddl(db, "ALTER TABLE runs ADD COLUMN ignored TEXT")


@migration
def m016_cell_claims(db: Any) -> None:
    """Grid cells claimed before they are sent, so two kernels running the same grid never pay
    for one cell twice: a claim lasts until `expires_at` (seconds since the epoch), which its
    owner keeps moving while it runs, and is deleted once the cell has ended."""
    ddl(db, """
        CREATE TABLE cell_claims (
            cell TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            expires_at REAL NOT NULL
        )""")
