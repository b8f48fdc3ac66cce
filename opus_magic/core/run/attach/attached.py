"""A run's attachments: fitted to its model, counted (estimated by the model's rules, then by
count_tokens where the API counts), and what the history keeps of them."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from opus_magic.core.run.request import RunRequest, Turns
from opus_magic.core.run.target import Target
from opus_magic.cost.model_info import ModelInfo
from opus_magic.media import Attachment, Estimate, prepare
from opus_magic.records import AttachedFile

EACH_AT_MOST = 20  # attachments count_tokens counts one by one; above, their total only


@dataclass(frozen=True)
class Attached:
    """The attachments of a plan, each user turn's, fitted to the model, with each one's
    estimate and (where count_tokens was reached) its exact count; `inline` False when they go
    by file_id after an upload."""

    turns: Turns
    estimates: tuple[Estimate, ...]
    exact: tuple[int | None, ...] = ()
    inline: bool = True

    @property
    def attachments(self) -> tuple[Attachment, ...]:
        return tuple(a for group in self.turns for a in group)

    def count(self, index: int) -> int | None:
        """One attachment's tokens: count_tokens' where it was reached, else the estimate."""
        exact = self.exact[index] if index < len(self.exact) else None
        return exact if exact is not None else self.estimates[index].tokens

    def is_exact(self, index: int) -> bool:
        return index < len(self.exact) and self.exact[index] is not None

    @property
    def tokens(self) -> int:
        """All attachments' tokens (an unknown count as 0: `unknown` names them)."""
        return sum(self.count(i) or 0 for i in range(len(self.estimates)))

    @property
    def current_tokens(self) -> int:
        """The tokens of the last turn's attachments (this prompt's)."""
        first = len(self.estimates) - len(self.turns[-1]) if self.turns else 0
        return sum(self.count(i) or 0 for i in range(first, len(self.estimates)))

    @property
    def unknown(self) -> tuple[str, ...]:
        return tuple(e.name for i, e in enumerate(self.estimates) if self.count(i) is None)

    @property
    def at_most(self) -> bool:
        """Whether the total is an upper bound (an image by URL, not counted exactly)."""
        return any(e.at_most and not self.is_exact(i) for i, e in enumerate(self.estimates))


def prepare_turns(turns: Turns, info: ModelInfo | None, model: str, detail: str = "auto",
                  inline: bool = True) -> Attached:
    """Every turn's attachments fitted to the model, checked against its limits (one request
    carries them all) and estimated; a broken limit is a one-line UsageError."""
    prepared = prepare([a for group in turns for a in group], info, model=model, detail=detail,
                       inline=inline)
    ready = iter(prepared.attachments)
    return Attached(tuple(tuple(next(ready) for _ in group) for group in turns),
                    prepared.estimates, inline=inline)


def prepared(request: RunRequest, target: Target) -> Attached | None:
    """The request's attachments fitted and estimated for its target (None without any); by
    file_id (no request size limit) when they are to be uploaded and the API takes files."""
    if not request.attachments:
        return None
    return prepare_turns(request.attachments, target.info, target.model_id,
                         inline=not (request.upload and target.transport.files))


def attachment_warnings(request: RunRequest, target: Target,
                        attached: Attached | None) -> list[str]:
    """What the pre-flight must say about the attachments: counts it cannot know, an --upload
    that this API cannot honour."""
    if attached is None:
        return []
    out = [f"{name}: its tokens are unknown until the API reads it (count_tokens on Claude "
           f"is exact); the pre-flight and the budget leave it out." for name in attached.unknown]
    if request.upload and not target.transport.files:
        out.append(f"--upload goes through Anthropic's Files API, which {target.endpoint.api} "
                   f"endpoints lack: the attachments are sent inline.")
    return out


def turn_groups(history: Sequence[dict[str, Any]], earlier: Turns,
                current: tuple[Attachment, ...]) -> Turns:
    """The attachments of each user turn: the earlier turns' (padded to the history's user
    turns), then this prompt's; () when there are none at all."""
    users = sum(1 for message in history if message.get("role") == "user")
    groups = [*earlier[:users], *([()] * (users - len(earlier))), current]
    return tuple(groups) if any(groups) else ()


Counter = Callable[[Turns], int | None]  # the exact input of the body with these attachments


def counted_each(attached: Attached, total: int, count: Counter, each: bool = False) -> Attached:
    """Each attachment's exact tokens: the body's count without attachments taken from its
    count with all of them (one attachment), or with each alone (`each`, up to EACH_AT_MOST: a
    request apiece, so only where nothing waits on it); a count not had leaves the estimate."""
    n = len(attached.estimates)
    if not n or (n > 1 and not (each and n <= EACH_AT_MOST)):
        return attached
    base = count(tuple(() for _ in attached.turns))
    if base is None:
        return attached
    if n == 1:
        return dataclasses.replace(attached, exact=(total - base,))
    exact: list[int | None] = []
    for index in range(n):
        alone = count(_only(attached.turns, index))
        exact.append(None if alone is None else alone - base)
    return dataclasses.replace(attached, exact=tuple(exact))


def _only(turns: Turns, index: int) -> Turns:
    """The turns with every attachment but the index-th left out."""
    out, seen = [], 0
    for group in turns:
        out.append(tuple(a for i, a in enumerate(group, seen) if i == index))
        seen += len(group)
    return tuple(out)


def uploaded(attached: Attached, upload: Callable[[Attachment], Attachment]) -> Attached:
    """The attachments sent by file_id: each with bytes here is uploaded (or its upload reused)."""
    turns = tuple(tuple(a if a.data is None or a.file_id else upload(a) for a in group)
                  for group in attached.turns)
    return dataclasses.replace(attached, turns=turns, inline=False)


def facts(attached: Attached | None, keep: bool = False) -> list[AttachedFile]:
    """What the history keeps of each attachment (its bytes only when `keep`)."""
    if attached is None:
        return []
    out = []
    index = 0
    for turn, group in enumerate(attached.turns):
        for attachment in group:
            out.append(AttachedFile(
                name=attachment.name, media_type=attachment.media_type, kind=attachment.kind,
                size=attachment.size, sha256=attachment.sha256, pixels=attachment.pixels,
                pages=attachment.pages, tokens=attached.count(index),
                tokens_exact=attached.is_exact(index), file_id=attachment.file_id,
                source=attachment.source or attachment.url, turn=turn, notes=attachment.notes,
                data=attachment.data if keep else None))
            index += 1
    return out
