"""Batch requests with tools or a schema: what a collected result needs to be checked against
its schema, and the tool calls of a loop's first step (the batch runs that step only; the
kernel that submitted it goes on with the loop)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opus_magic.core.run.plan import Plan
from opus_magic.core.schema.answer import check
from opus_magic.core.schema.spec import OutputSchema
from opus_magic.records import RunRecord
from opus_magic.wire.batch.results import BatchResult

LOOP_NOTE = ("The batch ran the first step of a tool loop: the model asks for {calls}. The kernel "
             "that submitted the batch goes on with the loop as it collects it; elsewhere the "
             "calls are shown, not run.")


def batch_shape(plan: Plan) -> dict[str, Any]:
    """What a cell's collected result is checked against: its schema (name and JSON schema)."""
    schema = plan.request.output_schema
    return {} if schema is None else {"schema": {"name": schema.name,
                                                 "json_schema": schema.json_schema}}


def shaped(record: RunRecord, cell: Mapping[str, Any], result: BatchResult) -> RunRecord:
    """A collected run with its tool calls, and checked against its schema when it answered."""
    record = record.replace(tool_calls=list(result.tool_calls))
    if result.tool_calls:
        calls = ", ".join(str((c.get("function") or {}).get("name")) for c in result.tool_calls)
        record = record.replace(notes=[*record.notes, LOOP_NOTE.format(calls=calls)])
    raw = cell.get("schema")
    if raw is None:
        return record
    schema = OutputSchema(raw["name"], raw["json_schema"])
    if result.tool_calls or result.outcome != "succeeded":
        return record.replace(schema=schema.name)
    checked = check(result.text, schema, result.finish_reason)
    return record.replace(schema=schema.name, parsed=checked.parsed, schema_error=checked.error)
