"""How each model family counts an image: the size it fits the image to, and the tokens then.

A model's rule is catalog data (`ModelInfo.image_tokens`), named here; a rule may carry its
numbers after a colon (`openai-patches:1.62`, `openai-tiles:2833/5667`). Every count is an
estimate: Anthropic's count_tokens is exact where it can be reached.

- `claude` (Anthropic's vision page): the image is scaled to a long edge of at most 1,568 px and
  at most ~1.15 MP (1,600 tokens), then costs w·h/750 tokens, rounded up.
- `claude-hires` (Opus 4.7 and later, Sonnet 5+, Haiku 5.5, Fable): up to 2,576 px a side and
  up to 4,784 tokens. Anthropic publishes no formula; this one counts 28-px patches,
  ceil(w/28)·ceil(h/28), after fitting the long edge to 2,576 px and the patches to 4,784. It
  is the legacy rule's own unit (28² = 784 px ≈ the 750 px a token there), gives 92·52 = 4,784
  at the cap, and 85·55 = 4,675 for the measured 2356×1530 image that count_tokens put at 4,678
  (0.06 % under: a few tokens frame the block).
- `openai-tiles` (gpt-4o, gpt-4.1; OpenAI's vision guide): fit in 2048×2048, scale the short
  side down to 768, then 85 + 170 per 512-px tile; `detail: low` is 85 at 512×512 at most.
  gpt-4o-mini bills the same arithmetic at 2,833 + 5,667 a tile (`openai-tiles:2833/5667`; the
  guide's "Calculating costs" table): 33× gpt-4o's tokens, at a seventeenth of its price.
- `openai-patches` (gpt-5.x): ceil(w/32)·ceil(h/32) patches, the image shrunk to at most 1,536
  patches, times the model's multiplier (1.2 on gpt-5.5 and gpt-5.4).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class ImageCount:
    """An image's estimated tokens, the size the model uses, and the arithmetic as text."""

    tokens: int
    used: tuple[int, int]
    formula: str


class ImageRule(Protocol):
    """A model family's image counting: fit the image, then count it."""

    name: str
    max_edge: int
    max_tokens: int

    def fitted(self, width: int, height: int, edge_cap: int | None = None,
               detail: str = "auto") -> tuple[int, int]: ...

    def count(self, width: int, height: int, detail: str = "auto") -> ImageCount: ...


def _scaled(width: int, height: int, scale: float) -> tuple[int, int]:
    if scale >= 1:
        return width, height
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))


def _fit(width: int, height: int, edge: int, area: int) -> tuple[int, int]:
    """Scaled down (never up) to a long edge of `edge` px and at most `area` pixels."""
    return _scaled(width, height, min(edge / max(width, height),
                                      math.sqrt(area / (width * height))))


def _patches(width: int, height: int, patch: int) -> int:
    return math.ceil(width / patch) * math.ceil(height / patch)


@dataclass(frozen=True)
class Claude:
    """Claude's 1,568-px rule: w·h/750 tokens after fitting (≈1,600 at most)."""

    name: str = "claude"
    max_edge: int = 1568
    max_tokens: int = 1600
    pixels_per_token: int = 750

    def fitted(self, width: int, height: int, edge_cap: int | None = None,
               detail: str = "auto") -> tuple[int, int]:
        return _fit(width, height, min(self.max_edge, edge_cap or self.max_edge),
                    self.max_tokens * self.pixels_per_token)

    def count(self, width: int, height: int, detail: str = "auto") -> ImageCount:
        w, h = self.fitted(width, height)
        tokens = math.ceil(w * h / self.pixels_per_token)
        return ImageCount(tokens, (w, h), f"{w}×{h}/750 = {tokens:,}")


@dataclass(frozen=True)
class ClaudeHires:
    """The 2,576-px rule of Claude's newer models: 28-px patches, 4,784 at most."""

    name: str = "claude-hires"
    max_edge: int = 2576
    max_tokens: int = 4784
    patch: int = 28

    def fitted(self, width: int, height: int, edge_cap: int | None = None,
               detail: str = "auto") -> tuple[int, int]:
        w, h = _fit(width, height, min(self.max_edge, edge_cap or self.max_edge),
                    self.max_tokens * self.patch * self.patch)
        while _patches(w, h, self.patch) > self.max_tokens:  # rounding up per side overshoots
            w, h = _scaled(width, height, (max(w, h) - 1) / max(width, height))
        return w, h

    def count(self, width: int, height: int, detail: str = "auto") -> ImageCount:
        w, h = self.fitted(width, height)
        across, down = math.ceil(w / self.patch), math.ceil(h / self.patch)
        return ImageCount(across * down, (w, h),
                          f"{w}×{h}: ⌈{w}/28⌉·⌈{h}/28⌉ = {across}·{down} = {across * down:,}")


@dataclass(frozen=True)
class OpenAITiles:
    """OpenAI's tile rule: base + per 512-px tile after fitting 2048² and a 768-px short side."""

    name: str = "openai-tiles"
    base: int = 85
    per_tile: int = 170
    max_edge: int = 2048
    short_side: int = 768
    low_edge: int = 512

    @property
    def max_tokens(self) -> int:
        return self.base + self.per_tile * 8  # 768×2048: 2·4 tiles

    def fitted(self, width: int, height: int, edge_cap: int | None = None,
               detail: str = "auto") -> tuple[int, int]:
        if detail == "low":
            return _scaled(width, height, self.low_edge / max(width, height))
        edge = min(self.max_edge, edge_cap or self.max_edge)
        w, h = _scaled(width, height, edge / max(width, height))
        return _scaled(w, h, self.short_side / min(w, h))

    def count(self, width: int, height: int, detail: str = "auto") -> ImageCount:
        if detail == "low":
            return ImageCount(self.base, self.fitted(width, height, detail="low"),
                              f"detail low = {self.base}")
        w, h = self.fitted(width, height)
        tiles = _patches(w, h, 512)
        tokens = self.base + self.per_tile * tiles
        return ImageCount(tokens, (w, h),
                          f"{w}×{h}: {self.base} + {self.per_tile}·{tiles} tiles = {tokens:,}")


@dataclass(frozen=True)
class OpenAIPatches:
    """OpenAI's patch rule: 32-px patches (1,536 at most) times the model's multiplier."""

    multiplier: Decimal = Decimal(1)
    name: str = "openai-patches"
    patch: int = 32
    max_patches: int = 1536
    max_edge: int = 2048

    @property
    def max_tokens(self) -> int:
        return math.ceil(self.max_patches * self.multiplier)

    def fitted(self, width: int, height: int, edge_cap: int | None = None,
               detail: str = "auto") -> tuple[int, int]:
        w, h = _scaled(width, height, (edge_cap or width + height) / max(width, height))
        if _patches(w, h, self.patch) <= self.max_patches:
            return w, h
        shrink = math.sqrt(self.patch * self.patch * self.max_patches / (w * h))
        across, down = w * shrink / self.patch, h * shrink / self.patch
        shrink *= min(math.floor(across) / across, math.floor(down) / down)
        return _scaled(w, h, shrink)

    def count(self, width: int, height: int, detail: str = "auto") -> ImageCount:
        w, h = self.fitted(width, height)
        patches = min(_patches(w, h, self.patch), self.max_patches)
        tokens = math.ceil(patches * self.multiplier)
        return ImageCount(tokens, (w, h), f"{w}×{h}: {patches:,} patches × {self.multiplier} "
                                          f"= {tokens:,}")


def rule_named(spec: str | None) -> ImageRule | None:
    """The rule a catalog entry names (`claude`, `openai-patches:1.2`, …); None if unknown."""
    if not spec:
        return None
    name, _, args = spec.partition(":")
    try:
        if name == "claude":
            return Claude()
        if name == "claude-hires":
            return ClaudeHires()
        if name == "openai-tiles" and args:
            base, per_tile = args.split("/")
            return OpenAITiles(base=int(base), per_tile=int(per_tile))
        if name == "openai-tiles":
            return OpenAITiles()
        if name == "openai-patches":
            return OpenAIPatches(Decimal(args) if args else Decimal(1))
    except (ValueError, ArithmeticError):
        return None
    return None
