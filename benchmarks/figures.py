"""Figures derived from one run's results: ratios, and the issue's targets met or not."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .harness import median

NOT_RUN = "not measured in this run"


@dataclass(frozen=True)
class Target:
    """One target of the issue and what this run measured against it."""

    key: str
    number: str
    name: str
    measured: float | None
    limit: float
    unit: str
    note: str = ""

    @property
    def met(self) -> bool | None:
        return None if self.measured is None else self.measured <= self.limit

    def row(self) -> str:
        if self.measured is None:
            return f"| {self.number} | {self.name} | – | ≤ {self.limit:g} {self.unit} | {NOT_RUN} |"
        if self.limit:
            share = self.measured / self.limit
            verdict = (f"**met** ({share:.0%} of the limit)" if self.met
                       else f"**not met** ({share:.2f}× the limit)")
        else:
            verdict = "**met**" if self.met else f"**not met** ({self.measured:g} over)"
        note = f" {self.note}" if self.note else ""
        return (f"| {self.number} | {self.name} | {self.measured:.3g} {self.unit} | "
                f"≤ {self.limit:g} {self.unit} | {verdict}{note} |")


def walls(runs: list[dict[str, Any]]) -> list[float]:
    return [r["wall_s"] for r in runs]


def get(results: dict[str, Any], *path: Any) -> Any:
    """A nested value, or None when a section did not run or failed."""
    value: Any = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def streaming_figures(results: dict[str, Any]) -> dict[str, Any]:
    sizes = get(results, "streaming", "sizes") or {}
    figures: dict[str, Any] = {}
    if not sizes:
        return figures
    keys = sorted(sizes, key=int)
    big, small = sizes[keys[-1]], sizes[keys[-2]] if len(keys) > 1 else None
    magic = median(walls(big["magic"]))
    figures["big"] = int(keys[-1])
    if big.get("sdk_typed"):
        figures["vs_sdk"] = magic / median(walls(big["sdk_typed"]))
    figures["vs_floor"] = magic / median(walls(big["floor"]))
    figures["floor_rounds"] = [m["wall_s"] / f["wall_s"] for m, f in zip(big["magic"], big["floor"])]
    if small:
        figures["linearity"] = magic / median(walls(small["magic"]))
        figures["floor_linearity"] = median(walls(big["floor"])) / median(walls(small["floor"]))
    samples = big["magic"] + [p for p in get(results, "streaming", "paced") or []]
    widget = any(s["comm_msg"] for s in samples)
    key = "comm_msg" if widget else "stream_msg"
    rates = [s[key] / s["update_span_s"] for s in samples if s["update_span_s"]]
    figures["updates_kind"] = "widget comm_msg" if widget else "stream (text view, no widgets)"
    figures["updates_per_s"] = max(rates) if rates else None
    figures["bytes_ratio"] = median([s["output_bytes"] / s["chars"] for s in big["magic"]])
    return figures


def native_ratio(results: dict[str, Any]) -> float | None:
    """Median magic / median floor on the Messages API stream, when measured."""
    runs = get(results, "native", "runs") or {}
    if not runs.get("magic") or not runs.get("floor_native"):
        return None
    return median(walls(runs["magic"])) / median(walls(runs["floor_native"]))


def targets(results: dict[str, Any]) -> list[Target]:
    s = streaming_figures(results)
    history, startup = get(results, "history") or {}, get(results, "startup") or {}
    size_ratio = None
    if history.get("file_bytes") and history.get("raw_bytes"):
        size_ratio = history["file_bytes"] / history["raw_bytes"]
    ms = (lambda v: None if v is None else v * 1000)
    big = f"{s['big'] // 1000}K" if s.get("big") else "100K"
    floor = s.get("floor_linearity")
    return [
        Target("vs_sdk", "1", f"`%%opus` at {big} tokens vs bare SDK typed loop",
               s.get("vs_sdk"), 0.25, "×"),
        Target("vs_floor", "1", f"`%%opus` at {big} tokens vs stdlib floor",
               s.get("vs_floor"), 3, "×"),
        Target("native_vs_floor", "1", "`%%opus` on Claude's native stream vs its stdlib floor",
               native_ratio(results), 3, "×"),
        Target("memory", "1", f"kernel peak-memory growth, one {big}-token answer",
               get(results, "memory", "magic", "growth_mb"), 30, "MB"),
        Target("linearity", "2", "time(100K) / time(10K) for `%%opus`", s.get("linearity"), 11,
               "×", f"(the floor's own ratio: {floor:.1f}×)" if floor else ""),
        Target("updates", "3",
               f"update messages per second of streaming ({s.get('updates_kind', '–')})",
               s.get("updates_per_s"), 25, "/s"),
        Target("bytes", "3", f"bytes to the frontend / answer size, {big} tokens",
               s.get("bytes_ratio"), 3, "×"),
        Target("fanout", "4", "fan-out wall / slowest of 4 (~2 s each)",
               get(results, "fanout", "ratio"), 1.25, "×"),
        Target("insert", "5", "insert median, 100K runs stored",
               ms(get(history, "insert", "median_s")), 5, "ms"),
        Target("history", "5", "`%opus history -n 50`",
               ms(get(history, "history", "median_s")), 50, "ms"),
        Target("stats", "5", "`%opus stats`", ms(get(history, "stats", "median_s")), 300, "ms",
               "" if not get(history, "stats", "missing") else "(`%opus stats` does not exist yet)"),
        Target("db_size", "5", "database size / raw stored text", size_ratio, 2, "×"),
        Target("startup", "6", "`%load_ext opus_magic` added to a bare IPython start",
               ms(startup.get("added_s")), 150, "ms"),
        Target("first_cell", "7", "first `%%opus` cell's first visible word, sent right after "
               "`%load_ext` (median)", get(results, "first_cell", "at_once_s"), 0.3, "s"),
        *grid_targets(results),
        Target("attach_time", "9", "time `--attach` adds to a dry run (20 images, 25 MB) / "
               "reading and base64-encoding them", get(results, "attach", "dry_ratio"), 1.3, "×"),
        Target("attach_memory", "9", "kernel peak-memory growth sending them / their size",
               get(results, "attach", "memory_ratio"), 2, "×"),
    ]


def grid_targets(results: dict[str, Any]) -> list[Target]:
    """Pacing under each limiter (the worst of its rows), and a 12-column grid's traffic."""
    runs = [r for r in get(results, "pacing", "runs") or []
            if r.get("tool") == "opus_magic" and "failed" not in r]
    worst = {key: max(runs, key=lambda r: r[key] or 0) if runs else None
             for key in ("ratio", "refused_429", "ok")}
    cells = get(results, "pacing", "cells") or 0

    def which(key: str) -> str:
        row = worst[key]
        return f"(worst: {row['limiter']}{' + tokens' if row['tokens'] else ''})" if row else ""

    return [
        Target("pacing_time", "8", "rate-limited grid, server time / the ideal, every limiter",
               worst["ratio"] and worst["ratio"]["ratio"], 1.05, "×", which("ratio")),
        Target("pacing_429", "8", "responses of 429 during a rate-limited grid, every limiter",
               worst["refused_429"] and worst["refused_429"]["refused_429"], 2, "",
               which("refused_429")),
        Target("pacing_requests", "8", "answered (billed) requests beyond one per call, every "
               "limiter", worst["ok"] and worst["ok"]["ok"] - cells, 0, "", which("ok")),
        Target("grid_updates", "8", "widget messages per second, 12-column grid",
               get(results, "grid", "columns", "per_s"), 20, "/s"),
        Target("scale_outside", "10", "10,000-cell grid: share of wall time with no request in "
               "flight", get(results, "scale", "grid", "outside_share"), 0.05, ""),
        Target("scale_updates", "10", "10,000-cell grid: widget messages per second",
               get(results, "scale", "grid", "per_s"), 20, "/s"),
        Target("scale_memory", "10", "10,000-cell grid: kernel peak-memory growth",
               get(results, "scale", "grid", "growth_mib"), 100, "MiB"),
    ]


def failure(results: dict[str, Any], name: str) -> str:
    failed = get(results, name, "failed")
    return f"_{name} failed: {failed}_" if failed else f"_{NOT_RUN}._"

