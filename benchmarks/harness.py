"""Processes the benchmarks drive: the simulator in its own process and Jupyter kernels.

Everything talks to 127.0.0.1 only; every wait has a deadline.
"""
from __future__ import annotations

import ast
import json
import os
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
BENCH_KEY = "sk-bench-0123456789abcdef"
# Any request that tries to leave 127.0.0.1 goes to a closed local port and fails at once.
OFFLINE_ENV = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
               "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
               "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
               "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1",
               "PYTHONUNBUFFERED": "1"}
OUTPUT_TYPES = ("stream", "display_data", "update_display_data", "execute_result", "comm_msg",
                "comm_open")


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> float:
    """Relative spread (max - min) / median, the noise figure reported beside each median."""
    middle = statistics.median(values)
    return (max(values) - min(values)) / middle if middle else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} not ready within {timeout_s:g} s")


class SimProcess:
    """`opus-magic sim` in a subprocess at full speed, driven through its /sim control routes."""

    def __init__(self, python: Path = VENV_PYTHON) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.process = subprocess.Popen(
            [str(python), "-m", "opus_magic.cli", "sim", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        try:
            wait_until(self._up, 60, "simulator")
        except BaseException:
            self.stop()
            raise
        from opus_magic import sim

        self.control = sim.control(self.base_url)

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError("the simulator exited at start")
        try:
            with urllib.request.urlopen(self.base_url + "/models", timeout=1):
                return True
        except OSError:
            return False

    def configure(self, **settings: Any) -> None:
        self.control.configure(**settings)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


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


def package_env(base_url: str, history: Path, config_home: Path) -> dict[str, str]:
    """Environment of a kernel using opus_magic against the simulator, isolated from the user's."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("OPUS_MAGIC_", "OPENAI_"))}
    return {**env, **OFFLINE_ENV, "OPUS_MAGIC_BASE_URL": base_url, "OPUS_MAGIC_API_KEY": BENCH_KEY,
            "OPUS_MAGIC_HISTORY": str(history), "XDG_CONFIG_HOME": str(config_home),
            "PYTHONPATH": str(ROOT)}


def kernel_setup(extra: str = "") -> str:
    """First cell of every measured kernel: the helpers importable, then any extra set-up."""
    return (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
            "from benchmarks import clients as _bench\n" + extra)


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    import platform

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": memory,
            "os": platform.platform(), "python": sys.version.split()[0]}


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()
