"""Code that runs inside the measured kernels: the two reference stream loops and small probes.

Stdlib only at import time, so the peers' kernel can import it too.
"""
from __future__ import annotations

import http.client
import json
import resource
import time
from typing import Any
from urllib.parse import urlsplit

LAST: dict[str, Any] = {}


def chat_body(model: str, prompt: str, max_tokens: int) -> dict[str, Any]:
    """The streaming request every client sends (the magic builds the same one)."""
    return {"model": model, "messages": [{"role": "user", "content": prompt}],
            "max_tokens": max_tokens, "stream": True, "stream_options": {"include_usage": True}}


def floor(base_url: str, model: str, prompt: str, max_tokens: int) -> int:
    """The floor: stdlib `http.client` reading SSE lines and `json.loads`, deltas concatenated."""
    start = time.perf_counter()
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    connection.request("POST", url.path.rstrip("/") + "/chat/completions",
                       json.dumps(chat_body(model, prompt, max_tokens)),
                       {"Content-Type": "application/json", "Authorization": "Bearer sk-bench"})
    response = connection.getresponse()
    parts: list[str] = []
    first = None
    for line in response:
        if not line.startswith(b"data:"):
            continue
        payload = line[5:].strip()
        if payload == b"[DONE]":
            break
        for choice in json.loads(payload).get("choices") or ():
            content = (choice.get("delta") or {}).get("content")
            if content:
                if first is None:
                    first = time.perf_counter()
                parts.append(content)
    connection.close()
    return _done(start, first, "".join(parts))


def floor_native(base_url: str, model: str, prompt: str, max_tokens: int) -> int:
    """The floor for Claude's Messages API: stdlib `http.client` reading `/v1/messages` event
    lines and `json.loads`, text deltas concatenated."""
    start = time.perf_counter()
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    body = {"model": model, "messages": [{"role": "user", "content": prompt}],
            "max_tokens": max_tokens, "stream": True}
    connection.request("POST", url.path.rstrip("/") + "/messages", json.dumps(body),
                       {"Content-Type": "application/json", "x-api-key": "sk-ant-bench",
                        "anthropic-version": "2026-10-21"})
    response = connection.getresponse()
    parts: list[str] = []
    first = None
    for line in response:
        if not line.startswith(b"data:"):
            continue
        event = json.loads(line[5:])
        if event.get("type") == "content_block_delta":
            text = event["delta"].get("text")
            if text:
                if first is None:
                    first = time.perf_counter()
                parts.append(text)
    connection.close()
    return _done(start, first, "".join(parts))


def sdk_typed(base_url: str, model: str, prompt: str, max_tokens: int) -> int:
    """The bare openai SDK typed stream: iterate `ChatCompletionChunk`s, concatenate deltas."""
    import openai

    start = time.perf_counter()
    client = openai.OpenAI(base_url=base_url, api_key="sk-bench", max_retries=0, timeout=120)
    parts: list[str] = []
    first = None
    for chunk in client.chat.completions.create(**chat_body(model, prompt, max_tokens)):
        if chunk.choices and chunk.choices[0].delta.content:
            if first is None:
                first = time.perf_counter()
            parts.append(chunk.choices[0].delta.content)
    client.close()
    return _done(start, first, "".join(parts))


def _done(start: float, first: float | None, text: str) -> int:
    end = time.perf_counter()
    LAST.clear()
    LAST.update(seconds=end - start, ttft_s=None if first is None else first - start,
                chars=len(text))
    return len(text)


def maxrss_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def last_run_facts() -> dict[str, Any]:
    """What the engine recorded about the magic's last run."""
    import opus_magic

    record = opus_magic.last_run()
    if record is None:
        return {}
    return {"seconds": record.duration_s, "ttft_s": record.ttft_s, "chars": len(record.text),
            "status": record.status, "output_tokens": record.usage.output_tokens,
            "cost": None if record.cost is None else str(record.cost),
            "cost_exact": record.cost_exact, "comparison_id": record.comparison_id}


def comparison_facts(limit: int) -> list[dict[str, Any]]:
    """Durations and statuses of the newest runs in history (one fan-out)."""
    import opus_magic

    return [{"model": r.model, "seconds": r.duration_s, "status": r.status,
             "comparison_id": r.comparison_id} for r in opus_magic.history(limit=limit)]


def timed_magic(name: str, line: str) -> float:
    """Run a line magic in this kernel and return its time in seconds."""
    from IPython import get_ipython

    start = time.perf_counter()
    get_ipython().run_line_magic(name, line)
    seconds = time.perf_counter() - start
    LAST.clear()
    LAST.update(seconds=seconds)
    return seconds


def top_functions(profile: Any, count: int) -> list[tuple[str, float, float, int]]:
    """The functions that took the most own time in a cProfile run: (where, own s, total s, calls)."""
    import pstats

    table = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    rows = []
    for (filename, line, name), (_, calls, own, total, _) in table.items():
        where = f"{_short(filename)}:{line}({name})"
        rows.append((where, round(own, 4), round(total, 4), calls))
    rows.sort(key=lambda row: row[1], reverse=True)
    return rows[:count]


def _short(filename: str) -> str:
    """`json/decoder.py`, `openai/_models.py`, `opus_magic/engine.py`: enough to find the file."""
    import re

    match = re.search(r"(?:site-packages|lib/python3\.\d+)/(.+)$", filename)
    return match.group(1) if match else "/".join(filename.rsplit("/", 2)[-2:])


def warming() -> list[str]:
    """The background warm-up threads (started by `%load_ext`) still running."""
    import threading

    return [t.name for t in threading.enumerate() if "warm" in t.name and t.is_alive()]
