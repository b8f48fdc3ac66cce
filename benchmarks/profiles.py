"""Where the time goes: cProfile of a magic inside a kernel, and `-X importtime` of `%load_ext`."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from .harness import OFFLINE_ENV, ROOT, VENV_PYTHON
from .kernel import Kernel

TOP = 12
IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
MARK = "--- load_ext ---"


def profile_magic(kernel: Kernel, line: str, body: str | None = None,
                  count: int = TOP) -> list[tuple[str, float, float, int]]:
    """Run `%%opus line` (or `%opus line` without a body) under cProfile in the kernel."""
    call = (f"get_ipython().run_cell_magic, 'opus', {line!r}, {body!r}" if body is not None
            else f"get_ipython().run_line_magic, 'opus', {line!r}")
    code = f"import cProfile as _cp\n_prof = _cp.Profile()\n_prof.runcall({call})"
    execution = kernel.run(code, {"top": f"_bench.top_functions(_prof, {count})"}, timeout_s=600)
    if execution.status != "ok":
        raise RuntimeError(f"profiling %opus {line} failed: {execution.error}")
    return execution.value("top")


def import_times(home: Path, count: int = 10) -> dict[str, list[tuple[str, float, float]]]:
    """Modules `%load_ext opus_magic` imports: the slowest by own and by cumulative time (ms)."""
    code = ("import sys\nfrom IPython.core.interactiveshell import InteractiveShell\n"
            "shell = InteractiveShell.instance()\n"
            f"sys.stderr.write({MARK!r} + '\\n')\n"
            "shell.run_line_magic('load_ext', 'opus_magic')\n")
    env = {**OFFLINE_ENV, "PATH": "/usr/bin:/bin", "HOME": str(home),
           "IPYTHONDIR": str(home / ".ipython")}
    done = subprocess.run([str(VENV_PYTHON), "-X", "importtime", "-c", code], capture_output=True,
                          text=True, timeout=120, env=env, cwd=ROOT)
    lines = done.stderr.split(MARK, 1)[-1].splitlines()
    entries = []
    for line in lines:
        match = IMPORT_LINE.match(line)
        if match:
            entries.append((match[4], int(match[1]) / 1000, int(match[2]) / 1000, len(match[3])))
    if not entries:
        return {"own": [], "cumulative": []}
    top_depth = min(depth for *_, depth in entries)
    own = sorted(entries, key=lambda e: e[1], reverse=True)[:count]
    cumulative = sorted((e for e in entries if e[3] <= top_depth + 2), key=lambda e: e[2],
                        reverse=True)[:count]
    return {"own": [(n, round(o, 1), round(c, 1)) for n, o, c, _ in own],
            "cumulative": [(n, round(o, 1), round(c, 1)) for n, o, c, _ in cumulative]}


def profile_summary(rows: list[Any]) -> list[str]:
    """Profile rows as Markdown table lines."""
    lines = ["| function | own s | total s | calls |", "|---|---:|---:|---:|"]
    lines += [f"| `{where}` | {own:.3f} | {total:.3f} | {calls:,} |"
              for where, own, total, calls in rows]
    return lines
