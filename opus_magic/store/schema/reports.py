"""Migration m013: the providers' usage and cost reports, kept per UTC day once fetched."""
from __future__ import annotations

from typing import Any

from opus_magic.store.schema.registry import ddl, migration


@migration
def m013_report_cache(db: Any) -> None:
    """What a provider's reports said for one UTC day, so reconciling the same days again reads
    nothing over the network. `source` names the provider, where its reports were read and a
    fingerprint of the admin key (never the key); `complete` is 1 once the day had ended before
    it was fetched."""
    ddl(db, """
        CREATE TABLE report_days (
            source TEXT NOT NULL,
            day TEXT NOT NULL,
            report TEXT NOT NULL,
            fetched_at TEXT NOT NULL,
            complete INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (source, day)
        )""")
