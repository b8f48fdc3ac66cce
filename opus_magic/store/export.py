"""Runs as a table, CSV, JSON lines or a pandas DataFrame."""
from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Iterable
from typing import Any, TextIO

from opus_magic.errors import UsageError
from opus_magic.records import RunRecord
from opus_magic.store.sqlite import USAGE_FIELDS as USAGE_COLUMNS


def flat(record: RunRecord) -> dict[str, Any]:
    """One run as a flat mapping of plain values (usage fields at top level, cost as text,
    attachments without their bytes)."""
    data = dataclasses.asdict(record)
    usage = data.pop("usage")
    data.update(usage)
    data["attachments"] = [{key: value for key, value in attached.items() if key != "data"}
                           for attached in data["attachments"]]
    data["cost"] = None if record.cost is None else str(record.cost)
    return data


def write_runs(runs: Iterable[RunRecord], fmt: str, out: TextIO) -> None:
    """Runs as JSON lines (`fmt="jsonl"`) or CSV."""
    runs = list(runs)
    if fmt == "jsonl":
        for run in runs:
            out.write(json.dumps(flat(run), ensure_ascii=False) + "\n")
    else:
        rows = [flat(run) for run in runs]
        fields = list(rows[0]) if rows else [f.name for f in dataclasses.fields(RunRecord)]
        writer = csv.DictWriter(out, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v
                             for k, v in row.items()})


def frame(runs: Iterable[RunRecord]) -> Any:
    """A pandas DataFrame with one row per run (cost stays an exact Decimal, times are datetimes)."""
    try:
        import pandas as pd
    except ImportError:
        raise UsageError("history_frame needs pandas: pip install pandas "
                         "(or pip install 'opus_magic[pandas]').") from None
    fields = [f.name for f in dataclasses.fields(RunRecord) if f.name != "usage"]
    table = pd.DataFrame([{**flat(run), "cost": run.cost} for run in runs],
                         columns=[*fields, *USAGE_COLUMNS])
    table["created_at"] = pd.to_datetime(table["created_at"], format="ISO8601")
    return table
