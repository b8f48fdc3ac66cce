"""What `%opus config key=value` prints: only what changed."""
from __future__ import annotations

from typing import Any


def changes_text(before: dict[str, str], after: dict[str, str], given: dict[str, Any]) -> str:
    """What a `%opus config key=value` changed, one line each (`%opus config` lists them all)."""
    lines = [f"{key:<20} {before[key]} → {after[key]}" for key in after
             if after[key] != before.get(key)]
    same = [key for key in given if key in after and after[key] == before.get(key)
            and not key.endswith("_env")]
    lines += [f"{key:<20} {after[key]} (unchanged)" for key in same]
    return "\n".join(lines)
