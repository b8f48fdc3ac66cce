"""A run record as a row of the `runs` table and back, the same for every backend."""
from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from opus_magic.cost.pricing import to_pico
from opus_magic.records import RunRecord, Usage

COLUMNS = ("id", "created_at", "model", "response_model", "endpoint", "prompt", "messages",
           "params", "text", "status", "finish_reason", "input_tokens", "output_tokens",
           "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "cost", "cost_exact",
           "cost_source", "ttft_s", "duration_s", "error", "tag", "max_tokens", "concise",
           "comparison_id", "parent_id", "notes", "cache_write_1h_tokens", "cost_pico",
           "tiktoken_input", "tiktoken_output", "retry_count", "tool_call_count", "stop_reason",
           "simulator", "thinking_tokens", "cache_write_5m_tokens", "grid_id", "variant",
           "row_index", "checks", "cell_key", "rate_limits", "batch_id", "user_name", "project",
           "profile", "tools", "tool_tokens", "input_estimate", "input_exact", "price_source",
           "calibration", "api", "api_version", "cache_breakpoints", "cache_ttl", "thinking_text",
           "thinking_shown_tokens", "refused", "usage_implausible", "reused_from", "custom_id",
           "retries", "tool_calls", "legacy", "speed", "inference_geo", "web_search_requests",
           "web_fetch_requests", "chain_id", "step", "tool_results", "schema", "parsed",
           "schema_error", "ignored", "repeat_index", "judge_of", "stage", "grid_column")
JSON_COLUMNS = ("checks", "rate_limits", "parsed")  # nullable JSON values
LIST_COLUMNS = ("tools", "cache_breakpoints", "retries", "tool_calls", "tool_results",
                "ignored")  # JSON lists, NULL as []
FLAG_COLUMNS = ("cost_exact", "simulator", "input_exact", "refused", "usage_implausible")
COUNTED = ("retry_count", "tool_call_count")  # the lengths of lists, kept as columns for SQL
USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
                "reasoning_tokens", "cache_write_1h_tokens", "thinking_tokens",
                "cache_write_5m_tokens", "web_search_requests", "web_fetch_requests")
# names PostgreSQL reserves (and one kept alike)
FIELD_OF = {"user_name": "user", "row_index": "row", "repeat_index": "repeat",
            "grid_column": "column"}
SELECT = f"SELECT {', '.join(COLUMNS)} FROM runs"
UPSERT = (f"INSERT INTO runs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)}) "
          f"ON CONFLICT(id) DO UPDATE SET "
          + ", ".join(f"{name} = excluded.{name}" for name in COLUMNS if name != "id"))


def to_row(record: RunRecord) -> tuple[Any, ...]:
    """The record's values in COLUMNS order."""
    values = {
        **{name: getattr(record, FIELD_OF.get(name, name)) for name in COLUMNS
           if hasattr(record, FIELD_OF.get(name, name))},
        **{name: getattr(record.usage, name) for name in USAGE_FIELDS},
        "messages": json.dumps(record.messages, ensure_ascii=False),
        "params": json.dumps(record.params, ensure_ascii=False, default=str),
        "notes": json.dumps(record.notes, ensure_ascii=False),
        "cost": None if record.cost is None else str(record.cost),
        "cost_pico": None if record.cost is None else to_pico(record.cost),
        **{name: int(getattr(record, name)) for name in FLAG_COLUMNS},
        **{name: None if getattr(record, name) is None else json.dumps(getattr(record, name))
           for name in JSON_COLUMNS},
        **{name: json.dumps(getattr(record, name), ensure_ascii=False, default=str)
           for name in LIST_COLUMNS},
    }
    return tuple(values[name] for name in COLUMNS)


def from_row(row: Sequence[Any]) -> RunRecord:
    """A record from values in COLUMNS order (columns added later may hold NULL)."""
    data = {FIELD_OF.get(name, name): value for name, value in zip(COLUMNS, row)
            if name not in ("cost_pico", *COUNTED)}
    data.update({name: None if data[name] is None else json.loads(data[name])
                 for name in JSON_COLUMNS})
    data.update({name: [] if data[name] is None else json.loads(data[name])
                 for name in LIST_COLUMNS})
    data.update({name: bool(data[name]) for name in FLAG_COLUMNS})
    usage = Usage(**{name: data.pop(name) or 0 for name in USAGE_FIELDS})
    data.update(
        usage=usage,
        messages=json.loads(data["messages"]),
        params=json.loads(data["params"]),
        notes=json.loads(data["notes"]),
        cost=None if data["cost"] is None else Decimal(data["cost"]),
        tool_tokens=data["tool_tokens"] or 0,
        thinking_text=data["thinking_text"] or "",
    )
    return RunRecord(**data)
