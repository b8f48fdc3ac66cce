"""A Jupyter kernel driven like a frontend: each cell timed, its iopub traffic counted and sized."""
from __future__ import annotations

import ast
import json
import os
import queue
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUTPUT_TYPES = ("stream", "display_data", "update_display_data", "execute_result", "comm_msg",
                "comm_open")


@dataclass
class Execution:
    """One cell as the frontend saw it: wall time, first output, iopub traffic, reply."""

    wall_s: float
    first_output_s: float | None
    first_probe_s: float | None
    counts: Counter = field(default_factory=Counter)
    bytes_by_type: Counter = field(default_factory=Counter)
    first_update_s: float | None = None
    last_update_s: float | None = None
    text: str = ""
    plain: str = ""
    mimetypes: set[str] = field(default_factory=set)
    widget_msgs: Counter = field(default_factory=Counter)
    widget_bytes: Counter = field(default_factory=Counter)
    status: str = "ok"
    error: str = ""
    expressions: dict[str, Any] = field(default_factory=dict)

    @property
    def visible_s(self) -> float | None:
        """When the answer first showed: the probe word if seen, else the first output at all."""
        return self.first_probe_s if self.first_probe_s is not None else self.first_output_s

    @property
    def output_bytes(self) -> int:
        return sum(self.bytes_by_type[t] for t in OUTPUT_TYPES)

    def value(self, name: str) -> Any:
        """A user expression evaluated after the cell, as a Python literal."""
        data = self.expressions.get(name, {})
        if data.get("status") != "ok":
            raise RuntimeError(f"user expression {name} failed: {data.get('evalue')}")
        return ast.literal_eval(data["data"]["text/plain"])


def message_bytes(msg: dict[str, Any]) -> int:
    """Size of a message as serialized on the wire (JSON frames plus binary buffers)."""
    frames = (msg.get("header"), msg.get("parent_header"), msg.get("metadata"), msg.get("content"))
    size = sum(len(json.dumps(frame, default=str, separators=(",", ":"))) for frame in frames)
    return size + sum(len(memoryview(buffer)) for buffer in msg.get("buffers") or ())


def widget_label(msg: dict[str, Any], known: dict[str, str]) -> str:
    """Which widget a comm message is about: its `opus-…` CSS class once set, else its model."""
    content = msg["content"]
    state = (content.get("data") or {}).get("state") or {}
    classes = [c for c in state.get("_dom_classes") or () if c.startswith("opus-")]
    comm = content.get("comm_id")
    if classes:
        known[comm] = classes[0]
    elif msg["msg_type"] == "comm_open":
        known[comm] = state.get("_model_name", "?")
    return known.get(comm, "?")


class Kernel:
    """An ipykernel started from a given Python, with its client; cells are timed from outside."""

    def __init__(self, python: Path, env: dict[str, str], cwd: Path) -> None:
        from jupyter_client.kernelspec import KernelSpecManager
        from jupyter_client.manager import KernelManager

        self._specs = tempfile.TemporaryDirectory(prefix="bench-kernelspec-")
        spec_dir = Path(self._specs.name) / "bench"
        spec_dir.mkdir()
        (spec_dir / "kernel.json").write_text(json.dumps({
            "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "bench", "language": "python"}))
        specs = KernelSpecManager(kernel_dirs=[self._specs.name])
        self.manager = KernelManager(kernel_name="bench", kernel_spec_manager=specs)
        self.manager.start_kernel(env={**os.environ, **env}, cwd=str(cwd))
        self.client = self.manager.client()
        self.client.start_channels()
        try:
            self.client.wait_for_ready(timeout=120)
        except BaseException:
            self.shutdown()
            raise

    def run(self, code: str, expressions: dict[str, str] | None = None, timeout_s: float = 300,
            probe: str | None = None) -> Execution:
        """Execute a cell and drain iopub until the kernel is idle again (bounded by timeout_s)."""
        client = self.client
        start = time.perf_counter()
        msg_id = client.execute(code, store_history=False, user_expressions=expressions or {},
                                allow_stdin=False)
        deadline = start + timeout_s
        result = Execution(0.0, None, None)
        texts: list[str] = []
        widgets: dict[str, str] = {}
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"cell did not finish within {timeout_s:g} s: {code[:60]!r}")
            try:
                msg = client.get_iopub_msg(timeout=left)
            except queue.Empty:
                continue
            now = time.perf_counter() - start
            kind = msg["msg_type"]
            if msg["parent_header"].get("msg_id") != msg_id:
                result.counts[f"other:{kind}"] += 1
                continue
            if kind == "status" and msg["content"]["execution_state"] == "idle":
                break
            result.counts[kind] += 1
            size = message_bytes(msg)
            result.bytes_by_type[kind] += size
            if kind in OUTPUT_TYPES:
                result.first_output_s = result.first_output_s or now
                if probe and result.first_probe_s is None and probe in json.dumps(msg["content"]):
                    result.first_probe_s = now
            if kind in ("comm_msg", "stream"):
                result.first_update_s = result.first_update_s or now
                result.last_update_s = now
            if kind in ("comm_open", "comm_msg"):
                label = widget_label(msg, widgets)
                result.widget_msgs[f"{kind} {label}"] += 1
                result.widget_bytes[f"{kind} {label}"] += size
            if kind == "stream":
                texts.append(msg["content"]["text"])
            elif kind in ("display_data", "update_display_data", "execute_result"):
                result.plain = msg["content"]["data"].get("text/plain", "")
                result.mimetypes.update(msg["content"]["data"])
            elif kind == "error":
                result.status, result.error = "error", msg["content"]["evalue"]
        result.wall_s = time.perf_counter() - start
        result.text = "".join(texts)
        reply = self._reply(msg_id, deadline)
        result.expressions = reply.get("user_expressions", {})
        if reply.get("status") == "error" and not result.error:
            result.status, result.error = "error", reply.get("evalue", "")
        return result

    def _reply(self, msg_id: str, deadline: float) -> dict[str, Any]:
        while time.perf_counter() < deadline:
            msg = self.client.get_shell_msg(timeout=max(deadline - time.perf_counter(), 0.1))
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]
        raise TimeoutError("no execute_reply")

    def check(self, code: str, timeout_s: float = 120) -> Execution:
        """Run set-up code; raise with the kernel's error if it failed."""
        result = self.run(code, timeout_s=timeout_s)
        if result.status != "ok":
            raise RuntimeError(f"kernel set-up failed: {result.error}")
        return result

    def shutdown(self) -> None:
        try:
            self.client.stop_channels()
            self.manager.shutdown_kernel(now=True)
        finally:
            self._specs.cleanup()

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
