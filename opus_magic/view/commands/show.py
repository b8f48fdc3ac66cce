"""`%opus show RUN_ID`: one run as text, long prompts and answers folded unless asked in full."""
from __future__ import annotations

from typing import Any

from opus_magic.records import RunRecord
from opus_magic.view import format as fmt
from opus_magic.view.run.chips import attached_line
from opus_magic.view.run.text import summary_line
from opus_magic.wording import plural

FOLD_LINES = 12  # a field longer than this many lines shows its first ones ...
KEEP_LINES = 8   # ... these, then how many more there are
FOLD_CHARS = 2_000  # the same for a field of few but very long lines
KEEP_CHARS = 1_200


def fold(text: str, run_id: str) -> str:
    """A long field's first lines and how much more there is, with how to see it whole."""
    lines = text.splitlines()
    more = f"`%opus show {run_id} --full`"
    if len(lines) > FOLD_LINES:
        return "\n".join([*lines[:KEEP_LINES],
                          f"… {plural(len(lines) - KEEP_LINES, 'more line')}: {more}"])
    if len(text) > FOLD_CHARS:
        left = plural(len(text) - KEEP_CHARS, "more character")
        return f"{text[:KEEP_CHARS]}\n… {left}: {more}"
    return text


def show_text(record: RunRecord, full: bool = False) -> str:
    """The run's summary, settings, cost, notes, attachments, messages and answer."""
    def field(value: Any) -> str:
        return str(value) if full else fold(str(value), record.id)

    lines = [summary_line(record),
             f"created {record.created_at} · status {record.status} · endpoint {record.endpoint}"
             f" · tag {record.tag or '–'} · concise {record.concise}"
             f" · max_tokens {record.max_tokens}"
             f" · comparison {record.comparison_id or '–'}",
             f"cost {fmt.run_cost(record)} ({_cost_source(record)})"]
    if record.error:
        lines.append(f"error: {record.error}")
    lines.extend(f"note: {note}" for note in record.notes)
    lines.extend(attached_line(attached) for attached in record.attachments)
    for message in record.messages:
        lines.append(f"--- {message['role']}\n{field(message.get('content'))}")
    lines.append(f"--- assistant ({record.response_model or record.model})\n{field(record.text)}")
    return "\n".join(lines)


def _cost_source(record: RunRecord) -> str:
    priced = record.price_source
    return f"{record.cost_source}, prices from {priced}" if priced else record.cost_source
