"""Migration m011: the facts about a run that code reads, each in a column of its own."""
from __future__ import annotations

import json
from typing import Any

from opus_magic.store.schema.registry import ddl, migration

FACT_COLUMNS = ("profile TEXT", "tools TEXT", "tool_tokens INTEGER", "input_estimate INTEGER",
                "input_exact INTEGER", "price_source TEXT", "calibration TEXT", "api TEXT",
                "api_version TEXT", "cache_breakpoints TEXT", "cache_ttl TEXT",
                "thinking_text TEXT", "thinking_shown_tokens INTEGER", "refused INTEGER",
                "usage_implausible INTEGER", "reused_from TEXT", "custom_id TEXT", "retries TEXT",
                "tool_calls TEXT", "legacy TEXT", "speed TEXT", "inference_geo TEXT")
# params key -> column, for the facts kept in `params` until now; lists are written as JSON
FACTS_IN_PARAMS = {"profile": "profile", "tools": "tools", "tool_tokens": "tool_tokens",
                   "input_tokens_estimate": "input_estimate", "input_count": "input_exact",
                   "price_source": "price_source", "calibration": "calibration", "api": "api",
                   "api_version": "api_version", "cache_breakpoints": "cache_breakpoints",
                   "cache_ttl": "cache_ttl", "thinking_text": "thinking_text",
                   "thinking_shown_tokens": "thinking_shown_tokens", "refused": "refused",
                   "usage_implausible": "usage_implausible", "reused_from": "reused_from",
                   "custom_id": "custom_id", "retries": "retries", "tool_calls": "tool_calls",
                   "legacy": "legacy", "speed": "speed", "inference_geo": "inference_geo"}
# facts that already had a column (m005), or that the batches table holds (the provider's id)
DROPPED_PARAMS = ("simulator", "stop_reason", "tiktoken_input", "tiktoken_output", "batch")


def _fact_value(key: str, value: Any) -> Any:
    if key == "input_count":
        return int(value == "exact")
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


@migration
def m011_typed_facts(db: Any) -> None:
    """Every fact about a run that code reads gets a column of its own; `params` keeps only the
    parameters that were sent, and the values kept there until now move into their columns."""
    for column in FACT_COLUMNS:
        ddl(db, f"ALTER TABLE runs ADD COLUMN {column}")
    moved = (*FACTS_IN_PARAMS, *DROPPED_PARAMS)
    updates = []
    for run_id, params in db.execute("SELECT id, params FROM runs WHERE params <> '{}'").fetchall():
        data = json.loads(params)
        if not any(key in data for key in moved):
            continue
        values = [_fact_value(key, data.get(key)) if key in data else None
                  for key in FACTS_IN_PARAMS]
        kept = {key: value for key, value in data.items() if key not in moved}
        updates.append((*values, json.dumps(kept, ensure_ascii=False), run_id))
    sets = ", ".join(f"{column} = ?" for column in FACTS_IN_PARAMS.values())
    db.executemany(f"UPDATE runs SET {sets}, params = ? WHERE id = ?", updates)
