"""Start-up: what `%load_ext opus_magic` adds to a bare IPython start, in fresh processes."""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from .harness import OFFLINE_ENV, ROOT, VENV_PYTHON, median, spread

BARE = """
import time, sys
start = time.perf_counter()
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
ready = time.perf_counter()
"""
LOAD = """
shell.run_line_magic("load_ext", "opus_magic")
loaded = time.perf_counter()
heavy = [m for m in ("openai", "tiktoken", "ipywidgets", "pydantic", "httpx", "httpx2", "sqlite3",
                     "opus_magic.core.run.engine", "opus_magic.wire.client") if m in sys.modules]
threads = [t.name for t in __import__("threading").enumerate()
           if t is not __import__("threading").main_thread()]
print(__import__("json").dumps({"ipython_s": ready - start, "load_ext_s": loaded - ready,
                                "heavy": heavy, "threads": threads}))
"""


def one(with_extension: bool, home: Path, timeout_s: float = 60) -> dict[str, Any]:
    """Spawn-to-exit wall time of one process (and, with the extension, the in-process figures)."""
    code = BARE + (LOAD if with_extension else "")
    env = {**OFFLINE_ENV, "PATH": "/usr/bin:/bin", "HOME": str(home),
           "IPYTHONDIR": str(home / ".ipython")}
    start = time.perf_counter()
    done = subprocess.run([str(VENV_PYTHON), "-c", code], capture_output=True, text=True,
                          timeout=timeout_s, env=env, cwd=ROOT)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"start-up probe failed: {done.stderr.strip()[-300:]}")
    facts = json.loads(done.stdout.strip().splitlines()[-1]) if with_extension else {}
    return {"wall_s": wall, **facts}


def measure_startup(workdir: Path, rounds: int) -> dict[str, Any]:
    """Bare and with-extension processes alternate; the added time is the difference of medians."""
    home = workdir / "startup-home"
    home.mkdir(exist_ok=True)
    one(False, home)
    one(True, home)  # file caches warm for both
    bare, loaded = [], []
    for _ in range(rounds):
        bare.append(one(False, home)["wall_s"])
        loaded.append(one(True, home))
    load_ext = [s["load_ext_s"] for s in loaded]
    walls = [s["wall_s"] for s in loaded]
    return {"bare_s": median(bare), "with_ext_s": median(walls),
            "added_s": median(walls) - median(bare), "added_best_s": min(walls) - min(bare),
            "load_ext_s": median(load_ext), "load_ext_best_s": min(load_ext),
            "bare_spread": spread(bare), "with_ext_spread": spread(walls),
            "heavy_after_load": loaded[-1]["heavy"], "threads_after_load": loaded[-1]["threads"],
            "rounds": rounds}
