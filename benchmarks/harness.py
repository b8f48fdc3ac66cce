"""The simulator in its own process, the kernels' environment, medians and machine facts.

Everything talks to 127.0.0.1 only; every wait has a deadline.
"""
from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
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
               "PYTHONUNBUFFERED": "1",
               "OPUS_MAGIC_SIM_PACE": "instant"}  # a built-in simulator measures the tool only


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
            [str(python), "-m", "opus_magic.cli.main", "sim", "--port", str(self.port)],
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


def compile_package() -> None:
    """The package's bytecode written beside it, as installing it writes it: a kernel then
    loads it rather than compiling every module again, which a shell with
    PYTHONDONTWRITEBYTECODE set would otherwise make it do on every start."""
    import compileall

    if not compileall.compile_dir(ROOT / "opus_magic", quiet=1):
        raise RuntimeError("opus_magic does not compile")


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
