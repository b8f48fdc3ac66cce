"""Execute a notebook without a browser and report the runs it made and what they cost."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from opus_magic.core.history.select import select
from opus_magic.core.run.engine import now_iso
from opus_magic.core.session import default_session
from opus_magic.errors import UsageError
from opus_magic.view import format as fmt
from opus_magic.view.commands.history import format_table
from opus_magic.wording import plural


def read_notebook(path: str | Path) -> Any:
    """The notebook at `path`, or a UsageError saying there is no notebook there."""
    import nbformat

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"No notebook at {path}: give the path of an .ipynb file.")
    try:
        return nbformat.read(path, as_version=4)
    except (nbformat.reader.NotJSONError, nbformat.ValidationError, UnicodeDecodeError,
            KeyError, AttributeError) as exc:
        raise UsageError(f"{path} is not a Jupyter notebook ({type(exc).__name__}): give the path "
                         f"of an .ipynb file.") from None


def execute_notebook(path: str | Path, timeout_s: int = 600) -> Any:
    """Run every cell with nbclient in the notebook's folder; the file itself is left unchanged.

    Returns the executed notebook (outputs and widget state included); a failing cell raises
    UsageError naming the cell and its error.
    """
    import nbclient
    from nbclient.exceptions import CellExecutionError

    path = Path(path)
    notebook = read_notebook(path)
    client = nbclient.NotebookClient(notebook, timeout=timeout_s, kernel_name="python3",
                                     store_widget_state=True,
                                     resources={"metadata": {"path": str(path.parent.resolve())}})
    try:
        client.execute()
    except CellExecutionError as exc:
        raise UsageError(f"{path}: a cell failed with {exc.ename}: {exc.evalue}") from None
    return notebook


def execute_and_report(path: str | Path, out: TextIO) -> None:
    """Execute the notebook, then print the runs it recorded and their total cost."""
    read_notebook(path)  # a path that holds no notebook is said before anything starts
    path = Path(path)
    started = now_iso()
    out.write(f"Executing {path} …\n")
    out.flush()
    try:
        execute_notebook(path)
    finally:
        session = default_session()
        runs = select(session.store(session.settings()), limit=None, since=started)
        out.write(format_table(runs) + "\n")
        total = sum((run.cost or Decimal(0) for run in runs), Decimal(0))
        unknown = sum(1 for run in runs if run.cost is None)
        estimated = any(not run.cost_exact for run in runs if run.cost is not None)
        tail = f" ({unknown} with unknown price)" if unknown else ""
        if runs and all(run.simulator for run in runs):
            tail += ", all answered by the built-in simulator (no real cost)"
        out.write(f"{plural(len(runs), 'run')}, total "
                  f"{fmt.money(total, estimated=estimated)}{tail}\n")
