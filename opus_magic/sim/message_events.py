"""Writing a Messages answer as Anthropic's event stream (`event:` / `data:` pairs)."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from opus_magic.sim.faults import Scenario

BATCH = 512  # text deltas per socket write at full speed


def sse(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"


class EventWriter:
    """Writes one answer as Anthropic's event stream, pacing it when a token rate is set."""

    def __init__(self, write: Callable[[str], Any], rate: float | None, ttft_s: float) -> None:
        self.write, self.rate, self.ttft_s = write, rate, ttft_s

    def send(self, answer: Any, message_id: str, scenario: Scenario | None,
             cut: Callable[[str], None]) -> int:
        """Write the stream; returns how many text deltas were sent."""
        start_usage = {**answer.usage.body(), "output_tokens": 1, "service_tier": "standard"}
        self.write(sse("message_start", {"message": {
            "id": message_id, "type": "message", "role": "assistant", "content": [],
            "model": answer.model, "stop_reason": None, "stop_sequence": None,
            "usage": start_usage}}) + sse("ping", {}))
        time.sleep(self.ttft_s)
        index = 0
        if answer.thinking:
            self._block(index, {"type": "thinking", "thinking": "", "signature": ""},
                        "thinking_delta", "thinking", answer.thinking)
            self.write(sse("content_block_delta", {"index": index, "delta": {
                "type": "signature_delta", "signature": answer.signature}})
                + sse("content_block_stop", {"index": index}))
            index += 1
        name = scenario.name if scenario else None
        stop = int(scenario["after"]) if name in ("cut", "error_chunk") else len(answer.chunks)
        sent = self._block(index, {"type": "text", "text": ""}, "text_delta", "text",
                           answer.chunks[:stop])
        if name == "cut":
            cut(scenario["mode"])
            return sent
        if name == "error_chunk":
            self.write(sse("error", {"error": {"type": "overloaded_error", "message": "Overloaded"}}))
            return sent
        self.write(sse("content_block_stop", {"index": index}) + sse("message_delta", {
            "delta": {"stop_reason": answer.stop_reason, "stop_sequence": None},
            "usage": {k: v for k, v in answer.final_usage().items()
                      if k not in ("cache_creation", "service_tier")}}) + sse("message_stop", {}))
        return sent

    def _block(self, index: int, start: dict[str, Any], kind: str, field: str,
               pieces: list[str]) -> int:
        self.write(sse("content_block_start", {"index": index, "content_block": start}))
        head = (f'event: content_block_delta\ndata: {{"type": "content_block_delta", '
                f'"index": {index}, "delta": {{"type": "{kind}", "{field}": ')
        if self.rate is None:
            for begin in range(0, len(pieces), BATCH):
                self.write("".join(head + json.dumps(p) + "}}\n\n"
                                   for p in pieces[begin:begin + BATCH]))
            return len(pieces)
        begin_at = time.monotonic()
        for n, piece in enumerate(pieces):
            delay = begin_at + (n + 1) / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.write(head + json.dumps(piece) + "}}\n\n")
        return len(pieces)
