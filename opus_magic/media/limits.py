"""The APIs' limits on attachments, each refused in one line naming it, before anything is sent.

Anthropic (vision, PDF support and Files API pages): 32 MB a request; images at most 8000 px a
side, 2000 px when a request holds more than 20; 100 images and 100 PDF pages a request on
models with a 200K window, 600 of each on larger ones; 500 MB a stored file. OpenAI (images and
vision guide): 50 MB a request and 500 images. Either way, the attachments must fit the model's
context window.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from opus_magic.cost.model_info import ModelInfo
from opus_magic.errors import UsageError
from opus_magic.media.attachment import Attachment
from opus_magic.media.estimate import Estimate

MB = 1024 * 1024
SMALL_WINDOW = 200_000
WHAT = {"image": "images", "pdf": "PDFs", "text": "text"}


@dataclass(frozen=True)
class Limits:
    """One API's limits on what a request may carry (None: no such limit)."""

    api: str
    request_bytes: int
    max_edge: int | None = None
    many_images: int | None = None  # above this many images a request ...
    many_edge: int | None = None  # ... no side may exceed this
    images_small: int | None = None  # images a request on a model with a 200K window or less
    images_large: int | None = None
    pages_small: int | None = None  # PDF pages a request, likewise
    pages_large: int | None = None
    file_bytes: int = 500 * 1000 * 1000

    def images_for(self, info: ModelInfo | None) -> int | None:
        return self.images_small if _small(info) else self.images_large

    def pages_for(self, info: ModelInfo | None) -> int | None:
        return self.pages_small if _small(info) else self.pages_large


ANTHROPIC = Limits("Anthropic", 32 * MB, max_edge=8000, many_images=20, many_edge=2000,
                   images_small=100, images_large=600, pages_small=100, pages_large=600)
OPENAI = Limits("OpenAI", 50 * MB, images_small=500, images_large=500)


def limits_for(info: ModelInfo | None) -> Limits:
    """OpenAI's limits for OpenAI models (by provider or image rule), else Anthropic's."""
    if info is not None and (info.provider == "openai"
                             or (info.image_tokens or "").startswith("openai")):
        return OPENAI
    return ANTHROPIC


def check(attachments: Sequence[Attachment], estimates: Sequence[Estimate],
          info: ModelInfo | None, model: str, limits: Limits, inline: bool = True) -> None:
    """Raise a one-line UsageError for the first limit these attachments break on `model`;
    `inline` False: they go by file_id after an upload, so a request's size limit is not theirs."""
    problem = (_inputs(attachments, info, model) or _counts(attachments, info, model, limits)
               or _edges(attachments, limits) or (_size(attachments, limits) if inline else None)
               or _window(attachments, estimates, info, model))
    if problem:
        raise UsageError(problem)


def encoded_size(attachment: Attachment) -> int:
    """Bytes it adds to a request: base64 of inline bytes, the text of a text file."""
    if attachment.file_id is not None or attachment.url is not None:
        return len(attachment.url or attachment.file_id or "")
    if attachment.kind == "text":
        return len((attachment.text or "").encode())
    return (attachment.size + 2) // 3 * 4


def _small(info: ModelInfo | None) -> bool:
    return info is None or info.context_window is None or info.context_window <= SMALL_WINDOW


def _inputs(attachments: Sequence[Attachment], info: ModelInfo | None, model: str) -> str | None:
    if info is None or info.inputs is None:
        return None
    for attachment in attachments:
        if attachment.kind != "text" and attachment.kind not in info.inputs:
            takes = " and ".join(WHAT.get(kind, kind) for kind in info.inputs)
            return (f"{model} takes {takes}, not {WHAT[attachment.kind]} ({attachment.name}): "
                    f"attach its text instead, or use a model that reads {WHAT[attachment.kind]}.")
    return None


def _counts(attachments: Sequence[Attachment], info: ModelInfo | None, model: str,
            limits: Limits) -> str | None:
    images = sum(1 for a in attachments if a.kind == "image")
    most = limits.images_for(info)
    if most is not None and images > most:
        return (f"{images} images, over the {most} a request {model} takes ({limits.api}): "
                f"attach fewer or send them over several cells.")
    pages = sum(a.pages or 0 for a in attachments if a.kind == "pdf")
    most = limits.pages_for(info)
    if most is not None and pages > most:
        return (f"{pages} PDF pages, over the {most}-page cap a request on {model} "
                f"({limits.api}): split the PDF and ask about each part.")
    return None


def _edges(attachments: Sequence[Attachment], limits: Limits) -> str | None:
    images = [a for a in attachments if a.kind == "image" and a.pixels is not None]
    many = limits.many_images is not None and len(images) > limits.many_images
    edge = limits.many_edge if many else limits.max_edge
    for image in images:
        assert image.pixels is not None
        if edge is not None and max(image.pixels) > edge:
            why = f" when a request holds more than {limits.many_images} images" if many else ""
            return (f"{image.name} is {image.pixels[0]}×{image.pixels[1]} px, over the {edge:,} px "
                    f"a side {limits.api} takes{why}: let it be downscaled or shrink it first.")
    return None


def _size(attachments: Sequence[Attachment], limits: Limits) -> str | None:
    total = sum(encoded_size(a) for a in attachments)
    if total > limits.request_bytes:
        largest = max(attachments, key=encoded_size)
        return (f"The attachments come to {total / MB:,.1f} MB encoded, over the "
                f"{limits.request_bytes // MB} MB a request ({limits.api}; the largest is "
                f"{largest.name}): upload large files through the Files API or attach fewer.")
    return None


def _window(attachments: Sequence[Attachment], estimates: Sequence[Estimate],
            info: ModelInfo | None, model: str) -> str | None:
    window = info.context_window if info is not None else None
    known = [e for e in estimates if e.tokens is not None]
    total = sum(e.tokens or 0 for e in known)
    if window is None or total <= window:
        return None
    largest = max(known, key=lambda e: e.tokens or 0)
    return (f"The attachments are ~{total:,} tokens (estimated; {largest.name}: "
            f"{largest.tokens:,}), over {model}'s {window:,}-token window: split the largest "
            f"and ask about each part.")
