"""`--continue [RUN_ID]`: the next turn of an earlier run's conversation."""
from __future__ import annotations

import dataclasses
from typing import Any

from opus_magic.core.history.select import model_names
from opus_magic.core.run.attach.resend import resent
from opus_magic.core.run.prompts import CONCISE_INSTRUCTIONS
from opus_magic.core.run.request import CellInput
from opus_magic.core.session import Session
from opus_magic.errors import UsageError
from opus_magic.records import RunRecord
from opus_magic.store.base import HistoryStore
from opus_magic.store.queries import RunFilter, runs_of_comparison, select_runs

LAST = "last"


def parent_run(session: Session, ref: str) -> RunRecord:
    """The run to continue: this session's last run (else the newest recorded), RUN_ID, or the
    newest run of MODEL (of the last comparison first)."""
    store = session.store(session.settings())
    last = session.last_run or next(iter(select_runs(store, limit=1)), None)
    if ref == LAST:
        if last is None:
            raise UsageError("There is no earlier run to continue: run a cell first, "
                             "or name one with --continue RUN_ID.")
        return last
    found = store.get(ref) or _of_model(session, store, last, ref)
    if found is None:
        raise UsageError(f"No run '{ref}' in history to continue, and no run of a model called "
                         f"that: use --continue RUN_ID (ids are in %opus history) or --continue "
                         f"MODEL.")
    return found


def _of_model(session: Session, store: HistoryStore, last: RunRecord | None,
              name: str) -> RunRecord | None:
    """The newest run of model `name` (an id or an alias): in the last comparison, else any."""
    names = set(model_names(name, session.catalog(session.settings())))
    siblings = (runs_of_comparison(store, last.comparison_id) if last and last.comparison_id
                else [last] if last else [])
    for run in reversed(siblings):
        if {run.model, run.response_model} & names:
            return run
    return next(iter(select_runs(store, RunFilter(models=tuple(names)), limit=1)), None)


def which(store: HistoryStore, parent: RunRecord) -> str:
    """What a continued cell says it continues: the run, its model, and in a comparison the
    other models `--continue MODEL` would pick."""
    said = f"Continues run {parent.id} ({parent.response_model or parent.model})"
    if not parent.comparison_id:
        return said + "."
    others = [run.model for run in runs_of_comparison(store, parent.comparison_id)
              if run.id != parent.id]
    if not others:
        return said + "."
    picks = " or ".join(f"--continue {model}" for model in dict.fromkeys(others))
    return f"{said}, one of comparison {parent.comparison_id}: {picks} picks another."


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
    said = which(session.store(session.settings()), parent)
    return dataclasses.replace(
        cell, history=turns(parent), parent_id=parent.id, models=cell.models or (parent.model,),
        notes=(*cell.notes, said),
        earlier_attachments=resent(parent, session.sent) if parent.attachments else (),
        system=cell.system if cell.system is not None else user_system(parent),
        concise=cell.concise or parent.concise)
