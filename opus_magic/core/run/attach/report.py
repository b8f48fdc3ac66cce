"""What a run's attachments cost, said before sending and shown after: one line each in the
pre-flight, what caching a document saves over several questions (the dry run), and the
chips the views draw (name, pages or pixels, tokens, cost, a thumbnail for images)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from opus_magic.core.run.caching import LIFETIMES, ordinal
from opus_magic.core.run.plan import Plan
from opus_magic.cost.model_info import ModelInfo
from opus_magic.cost.pricing import format_usd, input_cost, usage_cost
from opus_magic.records import AttachedFile, RunRecord, Usage

if TYPE_CHECKING:  # every view shows chips; the attachments' code loads with the first one
    from opus_magic.core.run.attach.attached import Attached
    from opus_magic.media import Attachment

THUMBNAILS = 6  # images a view shows small pictures of; the others get a chip without one
QUESTIONS = 5  # the series the dry run prices with and without caching


@dataclass(frozen=True)
class Chip:
    """One attachment as a view shows it; `tokens` None when unknown, `at_most` an upper
    bound, `exact` from count_tokens or the usage; `thumbnail` a small JPEG of an image."""

    name: str
    kind: str
    size: str
    tokens: int | None
    cost: Decimal | None
    exact: bool = False
    at_most: bool = False
    thumbnail: bytes | None = None

    @property
    def label(self) -> str:
        """`manual.pdf · 12 pages · 28,164 tokens · $0.1408`, `≈` on what is estimated."""
        mark = "" if self.exact else "at most " if self.at_most else "≈"
        tokens = "tokens unknown" if self.tokens is None else f"{mark}{self.tokens:,} tokens"
        return f"{self.name} · {self.size} · {tokens} · {format_usd(self.cost, not self.exact)}"


def plan_chips(plan: Plan, thumbnails: int = THUMBNAILS) -> tuple[Chip, ...]:
    """The plan's attachments as chips, thumbnails of the first few images."""
    attached = plan.attached
    if attached is None:
        return ()
    from opus_magic.media.images import thumbnail

    chips, pictured = [], 0
    for index, attachment in enumerate(attached.attachments):
        small = thumbnail(attachment) if attachment.kind == "image" and pictured < thumbnails \
            else None
        pictured += attachment.kind == "image"
        tokens = attached.count(index)
        chips.append(Chip(attachment.name, attachment.kind, attachment.dimensions, tokens,
                          None if tokens is None else input_cost(tokens, plan.info),
                          attached.is_exact(index), attached.estimates[index].at_most, small))
    return tuple(chips)


def record_chips(record: RunRecord, info: ModelInfo | None) -> tuple[Chip, ...]:
    """A recorded run's attachments as chips (no thumbnails: the history keeps no pictures)."""
    return tuple(Chip(a.name, a.kind, _size(a), a.tokens,
                      None if a.tokens is None else input_cost(a.tokens, info), a.tokens_exact)
                 for a in record.attachments)


def _size(attached: AttachedFile) -> str:
    if attached.pixels:
        return f"{attached.pixels[0]}×{attached.pixels[1]} px"
    if attached.pages is not None:
        return f"{attached.pages} page{'s' if attached.pages != 1 else ''}"
    return f"{attached.size:,} bytes"


def attachments_brief(plans: Sequence[Plan]) -> str:
    """One line on what several plans (a grid's cells) attach: how many distinct files, and
    their tokens over all the plans."""
    sent = [(a, attached.count(i)) for plan in plans if (attached := plan.attached)
            for i, a in enumerate(attached.attachments)]
    if not sent:
        return ""
    distinct = {a.sha256 or a.url or a.name for a, _ in sent}
    tokens = sum(count or 0 for _, count in sent)
    return (f"Attachments: {len(distinct):,} distinct file{'s' if len(distinct) != 1 else ''} "
            f"sent {len(sent):,} times, ≈{tokens:,} input tokens in all.")


def attachment_lines(plan: Plan) -> list[str]:
    """A line per attachment: its tokens and how they were had, its cost as plain input, and
    what was done to it (downscaled, sent by URL or file_id)."""
    attached = plan.attached
    if attached is None:
        return []
    lines = []
    for index, attachment in enumerate(attached.attachments):
        tokens = attached.count(index)
        cost = None if tokens is None else input_cost(tokens, plan.info)
        lines.append(f"Attachment {attachment.name} ({attachment.dimensions}): "
                     f"{_how(attached, index)} · {format_usd(cost, not attached.is_exact(index))}"
                     f" as input{_sent_as(attachment)}.")
        lines += [f"  {attachment.name}: {note}" for note in attachment.notes]
    return lines


def _how(attached: Attached, index: int) -> str:
    estimate = attached.estimates[index]
    if attached.is_exact(index):
        return f"{attached.count(index):,} tokens, exact (count_tokens)"
    if estimate.tokens is None:
        return f"tokens unknown ({estimate.how})"
    return f"{'at most ' if estimate.at_most else '≈'}{estimate.tokens:,} tokens ({estimate.how})"


def _sent_as(attachment: Attachment) -> str:
    if attachment.file_id:
        return f", sent as {attachment.file_id} (Files API)"
    return ", sent by URL" if attachment.url else ""


def payoff_lines(plan: Plan) -> list[str]:
    """The attachments asked about again and again: their cost a question uncached, and on
    Claude's native API cached for 5 minutes or an hour (the write, then each read) with the
    question from which caching pays, and what QUESTIONS questions come to each way."""
    attached = plan.attached
    if attached is None or not attached.tokens:
        return []
    n, info = attached.tokens, plan.info
    plain = input_cost(n, info)
    mark = "at most " if attached.at_most else ""
    lines = [f"{plan.model_id}: the attachments are {mark}{n:,} tokens: "
             f"{format_usd(plain, True)} a question uncached, "
             f"{format_usd(None if plain is None else plain * QUESTIONS, True)} for "
             f"{QUESTIONS} questions."]
    minimum = info.min_cache_prefix if info else None
    if not plan.transport.caches or plain is None or minimum is None:
        return lines
    if n < minimum:
        return [*lines, f"  too short to cache on {plan.model_id} ({n:,} < {minimum:,} tokens)."]
    read = usage_cost(Usage(n, cache_read_tokens=n), info)
    for ttl in LIFETIMES:
        write = usage_cost(Usage(n, cache_write_tokens=n, cache_write_1h_tokens=n * (ttl == "1h"),
                                 cache_write_5m_tokens=n * (ttl == "5m")), info)
        if write is None or read is None:
            continue
        lines.append(f"  cached {ttl} (--cache {ttl}): {format_usd(write, True)} the first "
                     f"question (a write), then {format_usd(read, True)} each (a read) · "
                     f"{format_usd(write + read * (QUESTIONS - 1), True)} for {QUESTIONS} · "
                     f"{_pays(plain, write, read, ttl)}.")
    return lines


def _pays(plain: Decimal, write: Decimal, read: Decimal, ttl: str) -> str:
    """From which question k the cached series costs less: write + (k−1)·read < k·plain."""
    if plain <= read:
        return "never pays"
    k = math.floor((write - read) / (plain - read)) + 1
    return f"pays from the {ordinal(k)} question asked within {LIFETIMES[ttl]} of the last"
