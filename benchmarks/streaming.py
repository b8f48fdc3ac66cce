"""Streaming cost, linearity, memory and frontend traffic of `%%opus` through a real kernel.

Three clients run in the same kernel against the same simulator process, interleaved round by
round so machine noise hits them alike: the magic (`%%opus`, default view, token counting and
history on), the bare openai-SDK typed stream loop and the stdlib floor (`clients.py`).
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from .harness import VENV_PYTHON, SimProcess, kernel_setup, package_env
from .kernel import Execution, Kernel

MODEL = "claude-opus-4-6"
MAX_TOKENS = 120_000
PROMPT = "Explain how prompt caching changes the cost of a long conversation."
CLIENTS = ("magic", "sdk_typed", "floor")
PACED = ((200, 600), (5_000, 15_000))  # (tokens per second, answer tokens): ~3 s streams
WARM_TOKENS = 1_000
BIG = 100_000


def cell(client: str, base_url: str, prompt: str = PROMPT) -> str:
    if client == "magic":
        return f"%%opus -m {MODEL} --max-tokens {MAX_TOKENS}\n{prompt}"
    return f"_chars = _bench.{client}({base_url!r}, {MODEL!r}, {prompt!r}, {MAX_TOKENS})"


def facts_expression(client: str) -> dict[str, str]:
    inner = "_bench.last_run_facts()" if client == "magic" else "dict(_bench.LAST)"
    return {"facts": inner, "rss": "_bench.maxrss_mb()"}


def probe_word(answer_tokens: int, prompt: str = PROMPT, model: str = MODEL) -> str:
    """A word from the start of the simulator's answer: its arrival is the first visible token."""
    from opus_magic.sim.content.text import answer_chunks

    chunks = answer_chunks([{"role": "user", "content": prompt}], answer_tokens, model)
    return next((c.strip() for c in chunks[:50] if len(c.strip()) >= 6 and c.strip().isalpha()),
                chunks[0].strip())


def sample(client: str, execution: Execution) -> dict[str, Any]:
    """The figures kept from one timed cell."""
    if execution.status != "ok":
        raise RuntimeError(f"{client} cell failed: {execution.error}")
    facts = execution.value("facts")
    if client == "magic" and facts.get("status") != "ok":
        raise RuntimeError(f"the magic's run ended {facts.get('status')}")
    span = None
    if execution.first_update_s is not None and execution.last_update_s is not None:
        span = execution.last_update_s - execution.first_update_s
    return {"wall_s": execution.wall_s, "inner_s": facts.get("seconds"),
            "ttft_s": facts.get("ttft_s"), "first_visible_s": execution.first_probe_s,
            "chars": facts.get("chars"), "rss_mb": execution.value("rss"),
            "comm_msg": execution.counts["comm_msg"], "stream_msg": execution.counts["stream"],
            "messages": {k: v for k, v in execution.counts.items()},
            "output_bytes": execution.output_bytes, "update_span_s": span,
            "bytes_by_type": dict(execution.bytes_by_type),
            "widget_msgs": dict(execution.widget_msgs), "widget_bytes": dict(execution.widget_bytes)}


LOAD_EXTENSION = "get_ipython().run_line_magic('load_ext', 'opus_magic')"


def package_kernel(sim: SimProcess, workdir: Path) -> Kernel:
    """A fresh kernel of the package's virtualenv, history in a temp file."""
    history = Path(tempfile.mkdtemp(dir=workdir)) / "history.sqlite"
    return Kernel(VENV_PYTHON, package_env(sim.base_url, history, workdir / "config"), workdir)


def magic_kernel(sim: SimProcess, workdir: Path) -> Kernel:
    """A fresh kernel with the extension loaded and warmed up."""
    kernel = package_kernel(sim, workdir)
    kernel.check(kernel_setup(LOAD_EXTENSION))
    settle(kernel)
    return kernel


def settle(kernel: Kernel, timeout_s: float = 60) -> None:
    """Timings start once the extension's background warm-up is over. Its last steps wait for
    the kernel to be idle between cells, so this waits outside the kernel, asking now and then."""
    deadline = time.monotonic() + timeout_s
    while kernel.run("", {"warming": "_bench.warming()"}).value("warming"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the extension's warm-up did not end within {timeout_s:g} s")
        time.sleep(0.5)


def timed(kernel: Kernel, client: str, sim: SimProcess, answer_tokens: int,
          prompt: str = PROMPT) -> dict[str, Any]:
    execution = kernel.run(cell(client, sim.base_url, prompt), facts_expression(client),
                           timeout_s=300, probe=probe_word(answer_tokens, prompt))
    return sample(client, execution)


def measure_streaming(sim: SimProcess, workdir: Path, rounds: dict[int, int],
                      sdk_rounds: dict[int, int], paced: tuple[tuple[int, int], ...] = PACED
                      ) -> dict[str, Any]:
    """Every round kept per size and client; clients rotate order each round.

    The SDK's typed loop is slow enough that it runs only in the first `sdk_rounds[size]` rounds.
    """
    results: dict[str, Any] = {"sizes": {}, "paced": []}
    with magic_kernel(sim, workdir) as kernel:
        sim.configure(answer_tokens=WARM_TOKENS, tokens_per_second=None)
        for client in CLIENTS:  # imports, encodings and connections warm before timing
            timed(kernel, client, sim, WARM_TOKENS)
        for size, count in rounds.items():
            sim.configure(answer_tokens=size)
            runs: dict[str, list[dict[str, Any]]] = {client: [] for client in CLIENTS}
            for index in range(count):
                order = CLIENTS[index % 3:] + CLIENTS[:index % 3]
                for client in order:
                    if client != "sdk_typed" or index < sdk_rounds.get(size, count):
                        runs[client].append(timed(kernel, client, sim, size))
            results["sizes"][size] = runs
        for rate, tokens in paced:
            sim.configure(answer_tokens=tokens, tokens_per_second=rate)
            results["paced"].append({"rate": rate, "tokens": tokens,
                                     **timed(kernel, "magic", sim, tokens)})
        sim.configure(tokens_per_second=None)
    return results


NATIVE = "get_ipython().run_line_magic('opus', 'config api=anthropic')"


def measure_native(sim: SimProcess, workdir: Path, rounds: int, size: int) -> dict[str, Any]:
    """Claude's Messages API: `%%opus` speaking it beside its own stdlib floor, interleaved."""
    runs: dict[str, list[dict[str, Any]]] = {"magic": [], "floor_native": []}
    with magic_kernel(sim, workdir) as kernel:
        kernel.check(NATIVE)
        sim.configure(answer_tokens=WARM_TOKENS, tokens_per_second=None)
        for client in runs:
            timed(kernel, client, sim, WARM_TOKENS)
        sim.configure(answer_tokens=size)
        for index in range(rounds):
            for client in (("magic", "floor_native") if index % 2 == 0
                           else ("floor_native", "magic")):
                runs[client].append(timed(kernel, client, sim, size))
    return {"size": size, "runs": runs}


def profile_stream(sim: SimProcess, workdir: Path, answer_tokens: int) -> list[Any]:
    """cProfile of one `%%opus` cell with a big answer, inside a warmed kernel."""
    from .profiles import profile_magic

    with magic_kernel(sim, workdir) as kernel:
        sim.configure(answer_tokens=WARM_TOKENS, tokens_per_second=None)
        timed(kernel, "magic", sim, WARM_TOKENS)
        sim.configure(answer_tokens=answer_tokens)
        return profile_magic(kernel, f"-m {MODEL} --max-tokens {MAX_TOKENS}", PROMPT)


def measure_memory(sim: SimProcess, workdir: Path, client: str,
                   answer_tokens: int = BIG) -> dict[str, float]:
    """Peak-RSS growth of a fresh kernel over one big answer, after a warm-up answer."""
    with magic_kernel(sim, workdir) as kernel:
        sim.configure(answer_tokens=WARM_TOKENS, tokens_per_second=None)
        before = timed(kernel, client, sim, WARM_TOKENS)["rss_mb"]
        sim.configure(answer_tokens=answer_tokens)
        after = timed(kernel, client, sim, answer_tokens)["rss_mb"]
    return {"before_mb": before, "after_mb": after, "growth_mb": after - before}
