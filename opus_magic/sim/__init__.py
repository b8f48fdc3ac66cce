"""A local OpenAI-compatible chat-completions simulator (stdlib only) for tests and offline teaching."""
from __future__ import annotations

import dataclasses
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from opus_magic.sim.log import RequestLog
from opus_magic.sim.server import POLL_S, Server, load_encodings
from opus_magic.sim.state import Settings, State

__all__ = ["RequestLog", "SimControl", "Simulator", "control", "serve_forever", "start"]


class Simulator:
    """An OpenAI-compatible chat-completions simulator serving on 127.0.0.1 from a daemon thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 tokens_per_second: float | dict[str, float] | None = None, ttft_s: float = 0.0,
                 answer_tokens: int | None = None, usage_scale: float = 1.0) -> None:
        self.host, self.port = host, port
        self._state = State(Settings(tokens_per_second, ttft_s, answer_tokens, usage_scale))
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, e.g. http://127.0.0.1:PORT/v1 (after start)."""
        if self._server is None:
            raise RuntimeError("the simulator is not running: call start() first")
        return f"http://{self.host}:{self._server.server_address[1]}/v1"

    def _bind(self) -> Server:
        load_encodings()
        self._server = Server((self.host, self.port), self._state)
        return self._server

    def start(self) -> Simulator:
        """Serve on a daemon thread; returns self."""
        server = self._bind()
        self._thread = threading.Thread(target=server.serve_forever, args=(POLL_S,),
                                        name="opus-magic-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def scenario(self, name: str, **params: Any) -> None:
        """Pick a scenario for the next `times` requests (all of them without); "normal" clears.

        Faults ("429", "cut", "error", …) and, for tools and structured outputs,
        "bad_output" (`kind` missing_field, wrong_type or truncated: the JSON fails its schema),
        "web_search" (`searches`, `error`) and "pause_turn" (`searches`); see sim/faults.py.
        """
        self._state.book.choose(name, params)

    def configure(self, **settings: Any) -> None:
        """Change tokens_per_second, ttft_s, answer_tokens, usage_scale or accuracy (per model
        name, see sim/content/choices.py) while running."""
        self._state.configure(**settings)

    def batches(self, **settings: Any) -> None:
        """Batch engines: `delay_s` before a batch ends, custom_ids that `fail`, `expire`, and
        `end_now=True` to end every pending batch at once."""
        self._state.batches.configure(**settings)

    def reports(self, **settings: Any) -> None:
        """Usage and cost reports: `outside=[{"model": ..., "input_tokens": ...,
        "output_tokens": ..., "at": ISO time}]` adds runs made outside any history,
        `drift={model: {"output": 12}}` bills a price ($ per million) other than the catalog's,
        `page_size=N` pages the reports N buckets at a time (see sim/reports/billing.py)."""
        self._state.reports.configure(**settings)

    def files(self, **settings: Any) -> None:
        """The Files API's `max_bytes` a file (500 MB until changed; reset restores it)."""
        self._state.files.configure(**settings)

    def limit(self, **limits: Any) -> None:
        """Rate-limit the simulator: `requests` and/or `tokens` per `window_s` (60), headers in
        `style` "anthropic" or "openai", `retry_after` on 429s or not, and what a reset means:
        `limiter="bucket"` (until full again) or `"window"` (until the oldest request leaves the
        sliding window); no arguments lifts them."""
        self._state.limit(**limits)

    def requests(self) -> list[RequestLog]:
        """The chat requests seen so far, in order."""
        return self._state.requests()

    def status(self) -> dict[str, Any]:
        """Its settings as they stand: the speed and usage knobs, the fault scenario in force,
        how long a batch takes, and whether a rate limit is on."""
        return {**dataclasses.asdict(self._state.settings),
                "fault": self._state.book.describe(),
                "batch_delay_s": self._state.batches.settings.delay_s,
                "rate_limited": self._state.limiter is not None}

    def requests_ended(self, count: int, timeout_s: float = 30.0) -> list[RequestLog]:
        """The request log once `count` requests arrived and the simulator finished each one
        (its own record of the end, which may come after the client read the last bytes)."""
        if not self._state.wait_ended(count, timeout_s):
            raise TimeoutError(f"{count} requests did not all end within {timeout_s:g} s")
        return self._state.requests()

    def reset(self) -> None:
        """Forget the request log and the prompt cache, and go back to the normal scenario."""
        self._state.reset()


class SimControl:
    """Drives a simulator running in another process through its /sim endpoints."""

    def __init__(self, base_url: str) -> None:
        root = base_url.rstrip("/")
        self.root = root[:-3] if root.endswith("/v1") else root

    def _call(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.root + path, data=data,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 400:
                raise ValueError(json.loads(exc.read())["error"]["message"]) from None
            raise

    def scenario(self, name: str, **params: Any) -> None:
        """Pick a fault scenario (see Simulator.scenario)."""
        self._call("/sim/scenario", {"name": name, "params": params})

    def configure(self, **settings: Any) -> None:
        """Change speed or usage settings (see Simulator.configure)."""
        self._call("/sim/configure", settings)

    def batches(self, **settings: Any) -> None:
        """Change the batch engines' settings (see Simulator.batches)."""
        self._call("/sim/batches", settings)

    def reports(self, **settings: Any) -> None:
        """Change the usage and cost reports (see Simulator.reports)."""
        self._call("/sim/reports", settings)

    def limit(self, **limits: Any) -> None:
        """Rate-limit the remote simulator (see Simulator.limit)."""
        self._call("/sim/limits", limits)

    def requests(self) -> list[RequestLog]:
        """The chat requests the remote simulator has seen, in order."""
        return [RequestLog(**entry) for entry in self._call("/sim/requests")["requests"]]

    def reset(self) -> None:
        """Clear the remote simulator's log, prompt cache and scenario."""
        self._call("/sim/reset", {})


def start(port: int = 0, **settings: Any) -> Simulator:
    """Start a simulator on a daemon thread."""
    return Simulator(port=port, **settings).start()


def serve_forever(port: int = 8765, announce: Callable[[str], None] | None = None,
                  **settings: Any) -> None:
    """Serve in the calling thread until interrupted; `announce(base_url)` once listening."""
    simulator = Simulator(port=port, **settings)
    server = simulator._bind()
    if announce is not None:
        announce(simulator.base_url)
    try:
        server.serve_forever(POLL_S)
    finally:
        simulator.stop()


def control(base_url: str) -> SimControl:
    """Control a simulator started by another process (base URL with or without /v1)."""
    return SimControl(base_url)
