"""Peers side by side: `%%opus`, jupyter-ai's `%%ai` and the `llm` Python API, each in a kernel.

Same simulator, same prompts: N short answers, then one 100K-token answer. The peers live in
their own virtualenv (`benchmarks/.venv-peers`) built from `requirements-peers.txt`.
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .harness import (
    BENCH_KEY,
    OFFLINE_ENV,
    ROOT,
    SimProcess,
    kernel_setup,
    median,
    spread,
)
from .kernel import Execution, Kernel
from .streaming import (
    BIG,
    LOAD_EXTENSION,
    MAX_TOKENS,
    MODEL,
    package_kernel,
    probe_word,
)

PEERS_DIR = ROOT / "benchmarks" / ".venv-peers"
REQUIREMENTS = ROOT / "benchmarks" / "requirements-peers.txt"
PEER_MODEL = "gpt-4o"  # a name jupyter-ai's model list accepts; the simulator answers any name
SHORT_TOKENS = 200
PACED_TOKENS, PACED_RATE = 2_000, 1_000.0  # a 2 s stream: when does the first word show?
LLM_MODELS_YAML = """- model_id: sim-{model}
  model_name: {model}
  api_base: "{base_url}"
"""


def prompts(count: int) -> list[str]:
    return [f"Question {i}: how does prompt caching change the cost of a long conversation?"
            for i in range(count)]


def peers_python(timeout_s: float = 900) -> tuple[Path | None, str]:
    """The peers' interpreter, installing the pinned requirements on first use; else why not."""
    python = PEERS_DIR / "bin" / "python"
    stamp = PEERS_DIR / ".requirements-sha256"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python, "already installed"
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(PEERS_DIR)], check=True,
                           capture_output=True, timeout=120)
        done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r",
                               str(REQUIREMENTS)], capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"could not create the peers' virtualenv: {exc}"
    if done.returncode != 0:
        return None, "pip could not install the pinned peers: " + done.stderr.strip()[-400:]
    stamp.write_text(wanted)
    return python, "installed from requirements-peers.txt"


def peer_env(base_url: str, llm_dir: Path) -> dict[str, str]:
    (llm_dir / "extra-openai-models.yaml").write_text(
        LLM_MODELS_YAML.format(model=PEER_MODEL, base_url=base_url))
    return {**OFFLINE_ENV, "OPENAI_API_KEY": BENCH_KEY, "LLM_USER_PATH": str(llm_dir),
            "PYTHONPATH": str(ROOT)}


class Tool:
    """How one tool is loaded and how a prompt is sent with it in a notebook cell."""

    name = ""
    setup = ""
    model = PEER_MODEL  # the model the simulator is asked for, which seeds its answer

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def cell(self, prompt: str) -> str:
        raise NotImplementedError


class OpusMagic(Tool):
    name = "opus_magic %%opus"
    setup = LOAD_EXTENSION
    model = MODEL

    def cell(self, prompt: str) -> str:
        return f"%%opus -m {MODEL} --max-tokens {MAX_TOKENS}\n{prompt}"


class JupyterAi(Tool):
    name = "jupyter-ai %%ai"
    setup = "get_ipython().run_line_magic('load_ext', 'jupyter_ai_magic_commands')"

    def cell(self, prompt: str) -> str:
        return f"%%ai openai/{PEER_MODEL} --api-base {self.base_url}\n{prompt}"


class LlmApi(Tool):
    name = "llm Python API"
    setup = f"import llm\n_model = llm.get_model('sim-{PEER_MODEL}')"

    def cell(self, prompt: str) -> str:
        return (f"_response = _model.prompt({prompt!r})\n"
                "for _chunk in _response:\n    print(_chunk, end='')")


def drive(kernel: Kernel, tool: Tool, sim: SimProcess, count: int, big: int) -> dict[str, Any]:
    """Load, N short prompts, one big answer; wall, first visible token and peak memory."""
    rss = {"rss": "_bench.maxrss_mb()"}
    loaded = kernel.run(kernel_setup(tool.setup), rss, timeout_s=180)
    if loaded.status != "ok":
        raise RuntimeError(f"{tool.name} did not load: {loaded.error}")
    sim.configure(answer_tokens=SHORT_TOKENS, tokens_per_second=None)
    short: list[Execution] = []
    for prompt in prompts(count):
        execution = kernel.run(tool.cell(prompt), rss, timeout_s=120,
                               probe=probe_word(SHORT_TOKENS, prompt, tool.model))
        if execution.status != "ok":
            raise RuntimeError(f"{tool.name} failed on a prompt: {execution.error}")
        short.append(execution)
    before = short[-1].value("rss")
    sim.configure(answer_tokens=PACED_TOKENS, tokens_per_second=PACED_RATE)
    paced_prompt = "Explain the bill line by line."
    paced = kernel.run(tool.cell(paced_prompt), rss, timeout_s=120,
                       probe=probe_word(PACED_TOKENS, paced_prompt, tool.model))
    sim.configure(answer_tokens=big, tokens_per_second=None)
    big_prompt = "Write the long report on caching costs."
    long = kernel.run(tool.cell(big_prompt), rss, timeout_s=600, probe=probe_word(big, big_prompt, tool.model))
    if long.status != "ok":
        raise RuntimeError(f"{tool.name} failed on the big answer: {long.error}")
    walls = [e.wall_s for e in short]
    visible = [e.visible_s for e in short[1:] or short if e.visible_s is not None]
    return {"load_s": loaded.wall_s, "rss_loaded_mb": loaded.value("rss"),
            "first_prompt_s": walls[0], "first_prompt_visible_s": short[0].visible_s,
            "n": count, "n_total_s": sum(walls),
            "n_median_s": median(walls[1:] or walls), "n_spread": spread(walls[1:] or walls),
            "n_visible_median_s": median(visible) if visible else None,
            "rss_after_n_mb": before, "paced_wall_s": paced.wall_s,
            "paced_visible_s": paced.visible_s, "big_tokens": big, "big_wall_s": long.wall_s,
            "big_visible_s": long.visible_s, "big_rss_mb": long.value("rss"),
            "big_growth_mb": long.value("rss") - before, "big_output_bytes": long.output_bytes,
            "shows": shown(short[-1]), "big_messages": dict(long.counts)}


def shown(execution: Execution) -> dict[str, Any]:
    """What the frontend received for one short prompt, besides the answer itself."""
    tail = execution.text.strip().splitlines()[-1:] if execution.text.strip() else []
    return {"stream_last_line": tail[0][:300] if tail else "", "mimetypes": sorted(execution.mimetypes),
            "plain_tail": execution.plain.strip().splitlines()[-1][:300] if execution.plain.strip() else "",
            "messages": dict(execution.counts)}


def llm_usage(kernel: Kernel) -> str:
    """What the llm API reports of tokens for its last response (the user has to ask for it)."""
    return kernel.run("", {"u": "repr(_response.usage())"}).expressions["u"]["data"]["text/plain"]


def measure_peers(sim: SimProcess, workdir: Path, count: int, big: int = BIG,
                  install: bool = True) -> dict[str, Any]:
    """Every tool that can run here, in its own fresh kernel; peers that cannot, with the reason.

    Without `install`, peers are measured only when their virtualenv is already in place.
    """
    results: dict[str, Any] = {}
    with package_kernel(sim, workdir) as kernel:
        results["opus_magic"] = drive(kernel, OpusMagic(sim.base_url), sim, count, big)
    python, how = peers_python() if install else (None, "not installed (run without --quick)")
    if not install and (PEERS_DIR / "bin" / "python").exists():
        python, how = PEERS_DIR / "bin" / "python", "already installed"
    results["install"] = how
    if python is None:
        results["jupyter_ai"] = results["llm"] = {"unavailable": how}
        return results
    llm_dir = Path(tempfile.mkdtemp(dir=workdir, prefix="llm-user-"))
    env = peer_env(sim.base_url, llm_dir)
    for key, tool in (("jupyter_ai", JupyterAi(sim.base_url)), ("llm", LlmApi(sim.base_url))):
        try:
            with Kernel(python, env, workdir) as kernel:
                results[key] = drive(kernel, tool, sim, count, big)
                if key == "llm":
                    results[key]["usage_repr"] = llm_usage(kernel)
        except (RuntimeError, TimeoutError) as exc:
            results[key] = {"unavailable": str(exc)[:400]}
    results["versions"] = peer_versions(python)
    return results


def peer_versions(python: Path) -> dict[str, str]:
    code = ("import importlib.metadata as m, json; print(json.dumps({n: m.version(n) for n in "
            "('jupyter-ai-magic-commands', 'litellm', 'llm', 'openai', 'ipykernel')}))")
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60)
    import json

    return json.loads(done.stdout) if done.returncode == 0 else {}
