"""Migration m014: tool loops (a chain of model calls and the tool results between them),
server tools' request counts, and answers asked to follow a schema."""
from __future__ import annotations

from typing import Any

from opus_magic.store.schema.registry import ddl, migration


@migration
def m014_tool_loops(db: Any) -> None:
    """Each model call of a tool loop is a run: its chain and step, the results of the calls it
    made; web searches and fetches as usage; the schema asked for, the parsed answer or why it
    does not match."""
    for column in ("web_search_requests INTEGER DEFAULT 0", "web_fetch_requests INTEGER DEFAULT 0",
                   "chain_id TEXT", "step INTEGER", "tool_results TEXT", "schema TEXT",
                   "parsed TEXT", "schema_error TEXT"):
        ddl(db, f"ALTER TABLE runs ADD COLUMN {column}")
    db.execute("CREATE INDEX runs_chain ON runs(chain_id, step)")
