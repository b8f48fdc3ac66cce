"""`--continue [RUN_ID]`: the next turn of an earlier run's conversation."""
from __future__ import annotations

import dataclasses
from typing import Any

from opus_magic.core.run.prompts import CONCISE_INSTRUCTIONS
from opus_magic.core.run.request import CellInput
from opus_magic.core.run.resend import resent
from opus_magic.core.session import Session
from opus_magic.errors import UsageError
from opus_magic.records import RunRecord
from opus_magic.store.queries import select_runs

LAST = "last"


def parent_run(session: Session, ref: str) -> RunRecord:
    """The run to continue: this session's last run (else the newest recorded), or RUN_ID."""
    store = session.store(session.settings())
    if ref == LAST:
        found = session.last_run or next(iter(select_runs(store, limit=1)), None)
        if found is None:
            raise UsageError("There is no earlier run to continue: run a cell first, "
                             "or name one with --continue RUN_ID.")
        return found
    found = store.get(ref)
    if found is None:
        raise UsageError(f"No run '{ref}' in history to continue (ids are in %opus history).")
    return found


def turns(parent: RunRecord) -> tuple[dict[str, Any], ...]:
    """The parent's conversation without its system message, ending with the parent's answer:
    in a tool loop, the tool turns stay as they were (calls the loop did not run are answered
    with why not, as the APIs want every call answered)."""
    if not parent.text and not parent.tool_calls:
        raise UsageError(f"Run {parent.id} has no answer to continue from (status {parent.status}): "
                         f"continue an earlier run with --continue RUN_ID.")
    earlier = [m for m in parent.messages if m.get("role") != "system"]
    if not parent.tool_calls:
        return (*earlier, {"role": "assistant", "content": parent.text})
    answered = {str(r.get("id")): r for r in parent.tool_results}
    results = [{"role": "tool", "tool_call_id": call.get("id"), **_result(answered.get(
        str(call.get("id"))))} for call in parent.tool_calls]
    return (*earlier, {"role": "assistant", "content": parent.text or None,
                       "tool_calls": list(parent.tool_calls)}, *results)


def _result(result: dict[str, Any] | None) -> dict[str, Any]:
    if result is None:
        return {"content": "Not run: the conversation went on without it.", "is_error": True}
    return {"content": result.get("content") or "", "is_error": result.get("status") != "ok"}


def user_system(parent: RunRecord) -> str | None:
    """The parent's own system prompt, without the concise instruction the run added to it."""
    content = next((m.get("content") for m in parent.messages if m.get("role") == "system"), None)
    if not isinstance(content, str):
        return None
    extra = CONCISE_INSTRUCTIONS.get(parent.concise, "")
    if extra and content.endswith(extra):
        content = content[:-len(extra)].removesuffix("\n\n")
    return content or None


def continue_cell(session: Session, cell: CellInput) -> CellInput:
    """The cell as the next turn: earlier messages, the parent's id, and (unless flags say
    otherwise) the parent's model, system prompt and concise mode, so the prefix stays cached;
    the parent's attachments go again with the turns they came with."""
    assert cell.continue_from is not None
    parent = parent_run(session, cell.continue_from)
    return dataclasses.replace(
        cell, history=turns(parent), parent_id=parent.id, models=cell.models or (parent.model,),
        earlier_attachments=resent(parent, session.sent) if parent.attachments else (),
        system=cell.system if cell.system is not None else user_system(parent),
        concise=cell.concise or parent.concise)
