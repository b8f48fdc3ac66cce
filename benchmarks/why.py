"""For a target not met: what this run's own evidence (profiles, message counts, sizes) says."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .figures import get


def top(rows: list[Any] | None, count: int = 3) -> str:
    if not rows:
        return "no profile in this run"
    return "; ".join(f"`{where}` {own:.2f} s own of {total:.2f} s"
                     for where, own, total, _ in rows[:count])


def largest_magic(results: dict[str, Any]) -> dict[str, Any]:
    sizes = get(results, "streaming", "sizes") or {}
    return sizes[max(sizes, key=int)]["magic"][0] if sizes else {}


def streaming(results: dict[str, Any]) -> str:
    sample = largest_magic(results)
    inner = sample.get("inner_s") or 0
    return (f"of {sample.get('wall_s', 0):.2f} s from the frontend, the engine's own run took "
            f"{inner:.2f} s; the rest is the view's set-up and final render and draining its "
            f"output. Largest own times in the kernel: "
            f"{top(get(results, 'profiles', 'stream'))}.")


def traffic(results: dict[str, Any]) -> str:
    sample = largest_magic(results)
    answer, span = sample.get("chars") or 1, sample.get("update_span_s") or 1
    counts, sizes = sample.get("messages", {}), sample.get("bytes_by_type", {})
    kinds = ", ".join(f"{kind} {counts.get(kind, 0):,} ({sizes.get(kind, 0) / answer:.2f}× the "
                      f"answer)" for kind in ("comm_open", "comm_msg", "update_display_data", "stream")
                      if counts.get(kind))
    msgs, weights = sample.get("widget_msgs", {}), sample.get("widget_bytes", {})
    heaviest = sorted(weights, key=weights.get, reverse=True)[:5]
    widgets = "; ".join(f"{key}: {msgs[key]:,} messages, {weights[key] / answer:.2f}× the answer, "
                        f"{msgs[key] / span:.0f}/s" for key in heaviest)
    return (f"for the largest answer ({answer:,} characters, {span:.1f} s of updates) the view sent "
            f"{kinds}. Heaviest widgets (by the view's own CSS class, else the widget model): "
            f"{widgets}.")


def stats(results: dict[str, Any]) -> str:
    rows = get(results, "profiles", "stats") or []
    runs = get(results, "history", "runs") or 0
    per_row = [f"`{where}` ({calls:,} calls)" for where, _, _, calls in rows if runs and calls >= runs]
    each = f" Called once per stored run or more: {', '.join(per_row)}." if per_row else ""
    return f"largest own times: {top(rows)}.{each}"


def startup(results: dict[str, Any]) -> str:
    imports = get(results, "profiles", "imports", "cumulative") or []
    slow = ", ".join(f"`{name}` {cumulative:.0f} ms" for name, _, cumulative in imports[:5])
    return f"the modules `%load_ext` imports, slowest first (cumulative): {slow or 'not profiled'}."


def db_size(results: dict[str, Any]) -> str:
    h = get(results, "history") or {}
    if "fts_bytes" not in h:
        return "SQLite here has no dbstat table to break the size down."
    return (f"the full-text index takes {h['fts_bytes'] / 1e6:.1f} MB and the other indexes "
            f"{h['index_bytes'] / 1e6:.1f} MB of the {h['file_bytes'] / 1e6:.1f} MB file.")


def scale(results: dict[str, Any]) -> str:
    g = get(results, "scale", "grid") or {}
    if not g:
        return "the scale section did not run."
    per_cell = (g["wall_s"] - g["in_flight_s"]) / max(g["requests"], 1) * 1000
    return (f"the simulator answers each request in about "
            f"{g['in_flight_s'] / max(g['requests'], 1) * 1000:.1f} ms of its own, while the "
            f"kernel spends about {per_cell:.1f} ms a cell between requests: claiming the cell "
            f"and writing its record in the history (SQLite, several writes a cell under one "
            f"write lock), a thread per attempt, the engine's events and the views, all under "
            f"one GIL; {g['cells']:,} records and plans stay in memory for the table and the "
            f"DataFrame. With answers that take any time at all (a real model's seconds) the "
            f"same work hides behind the requests in flight.")


EXPLAIN: dict[str, Callable[[dict[str, Any]], str]] = {
    "vs_sdk": streaming, "vs_floor": streaming, "linearity": streaming, "updates": traffic,
    "bytes": traffic, "stats": stats, "startup": startup, "db_size": db_size,
    "scale_outside": scale, "scale_memory": scale,
}


def explain(key: str, results: dict[str, Any]) -> str:
    """One paragraph of evidence for a target not met."""
    reason = EXPLAIN.get(key)
    return reason(results) if reason else "see the section below for the samples and their spread."
