"""Choosing and listing runs from the store."""
from __future__ import annotations

from typing import Any

from .pricing import format_usd
from .records import RunRecord
from .store import Store


def select(store: Store, limit: int | None = 20, model: str | None = None, tag: str | None = None,
           search: str | None = None, since: str | None = None) -> list[RunRecord]:
    """Newest runs first, filtered by model (requested or answered), tag, text and time."""
    where: list[str] = []
    args: list[Any] = []
    if model:
        where.append("(model = ? OR response_model = ?)")
        args += [model, model]
    if tag:
        where.append("tag = ?")
        args.append(tag)
    if search:
        where.append("(prompt LIKE ? OR text LIKE ?)")
        args += [f"%{search}%"] * 2
    if since:
        where.append("created_at >= ?")
        args.append(since)
    return store.query(where, args, limit=limit)


def format_table(runs: list[RunRecord]) -> str:
    if not runs:
        return "No runs recorded yet."
    header = f"{'id':<12}  {'created':<19}  {'model':<22} {'status':<11} {'in':>7} {'out':>7} {'cost':>10}  prompt"
    lines = [header]
    for run in runs:
        prompt = " ".join(run.prompt.split())[:40]
        cost = format_usd(run.cost, not run.cost_exact)
        lines.append(f"{run.id:<12}  {run.created_at[:19]:<19}  {run.model[:22]:<22} {run.status:<11} "
                     f"{run.usage.input_tokens:>7,} {run.usage.output_tokens:>7,} {cost:>10}  {prompt}")
    return "\n".join(lines)
