"""Tool loops from the history: the steps of the loop a run belongs to, and what its tools
cost it."""
from __future__ import annotations

from opus_magic.core.tools.cost import Overhead, overhead
from opus_magic.cost.catalog import Catalog
from opus_magic.records import RunRecord
from opus_magic.store.base import HistoryStore
from opus_magic.store.queries import runs_of_chain


def chain_of(store: HistoryStore, record: RunRecord) -> list[RunRecord]:
    """Every step of the loop `record` is a step of (just `record` outside a loop)."""
    if record.chain_id is None:
        return [record]
    return runs_of_chain(store, record.chain_id) or [record]


def chain_overhead(steps: list[RunRecord], catalog: Catalog) -> Overhead | None:
    """What the tool definitions and the tool-use system prompt cost across the steps."""
    return overhead([(step.tool_tokens, catalog.get(step.response_model or step.model)
                      or catalog.get(step.model), step) for step in steps])
