"""Attaching 20 images (25 MB in all) in a fresh kernel: the time `--attach` adds to a cell
against reading and base64-encoding the same bytes, and the kernel's peak memory against their
size.

The images are PNGs of noise (incompressible), each within every model's image size, so none is
downscaled. Per round, interleaved: the floor (read each file and base64-encode it, timed inside
the kernel), the same `--dry-run` cell on gpt-4o with and without the 20 attachments (what
attaching adds when nothing is sent: read, hash, sniff, size, check, price), the client's whole
work for a send timed inside the kernel (load, plan, and write the request body as it would go
out), and the same cell sent to the simulator (the simulator reading the 33 MB of base64 in its
own process, and the widget view drawing thumbnails). Memory: a fresh kernel, warmed up with one small attachment, then the send; growth
of its `ru_maxrss`.
"""
from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any

from .harness import SimProcess, median
from .streaming import magic_kernel

IMAGES = 20
TOTAL_BYTES = 25 * 1000 * 1000
RSS = "__import__('resource').getrusage(__import__('resource').RUSAGE_SELF).ru_maxrss"
FLOOR = ("import base64, time\n_t = time.perf_counter()\n"
         "_encoded = [base64.b64encode(open(p, 'rb').read()).decode('ascii') for p in _paths]\n"
         "_floor_s = time.perf_counter() - _t\ndel _encoded")
PROMPT = "What do these images show?"
CLIENT = ("import time\nfrom opus_magic.core.run.planner import Planner\n"
          "from opus_magic.core.run.request import CellInput\n"
          "from opus_magic.core.session import default_session\n"
          "from opus_magic.media import load\nfrom opus_magic.wire.body.payload import json_body\n"
          "_t = time.perf_counter()\n"
          "_cell = CellInput(prompt='x', models=('4o',), attachments=tuple(map(load, _paths)))\n"
          "_plan = Planner(default_session(), sending=False).plan_model(_cell, '4o')\n"
          "_written = sum(map(len, json_body(_plan.body)[1]()))\n"
          "_client_s = time.perf_counter() - _t\ndel _cell, _plan")


def make_images(folder: Path, count: int = IMAGES, total: int = TOTAL_BYTES) -> list[Path]:
    """`count` noise PNGs of about total/count bytes each."""
    from PIL import Image

    side = int(math.sqrt(total / count / 3))
    paths = []
    for index in range(count):
        out = io.BytesIO()
        Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
        path = folder / f"noise{index:02d}.png"
        path.write_bytes(out.getvalue())
        paths.append(path)
    return paths


def cell(paths: list[Path], flags: str, attached: bool) -> str:
    attach = " ".join(f"--attach {path.name}" for path in paths) if attached else ""
    return f"%%opus -m 4o --max-tokens 20 {flags} {attach}\n{PROMPT}"


def timings(sim: SimProcess, workdir: Path, paths: list[Path], rounds: int) -> dict[str, Any]:
    """Floor, dry run with and without, send with and without: every round kept."""
    samples: dict[str, list[float]] = {name: [] for name in (
        "floor", "client", "dry_with", "dry_without", "send_with", "send_without")}
    with magic_kernel(sim, workdir) as kernel:
        kernel.check(f"_paths = {[str(p) for p in paths]!r}")
        kernel.check(cell(paths, "--dry-run", True))  # warm: Pillow, the catalog, the pool
        for _ in range(rounds):
            samples["floor"].append(kernel.run(FLOOR, {"s": "_floor_s"}).value("s"))
            samples["client"].append(kernel.run(CLIENT, {"s": "_client_s"}).value("s"))
            for name, flags, attached in (("dry_with", "--dry-run", True),
                                          ("dry_without", "--dry-run", False),
                                          ("send_with", "", True), ("send_without", "", False)):
                execution = kernel.run(cell(paths, flags, attached), timeout_s=300)
                if execution.status != "ok" or "opus:" in execution.text:
                    raise RuntimeError(f"{name} failed: {execution.error or execution.text[-300:]}")
                samples[name].append(execution.wall_s)
    return samples


def peak_memory(sim: SimProcess, workdir: Path, paths: list[Path]) -> float:
    """Growth of a fresh kernel's peak RSS (MB) while it sends the 20 attachments."""
    with magic_kernel(sim, workdir) as kernel:
        kernel.check(cell(paths[:1], "", True))  # imports and pools in place first
        kernel.check(f"_before = {RSS}")
        execution = kernel.run(cell(paths, "", True), {"grown": f"{RSS} - _before"},
                               timeout_s=300)
        return execution.value("grown") / 1024


def measure_attachments(sim: SimProcess, workdir: Path, rounds: int,
                        count: int = IMAGES, total: int = TOTAL_BYTES) -> dict[str, Any]:
    """The attach row: added time over the floor, and peak memory over the images' size."""
    folder = workdir / "attachments"
    folder.mkdir(exist_ok=True)
    paths = make_images(folder, count, total)
    size_mb = sum(p.stat().st_size for p in paths) / 1e6
    sim.configure(tokens_per_second=None, ttft_s=0.0, answer_tokens=20)
    samples = timings(sim, folder, paths, rounds)
    floor = median(samples["floor"])
    dry = median(samples["dry_with"]) - median(samples["dry_without"])
    send = median(samples["send_with"]) - median(samples["send_without"])
    grown = peak_memory(sim, folder, paths)
    sim.configure(answer_tokens=None)
    client = median(samples["client"])
    return {"images": count, "size_mb": size_mb, "samples": samples, "floor_s": floor,
            "dry_added_s": dry, "send_added_s": send, "client_s": client,
            "dry_ratio": dry / floor, "send_ratio": send / floor, "client_ratio": client / floor,
            "memory_growth_mb": grown, "memory_ratio": grown / size_mb}
