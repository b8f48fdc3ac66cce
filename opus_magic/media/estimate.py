"""Estimated input tokens of attachments on one model, by the model's documented rules.

- An image: the model's image rule (rules.py) on its pixel size, after fitting.
- A text file: its text's tokens (tiktoken), times the model's `estimate_ratio` when its own
  tokenizer counts more (Claude 4.7 and later: 1.3).
- A PDF page: its text's tokens (as a text file's) plus the page as an image: the page's size
  in points rendered at 150 DPI, counted by the legacy `claude` rule on Anthropic's models
  (capped near 1,600: Anthropic measured 2,347 tokens for a text page on Claude 5.5 against
  728 for the same text pasted, so the page image is ~1,619, not the 2,576-px rule's ~2,700)
  and by the model's own rule elsewhere. A full Letter page: 1,600 + its text.
- An image by URL: the rule's most (its size is known only once fetched); a PDF by URL or a
  file known only by its id: unknown. Anthropic's count_tokens is exact where reachable.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from opus_magic.cost.model_info import ModelInfo
from opus_magic.cost.tokens import count_text
from opus_magic.media.attachment import Attachment
from opus_magic.media.rules import Claude, ImageRule, rule_named

PAGE_DPI = 150
POINTS_PER_INCH = 72


@dataclass(frozen=True)
class Estimate:
    """One attachment's estimated input tokens on one model (None: unknown) and how."""

    name: str
    tokens: int | None
    how: str
    at_most: bool = False  # an upper bound (an image whose size is not known yet)


@dataclass(frozen=True)
class Estimator:
    """Counts attachments for one model: its image rule, page rule and text ratio."""

    model: str
    rule: ImageRule | None
    page_rule: ImageRule | None
    ratio: Decimal = Decimal(1)
    detail: str = "auto"

    @classmethod
    def for_model(cls, info: ModelInfo | None, model: str = "", detail: str = "auto",
                  text_ratio: Decimal | None = None) -> Estimator:
        """The estimator for a catalog entry (None: counted as on Claude's legacy rule, the
        text as tiktoken counts it); `text_ratio` overrides the entry's estimate_ratio."""
        rule = rule_named(info.image_tokens) if info is not None else Claude()
        anthropic = rule is not None and rule.name.startswith("claude")
        ratio = text_ratio if text_ratio is not None else (
            info.estimate_ratio if info is not None and info.estimate_ratio else Decimal(1))
        return cls(model=info.id if info is not None else model, rule=rule,
                   page_rule=Claude() if anthropic else rule, ratio=ratio, detail=detail)

    def text_tokens(self, text: str) -> int:
        counted = count_text(text, self.model) if text else 0
        return math.ceil(counted * self.ratio)

    def estimate(self, attachment: Attachment) -> Estimate:
        """The attachment's tokens on this model, labelled with the arithmetic."""
        name = attachment.name
        if attachment.kind == "text":
            tokens = self.text_tokens(attachment.text or "")
            return Estimate(name, tokens, f"{len(attachment.text or ''):,} chars of text"
                                          f"{self._ratio_note()} ≈ {tokens:,}")
        if attachment.kind == "image":
            return self._image(attachment)
        return self._pdf(attachment)

    def _image(self, attachment: Attachment) -> Estimate:
        if self.rule is None:
            return Estimate(attachment.name, None, f"{self.model} has no known image rule")
        if attachment.pixels is None:
            most = self.rule.max_tokens
            return Estimate(attachment.name, most, f"at most {most:,} (its size is known only "
                                                   f"once the API fetches it)", at_most=True)
        counted = self.rule.count(*attachment.pixels, detail=self.detail)
        return Estimate(attachment.name, counted.tokens, counted.formula)

    def _pdf(self, attachment: Attachment) -> Estimate:
        if attachment.pages is None:
            return Estimate(attachment.name, None, "pages unknown until the API reads it: "
                                                   "count_tokens is exact")
        if self.page_rule is None:
            return Estimate(attachment.name, None, f"{self.model} has no known image rule")
        scale = PAGE_DPI / POINTS_PER_INCH
        images = sum(self.page_rule.count(max(1, round(w * scale)), max(1, round(h * scale)))
                     .tokens for w, h in attachment.page_sizes)
        text = self.text_tokens(attachment.text or "")
        pages = attachment.pages
        return Estimate(attachment.name, images + text,
                        f"{pages} page{'s' if pages != 1 else ''}: {images:,} as page images "
                        f"+ {text:,} of text{self._ratio_note()} = {images + text:,}")

    def _ratio_note(self) -> str:
        return f" ×{self.ratio}" if self.ratio != 1 else ""
