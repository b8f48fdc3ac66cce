"""Execute a notebook without a browser and report the runs it made and what they cost."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TextIO

from .engine import now_iso
from .history import format_table, select
from .pricing import format_usd
from .session import default_session


def execute_notebook(path: str | Path, timeout_s: int = 600) -> object:
    """Run every cell with nbclient (widget state stored) and save the outputs in place."""
    import nbclient
    import nbformat

    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=timeout_s, kernel_name="python3",
                                     store_widget_state=True,
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nbformat.write(notebook, path)
    return notebook


def execute_and_report(path: str | Path, out: TextIO) -> None:
    started = now_iso()
    out.write(f"Executing {path} …\n")
    execute_notebook(path)
    session = default_session()
    runs = select(session.store(session.settings()), limit=None, since=started)
    out.write(format_table(runs) + "\n")
    total = sum((run.cost or Decimal(0) for run in runs), Decimal(0))
    unknown = sum(1 for run in runs if run.cost is None)
    tail = f" ({unknown} with unknown price)" if unknown else ""
    out.write(f"{len(runs)} runs, total {format_usd(total)}{tail}\n")
