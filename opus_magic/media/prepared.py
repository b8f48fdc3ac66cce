"""Attachments made ready for one model: images fitted to what it uses, limits checked, priced."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from opus_magic.cost.model_info import ModelInfo
from opus_magic.cost.pricing import input_cost
from opus_magic.media.attachment import Attachment
from opus_magic.media.estimate import Estimate, Estimator
from opus_magic.media.images import downscaled
from opus_magic.media.limits import check, limits_for


@dataclass(frozen=True)
class Prepared:
    """Attachments ready for one model with each one's estimated tokens (estimates, labelled)."""

    model: str
    attachments: tuple[Attachment, ...]
    estimates: tuple[Estimate, ...]

    @property
    def tokens(self) -> int | None:
        """Estimated input tokens of all attachments; None when any is unknown."""
        counts = [e.tokens for e in self.estimates]
        return None if None in counts else sum(c or 0 for c in counts)

    @property
    def at_most(self) -> bool:
        """Whether the total is an upper bound (an image by URL counted at its rule's most)."""
        return any(e.at_most for e in self.estimates)

    def cost(self, info: ModelInfo | None) -> Decimal | None:
        """The attachments' estimated input cost at the model's input price (None: unknown)."""
        tokens = self.tokens
        return None if tokens is None else input_cost(tokens, info)


def prepare(attachments: Sequence[Attachment], info: ModelInfo | None, *, model: str = "",
            detail: str = "auto", fit: bool = True, inline: bool = True) -> Prepared:
    """Fit each image to the size the model uses (downscaled here, saying so, so no byte is
    sent that the API would discard), refuse in one line what breaks a limit, and estimate;
    `inline` False: they will be uploaded and sent by file_id (no request size limit)."""
    name = info.id if info is not None else model
    estimator = Estimator.for_model(info, name, detail)
    limits = limits_for(info)
    images = sum(1 for a in attachments if a.kind == "image")
    many = limits.many_images is not None and images > limits.many_images
    edge_cap = limits.many_edge if many else None
    ready = tuple(_fitted(a, estimator, edge_cap, many) if fit else a for a in attachments)
    estimates = tuple(estimator.estimate(a) for a in ready)
    check(ready, estimates, info, name, limits, inline)
    return Prepared(name, ready, estimates)


def _fitted(attachment: Attachment, estimator: Estimator, edge_cap: int | None,
            many: bool) -> Attachment:
    rule = estimator.rule
    if (attachment.kind != "image" or rule is None or attachment.pixels is None
            or attachment.data is None or attachment.file_id is not None):
        return attachment
    size = rule.fitted(*attachment.pixels, edge_cap=edge_cap, detail=estimator.detail)
    if size == attachment.pixels:
        return attachment
    why = (f"{estimator.model} uses no more" if not many or max(size) < (edge_cap or 0)
           else f"more than 20 images: {edge_cap:,} px a side at most")
    return downscaled(attachment, size, why)
