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
        """Write the stream; returns how many deltas past the thinking were sent."""
        start_usage = {**answer.usage.body(), "output_tokens": 1, "service_tier": "standard"}
        self.write(sse("message_start", {"message": {
            "id": message_id, "type": "message", "role": "assistant", "content": [],
            "model": answer.model, "stop_reason": None, "stop_sequence": None,
            "usage": start_usage}}) + sse("ping", {}))
        time.sleep(self.ttft_s)
        name = scenario.name if scenario else None
        left = int(scenario["after"]) if name in ("cut", "error_chunk") else None
        sent = 0
        for index, block in enumerate(answer.blocks):
            thinking = block.delta == "thinking_delta"
            quota = None if thinking or left is None else left - sent
            self.write(sse("content_block_start", {"index": index, "content_block": block.start})
                       + "".join(sse("content_block_delta", {"index": index, "delta": delta})
                                 for delta in block.before))
            done = self._deltas(index, block.delta, block.field,
                                block.pieces if quota is None else block.pieces[:quota])
            sent += 0 if thinking else done
            if quota is not None and (sent >= left or index == len(answer.blocks) - 1):
                if name == "cut":
                    cut(scenario["mode"])
                else:
                    self.write(sse("error", {"error": {"type": "overloaded_error",
                                                       "message": "Overloaded"}}))
                return sent
            self.write("".join(sse("content_block_delta", {"index": index, "delta": delta})
                               for delta in block.after) + sse("content_block_stop",
                                                              {"index": index}))
        self.write(sse("message_delta", {
            "delta": {"stop_reason": answer.stop_reason, "stop_sequence": None},
            "usage": {k: v for k, v in answer.final_usage().items()
                      if k not in ("cache_creation", "service_tier")}}) + sse("message_stop", {}))
        return sent

    def _deltas(self, index: int, kind: str, field: str, pieces: list[str]) -> int:
        """Write a block's deltas, paced when a rate is set; returns how many were written."""
        if not kind:
            return 0
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
