"""A grid larger than one provider batch takes, split into several batches in order: each within
the API's limits on requests and bytes (Anthropic: 100,000 requests or 256 MB a batch; OpenAI:
50,000 requests or a 200 MB input file). Pure: request sizes in, index ranges out."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from opus_magic.errors import UsageError

MB = 1_000_000


@dataclass(frozen=True)
class BatchLimits:
    """What one provider batch may hold."""

    requests: int
    bytes: int


LIMITS = {"anthropic": BatchLimits(100_000, 256 * MB), "openai": BatchLimits(50_000, 200 * MB)}
ENVELOPE = 1024  # room for what wraps the requests (the JSON list, the upload's form fields)


def split(sizes: Sequence[int], limits: BatchLimits) -> list[range]:
    """Consecutive runs of requests (by index), each within `limits`; refuses a request that
    no batch could hold on its own."""
    room = limits.bytes - ENVELOPE
    parts: list[range] = []
    start, used = 0, 0
    for index, size in enumerate(sizes):
        if size > room:
            raise UsageError(f"Request {index} of the batch is {size / MB:,.1f} MB, more than a "
                             f"batch holds ({limits.bytes / MB:,.0f} MB): send it interactively "
                             f"(without --batch) or make its attachments smaller.")
        if index > start and (index - start >= limits.requests or used + size > room):
            parts.append(range(start, index))
            start, used = index, 0
        used += size
    if len(sizes) > start:
        parts.append(range(start, len(sizes)))
    return parts
