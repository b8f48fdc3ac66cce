"""The sections of RESULTS.md, one function per measurement, each from the results dict."""
from __future__ import annotations

from typing import Any

from .figures import NOT_RUN, failure, get, native_ratio, streaming_figures, walls
from .harness import median, spread
from .profiles import profile_summary


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    aligns = ["---"] + ["---:"] * (len(headers) - 1)
    return ["| " + " | ".join(headers) + " |", "| " + " | ".join(aligns) + " |",
            *("| " + " | ".join(row) + " |" for row in rows)]


def secs(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def section_streaming(results: dict[str, Any]) -> list[str]:
    sizes = get(results, "streaming", "sizes")
    if not sizes:
        return [failure(results, "streaming")]
    out = ["Each cell timed from the frontend's execute request to the kernel going idle (all iopub "
           "output drained). `inner` is the client's own time inside the kernel (the magic's: the "
           "engine's run duration). µs/token = median wall / tokens.", ""]
    rows = []
    for size in sorted(sizes, key=int):
        for client, runs in sizes[size].items():
            if not runs:
                continue
            w = walls(runs)
            inner = [r["inner_s"] for r in runs if r["inner_s"] is not None]
            visible = [r["first_visible_s"] for r in runs if r["first_visible_s"] is not None]
            rows.append([f"{int(size):,}", client, str(len(runs)), secs(median(w)), f"{spread(w):.0%}",
                         secs(median(inner) if inner else None),
                         f"{median(w) / int(size) * 1e6:.1f}",
                         secs(median(visible) if visible else None),
                         f"{median([r['output_bytes'] for r in runs]):,.0f}"])
    out += table(["tokens", "client", "runs", "median wall s", "spread", "inner s", "µs/token",
                  "first visible s", "bytes to frontend"], rows)
    figures = streaming_figures(results)
    rounds = figures.get("floor_rounds") or []
    if rounds:
        out += ["", f"Per-round magic/floor ratios at the largest size: "
                + ", ".join(f"{r:.2f}" for r in rounds) + "."]
    return out


def section_native(results: dict[str, Any]) -> list[str]:
    native = get(results, "native")
    if not native or "runs" not in native:
        return [failure(results, "native")]
    size, runs = int(native["size"]), native["runs"]
    rows = [[f"{size:,}", client, str(len(samples)), secs(median(walls(samples))),
             f"{spread(walls(samples)):.0%}", f"{median(walls(samples)) / size * 1e6:.1f}"]
            for client, samples in runs.items() if samples]
    out = ["Claude's Messages API (`api = \"anthropic\"`) through `%%opus`, beside a stdlib reader of "
           "the same `/v1/messages` stream, interleaved in one kernel.", ""]
    out += table(["tokens", "client", "runs", "median wall s", "spread", "µs/token"], rows)
    ratio = native_ratio(results)
    if ratio is not None:
        out += ["", f"magic/floor on the native stream: {ratio:.2f}× (the OpenAI-format ratio is in "
                "section 1)."]
    return out


def section_traffic(results: dict[str, Any]) -> list[str]:
    sizes = get(results, "streaming", "sizes")
    if not sizes:
        return [failure(results, "streaming")]
    big = sizes[max(sizes, key=int)]["magic"]
    rows = []
    for label, sample in ([(f"{int(max(sizes, key=int)):,} tokens, full speed", s) for s in big[:1]]
                          + [(f"{p['tokens']:,} tokens at {p['rate']:,} tokens/s", p)
                             for p in get(results, "streaming", "paced") or []]):
        span = sample["update_span_s"] or 0
        counts = sample["messages"]
        rows.append([label, secs(span, 2), str(counts.get("comm_open", 0)), str(counts.get("comm_msg", 0)),
                     str(counts.get("stream", 0)),
                     f"{counts.get('comm_msg', 0) / span:.1f}" if span else "–",
                     f"{sample['output_bytes']:,}", f"{sample['chars']:,}",
                     f"{sample['output_bytes'] / sample['chars']:.1f}×"])
    return table(["run", "streaming s", "comm_open", "comm_msg", "stream", "comm_msg/s",
                  "bytes to frontend", "answer chars", "bytes/answer"], rows)


def section_memory(results: dict[str, Any]) -> list[str]:
    memory = get(results, "memory")
    if not memory or "failed" in memory:
        return [failure(results, "memory")]
    rows = [[client, f"{m['before_mb']:.1f}", f"{m['after_mb']:.1f}", f"{m['growth_mb']:.1f}"]
            for client, m in memory.items()]
    return ["A fresh kernel per client: warm-up answer of 1K tokens, then one big answer; growth "
            "of the kernel's peak RSS (`ru_maxrss`).", "",
            *table(["client", "peak RSS before MB", "peak RSS after MB", "growth MB"], rows)]


def section_fanout(results: dict[str, Any]) -> list[str]:
    fanout = get(results, "fanout")
    if not fanout or "failed" in fanout:
        return [failure(results, "fanout")]
    rows = [[str(i + 1), secs(s["wall_s"]), secs(s["slowest_s"]), f"{s['ratio']:.3f}",
             ", ".join(f"{m} {v:.2f}" for m, v in sorted(s["each_s"].items()))]
            for i, s in enumerate(fanout["samples"])]
    return ["`%%opus -m claude-opus-4-6,claude-sonnet-4-5,claude-haiku-4-5,gpt-4o`, 1,000 tokens "
            "each at 500-560 tokens/s per model; wall from the frontend, slowest = the longest "
            "run's own duration.", "",
            *table(["round", "wall s", "slowest s", "wall/slowest", "each run s"], rows)]


def section_history(results: dict[str, Any]) -> list[str]:
    h = get(results, "history")
    if not h or "failed" in h:
        return [failure(results, "history")]
    lines = [f"{h['runs']:,} runs written in the store's row format in {h['build_s']:.1f} s "
             f"(bulk transactions; full-text index and indexes maintained by SQLite as usual).", ""]
    rows = [["insert (`Store.save`, one transaction each)", secs(h["insert"]["median_s"] * 1000, 2),
             f"p90 {h['insert']['p90_s'] * 1000:.2f} ms over {h['insert']['count']} inserts"]]
    for name in ("history", "stats"):
        c = h.get(name) or {}
        if c.get("missing"):
            rows.append([f"`%opus {name}`", "–", "the subcommand does not exist yet"])
        elif c:
            rows.append([f"`%opus {name}{' -n 50' if name == 'history' else ''}` (in the kernel)",
                         secs(c["median_s"] * 1000, 1),
                         f"first call {c['first_s'] * 1000:.0f} ms; with the frontend round trip "
                         f"{c['frontend_wall_s'] * 1000:.0f} ms; spread {c['spread']:.0%}"])
    lines += table(["operation", "median ms", "notes"], rows)
    size = h["file_bytes"]
    lines += ["", f"Database {size / 1e6:.1f} MB for {h['raw_bytes'] / 1e6:.1f} MB of raw stored text "
              f"(every column's value as text) = {size / h['raw_bytes']:.2f}×; prompts and answers "
              f"alone are {h['prompt_and_answer_bytes'] / 1e6:.1f} MB."]
    if "fts_bytes" in h:
        lines.append(f"Of the file: full-text index {h['fts_bytes'] / 1e6:.1f} MB, other indexes "
                     f"{h['index_bytes'] / 1e6:.1f} MB.")
    return lines


def section_startup(results: dict[str, Any]) -> list[str]:
    s = get(results, "startup")
    if not s or "failed" in s:
        return [failure(results, "startup")]
    lines = table(["process", "median wall s", "spread"], [
        ["bare IPython (`InteractiveShell.instance()`)", secs(s["bare_s"]), f"{s['bare_spread']:.0%}"],
        ["same + `%load_ext opus_magic`", secs(s["with_ext_s"]), f"{s['with_ext_spread']:.0%}"]])
    lines += ["", f"Added: {s['added_s'] * 1000:.0f} ms (difference of medians over {s['rounds']} "
              f"alternating pairs; of the fastest runs: {s['added_best_s'] * 1000:.0f} ms); "
              f"`load_ext` alone, timed inside: median {s['load_ext_s'] * 1000:.0f} ms, fastest "
              f"{s['load_ext_best_s'] * 1000:.0f} ms. "
              f"Heavy modules present right after loading: "
              f"{', '.join(s['heavy_after_load']) or 'none'}."]
    threads = s.get("threads_after_load")
    if threads:
        lines.append(f"Threads still running after `load_ext` returned: {', '.join(threads)} "
                     "(their work overlaps the rest of the process, and is in its wall time).")
    imports = get(results, "profiles", "imports")
    if imports and imports.get("cumulative"):
        lines += ["", "Slowest imports under `%load_ext` (`-X importtime`, one process, ms):", "",
                  *table(["module", "own ms", "cumulative ms"],
                         [[f"`{n}`", f"{o:.1f}", f"{c:.1f}"] for n, o, c in imports["cumulative"]])]
    return lines


PEER_NAMES = {"opus_magic": "opus_magic `%%opus`", "jupyter_ai": "jupyter-ai `%%ai`",
              "llm": "`llm` Python API"}
SHOWS = {
    "opus_magic": "live view: text as it streams, cost meter (≈ while estimated, exact once usage "
                  "arrives), tokens, tokens/s, TTFT; final summary line",
    "jupyter_ai": "the answer as Markdown when it is complete (no streaming); no tokens, no cost",
    "llm": "what the cell prints (the loop prints chunks); tokens only on request via "
           "`response.usage()`; no cost",
}


def section_peers(results: dict[str, Any]) -> list[str]:
    peers = get(results, "peers")
    if not peers or "failed" in peers:
        return [failure(results, "peers"), *first_cell_lines(get(results, "first_cell"))]
    rows, shows = [], []
    for key, name in PEER_NAMES.items():
        p = peers.get(key) or {}
        if "unavailable" in p:
            rows.append([name] + ["–"] * 10)
            shows.append(f"- {name}: could not be measured here: {p['unavailable']}")
            continue
        if not p:
            continue
        first = f"{secs(p['first_prompt_s'], 2)} / {secs(p.get('first_prompt_visible_s'), 2)}"
        rows.append([name, secs(p["load_s"], 2), first,
                     secs(p["n_total_s"], 2), secs(p["n_median_s"]), secs(p["n_visible_median_s"]),
                     f"{secs(p['paced_visible_s'], 2)} / {secs(p['paced_wall_s'], 2)}",
                     secs(p["big_wall_s"], 2), secs(p["big_visible_s"], 2),
                     f"{p['big_rss_mb']:.0f} (+{p['big_growth_mb']:.0f})",
                     f"{p['big_output_bytes']:,}"])
        evidence = p["shows"].get("plain_tail") or p["shows"].get("stream_last_line") or ""
        extra = f" Reported by `usage()`: `{p['usage_repr']}`." if p.get("usage_repr") else ""
        shows.append(f"- {name}: {SHOWS[key]}. Last line the frontend got for a short prompt: "
                     f"`{evidence[:160]}`.{extra}")
    measured = [p for p in peers.values() if isinstance(p, dict) and p.get("n")]
    n = measured[0]["n"] if measured else "N"
    big = f"{measured[0]['big_tokens'] // 1000}K" if measured else "100K"
    lines = [f"Each tool in its own fresh kernel, same simulator: load, {n} prompts of 200-token "
             "answers (one cell each), one 2,000-token answer paced at 1,000 tokens/s (a 2 s "
             f"stream, as a real endpoint would send it), then one {big}-token answer at full "
             "speed. Per-prompt medians leave out "
             "the first prompt (shown apart: it pays first-use imports). First visible = first "
             "output message carrying a word of the answer (or any output for tools that show "
             "nothing until the end).", "",
             *table(["tool", "load s", "first prompt: wall / first visible s", f"{n} prompts s",
                     "median/prompt s",
                     "first visible s", "2K at 1,000 tok/s: first visible / wall s",
                     f"{big} wall s", f"{big} first visible s",
                     f"peak RSS MB (+{big})", f"{big} bytes to frontend"], rows),
             "", "What each shows of tokens and cost:", "", *shows]
    lines += first_cell_lines(get(results, "first_cell"))
    versions = peers.get("versions")
    if versions:
        lines += ["", "Peer versions (pinned in `requirements-peers.txt`): "
                  + ", ".join(f"{k} {v}" for k, v in versions.items()) + "."]
    return lines


def first_cell_lines(f: dict[str, Any] | None) -> list[str]:
    """The first cell of a fresh kernel, sent at once after `%load_ext` and after a pause."""
    if not f or "failed" in f:
        return []
    return ["", f"The first `%%opus` cell of a fresh kernel ({f['rounds']} kernels each, medians): "
            f"its first words show {secs(f['at_once_s'], 2)} s after it is sent right after "
            f"`%load_ext`, as Run All sends it (spread {f['at_once_spread']:.0%}, slowest "
            f"{secs(f['at_once_max_s'], 2)} s), and {secs(f['paused_s'], 2)} s after it is sent "
            f"{f['pause_s']:g} s later, as when the cell is typed (the warm-up has run by then)."]


def section_profiles(results: dict[str, Any]) -> list[str]:
    profiles = get(results, "profiles") or {}
    lines: list[str] = []
    for key, title in (("stream", "`%%opus` with the largest answer, in the kernel"),
                       ("stats", "`%opus stats` over the full history")):
        rows = profiles.get(key)
        if rows:
            lines += [f"cProfile of {title} (top functions by own time; profiling inflates "
                      "per-call costs):", "", *profile_summary(rows), ""]
    return lines or [f"_{NOT_RUN}._"]


def section_grid(results: dict[str, Any]) -> list[str]:
    g = get(results, "grid")
    if not g or "failed" in g:
        return [failure(results, "grid")]
    c, m = g["columns"], g["memory"]
    rows = [[f"{c['cells']}-cell grid, 12 columns streaming", f"{c['wall_s']:.1f} s",
             f"{c['comm_msg']} widget messages, {secs(c['per_s'], 1)} a second"],
            [f"{m['cells']:,}-cell grid at full speed", f"{m['wall_s']:.1f} s",
             f"kernel peak memory +{m['growth_mib']:.0f} MiB"]]
    return ["Grids in a fresh kernel each (widget view, as a notebook runs them) against the "
            "simulator.", "", *table(["grid", "wall", "measured"], rows)]


def section_attach(results: dict[str, Any]) -> list[str]:
    a = get(results, "attach")
    if not a or "failed" in a:
        return [failure(results, "attach")]
    samples = a["samples"]
    rows = [["read and base64-encode (the floor, inside the kernel)", secs(a["floor_s"]),
             f"{spread(samples['floor']):.0%}", "1.00×"],
            ["`--dry-run` on gpt-4o: added by `--attach`", secs(a["dry_added_s"]),
             f"{spread(samples['dry_with']):.0%}", f"{a['dry_ratio']:.2f}×"],
            ["load, plan and write the request body (inside the kernel)", secs(a["client_s"]),
             f"{spread(samples['client']):.0%}", f"{a['client_ratio']:.2f}×"],
            ["sent to the simulator: added by `--attach`", secs(a["send_added_s"]),
             f"{spread(samples['send_with']):.0%}", f"{a['send_ratio']:.2f}×"]]
    return [f"{a['images']} noise PNGs, {a['size_mb']:.1f} MB in all, attached by path in a fresh "
            "kernel (widget view); cells with and without them interleaved, medians of "
            f"{len(samples['floor'])} rounds. A sent body is written as it goes out, each "
            "attachment base64-encoded slice by slice; the simulator reads it in its own process.",
            "", *table(["what", "seconds", "spread", "× the floor"], rows), "",
            f"Kernel peak memory while sending them: +{a['memory_growth_mb']:.1f} MB, "
            f"{a['memory_ratio']:.2f}× their size."]


def outside_parts(grid: dict[str, Any]) -> str:
    """'; outside: 1.2 s before the first request, 0.8 s after the last' when measured."""
    if grid.get("before_first_s") is None:
        return ""
    return (f"; outside: {grid['before_first_s']:.1f} s before the first request, "
            f"{grid['after_last_s']:.1f} s after the last")


def section_scale(results: dict[str, Any]) -> list[str]:
    s = get(results, "scale")
    if not s or "failed" in s:
        return [failure(results, "scale")]
    g, b = s["grid"], s["split"]
    rows = [[f"{g['cells']:,}-cell grid, fast answers", f"{g['wall_s']:.1f} s",
             f"{g['outside_share']:.1%} of the wall time with no request in flight (target "
             f"≤ 5%; {g['in_flight_s']:.1f} s in flight, {g['requests']:,} requests, "
             f"{g['ok']:,} ok{outside_parts(g)})"],
            ["", "", f"{g['comm_msg']} widget messages, {secs(g['per_s'], 1)} a second "
                     f"(target < 20)"],
            ["", "", f"kernel peak memory +{g['growth_mib']:.0f} MiB (target < 100 MB, "
                     f"{100e6 / 2**20:.0f} MiB)"]]
    i = s.get("instant")
    if i:
        rows += [[f"{i['cells']:,}-cell grid, instant answers", f"{i['wall_s']:.1f} s",
                  f"{i['cells'] / i['wall_s']:,.0f} cells a second, the kernel's ceiling "
                  f"({i['wall_s'] / i['cells'] * 1000:.1f} ms a cell; no request in flight "
                  f"{i['outside_share']:.0%} of the time: the kernel sets the pace)"],
                 ["", "", f"{i['comm_msg']} widget messages, {secs(i['per_s'], 1)} a second; "
                          f"kernel peak memory +{i['growth_mib']:.0f} MiB"]]
    rows.append([f"{b['cells']:,}-cell batch grid, at most {b['per_batch']:,} requests a batch",
                 f"{b['plan_s'] + b['submit_s'] + b['collect_s']:.1f} s",
                 f"{b['batches']} batches ({', '.join(str(n) for n in b['sizes'])}); planned in "
                 f"{b['plan_s']:.1f} s, submitted in {b['submit_s']:.1f} s, collected in "
                 f"{b['collect_s']:.1f} s: {b['collected']:,} cells back as one grid"
                 f"{'' if b['one_grid'] else ' (NOT one grid)'}"])
    fast = (f"{g['ttft_s'] * 1000:.0f} ms to the first token, then "
            f"{g['tokens_per_second']:,.0f} tokens a second" if g.get("ttft_s") else "at once")
    return ["A grid in a fresh kernel (widget view, four requests at a time) against the "
            "simulator with no limits and five-token answers: fast answers come "
            f"{fast}, far quicker than any real model, so the tool's own time shows; instant "
            "answers leave only the kernel's. The time with no request in flight is the wall "
            "time less the union of the requests' spans in the simulator's log (planning, "
            "history, checks and views all count as outside). The batch grid runs in the "
            "benchmark's process against the simulator's batch engine, the API's limit lowered "
            "through `submit(..., limits=...)`.", "",
            *table(["grid", "wall", "measured"], rows)]
