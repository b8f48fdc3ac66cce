"""IPython magics and widgets for prompt experiments against flagship models, with cost truth."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__version__ = "0.1.0"


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext opus_magic`: register `%%opus`, `%opus` and their settings."""
    from opus_magic.notebook.extension import load

    load(ipython)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The Jupyter server extension that keeps live-only widget outputs out of saved notebooks."""
    return [{"module": "opus_magic.notebook.save_hook"}]


def last_run() -> Any:
    """The record of the last run in this process (magic or Python API), or None."""
    from opus_magic.core.session import default_session

    return default_session().last_run


def unsaved() -> list[Any]:
    """The runs of this session the history could not record yet (a full disk, a read-only
    folder, a locked file), oldest first; each is written as soon as the history can be, and
    calling this tries once more."""
    from opus_magic.core.session import default_session

    return default_session().unsaved()


def history(limit: int | None = 20, model: str | None = None, tag: str | None = None,
            search: str | None = None, since: str | None = None, user: str | None = None,
            project: str | None = None) -> list[Any]:
    """Recorded runs, newest first: by model or alias, tag, words in prompt or answer, time or
    age, user and project."""
    from opus_magic.core.history.select import select
    from opus_magic.core.session import default_session

    session = default_session()
    settings = session.settings()
    return select(session.store(settings), limit=limit, model=model, tag=tag, search=search,
                  since=since, user=user, project=project, catalog=session.catalog(settings))


def history_frame(limit: int | None = None, model: str | None = None, tag: str | None = None,
                  search: str | None = None, since: str | None = None, user: str | None = None,
                  project: str | None = None) -> Any:
    """The same runs as `history(...)` as a pandas DataFrame (all runs unless `limit`)."""
    from opus_magic.store.export import frame

    return frame(history(limit, model=model, tag=tag, search=search, since=since, user=user,
                         project=project))


def summary(grid_id: str | None = None) -> Any:
    """A recorded grid's summary (the last grid unless `grid_id`, an id or its start) as a
    pandas DataFrame, one row per variant × model: pass rate, score, cost per call, cost per
    correct answer and latency, each beside its 95 % interval's `_low` and `_high` columns; the
    verdict's lines are in `.attrs["verdict"]`, every pair of arms compared on the same rows in
    `.attrs["pairs"]`."""
    import pandas as pd

    from opus_magic.core.ab.verdict import pair_records, summarize, summary_records
    from opus_magic.core.history.grids import find_grid, grid_results
    from opus_magic.core.session import default_session
    from opus_magic.view.grid.verdict_text import verdict_lines

    session = default_session()
    store = session.store(session.settings())
    found = summarize(grid_results(store, find_grid(store, grid_id)))
    frame = pd.DataFrame(summary_records(found))
    frame.attrs["verdict"] = verdict_lines(found)
    frame.attrs["pairs"] = pair_records(found)
    return frame


def run(prompt: str, **options: Any) -> Any:
    """Run a prompt through the same engine as `%%opus`, without a notebook; returns the record
    (of the last model call, when `tools=[functions]` runs a tool loop). `attach=[...]` sends
    files, URLs or values (as `--attach` does) before the prompt; `schema=` takes what --schema
    takes, `max_steps=` bounds a tool loop."""
    import io
    import threading

    from opus_magic.core.run.planner import Planner, build_request
    from opus_magic.core.schema.spec import schema_from
    from opus_magic.core.session import default_session
    from opus_magic.core.tools.loop import ChainObserver, ToolLoop
    from opus_magic.core.tools.namespace import toolbox_from
    from opus_magic.core.tools.toolbox import LoopSettings
    from opus_magic.media import load
    from opus_magic.view.run.text import TextView

    session = default_session()
    passed = ("tag", "parent_id", "comparison_id", "thinking", "effort", "upload",
              "keep_attachments")
    extra = {k: options.pop(k) for k in passed if k in options}
    attached = tuple(load(value) for value in options.pop("attach", ()))
    extra["attachments"] = (attached,) if attached else ()
    box = toolbox_from({"tools": options.pop("tools")}, "tools") if "tools" in options else None
    schema = options.pop("schema", None)
    loop = LoopSettings(max_steps=int(options.pop("max_steps", LoopSettings().max_steps)))
    planner = Planner(session, options)
    settings = planner.settings()
    plan = planner.plan(build_request(
        settings, prompt, tools=box.definitions if box else None,
        output_schema=schema_from(schema) if schema is not None else None, **extra), settings)
    if box is not None and box.runnable:
        return ToolLoop(session, box, loop).run(plan, ChainObserver(), threading.Event()).final
    return session.execute(plan, TextView(out=io.StringIO()))


def submit_batch(prompts: Sequence[str] | Mapping[str, str], api: str | None = None,
                 **options: Any) -> list[Any]:
    """Send prompts (a list, or custom_id → prompt) through the providers' batch engines at the
    batch price, one batch per endpoint; results arrive later with `collect_batches()`."""
    from opus_magic.core.batch.submit import submit_grid
    from opus_magic.core.run.planner import Planner, build_request
    from opus_magic.core.session import default_session

    session = default_session()
    extra = {k: options.pop(k) for k in ("tag", "tools") if k in options}
    planner = Planner(session, options)
    settings = planner.settings()
    named = dict(prompts) if isinstance(prompts, Mapping) else {
        f"p{i}": prompt for i, prompt in enumerate(prompts)}
    cells = [(custom_id, planner.plan(build_request(settings, prompt, **extra), settings))
             for custom_id, prompt in named.items()]
    return submit_grid(session, cells, api=api)


def collect_batches(batch_id: str | None = None) -> list[Any]:
    """Record the results of ended batches (one, or all) as runs; returns the runs recorded now."""
    from opus_magic.core.batch.submit import collect
    from opus_magic.core.session import default_session

    return collect(default_session(), batch_id).runs

