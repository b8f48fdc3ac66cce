"""`%opus batches` and `opus-magic batches`: list, collect, cancel and resubmit provider batches."""
from __future__ import annotations

from opus_magic.core.batch import submit as batch
from opus_magic.core.session import Session
from opus_magic.errors import UsageError
from opus_magic.view.grid.batches import (
    batch_state,
    batches_table,
    collected_text,
    counts_text,
)

USAGE = "Use %opus batches [collect [ID] | cancel ID | resubmit ID] (ids are in %opus batches)."


def batches_text(session: Session, args: list[str]) -> str:
    """What a batches command did, as text; `args` is the words after `batches`."""
    action, rest = (args[0], args[1:]) if args else ("list", [])
    if action == "list" and not rest:
        rows, problems = batch.poll(session)
        return "\n".join([batches_table(rows), *problems])
    if action == "collect" and len(rest) <= 1:
        done = batch.collect(session, rest[0] if rest else None)
        return collected_text(done.batches, done.runs)
    if action == "cancel" and len(rest) == 1:
        row = batch.cancel(session, rest[0])
        return (f"Cancel requested for {row.id}: {batch_state(row)} ({counts_text(row.counts)}). "
                f"Requests already done are still billed; collect them with "
                f"`%opus batches collect {row.id}` once it has ended.")
    if action == "resubmit" and len(rest) == 1:
        new = batch.resubmit(session, rest[0])
        return (f"Resubmitted {len(new.cells)} errored or expired requests as batch {new.id} "
                f"({new.provider_batch_id}); collect it with `%opus batches collect {new.id}`.")
    raise UsageError(USAGE)


def cmd_batches(session: Session, args: list[str]) -> None:
    print(batches_text(session, args))
