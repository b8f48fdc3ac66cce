"""Attachments as chips: name, pages or pixels, tokens and cost, with a thumbnail for images;
in brief (comparison columns, grids) the name and tokens only."""
from __future__ import annotations

import base64
import html
from collections.abc import Sequence

from opus_magic.core.run.attach.report import Chip
from opus_magic.records import AttachedFile
from opus_magic.view import format as fmt

ICONS = {"image": "🖼", "pdf": "📄", "text": "📝"}
CHIP = ("display:inline-flex;align-items:center;gap:4px;padding:1px 6px;margin:0 4px 2px 0;"
        f"border-radius:4px;font-size:0.9em;background:{fmt.tint('note')};color:{fmt.TEXT};"
        "white-space:nowrap")


def chip_text(chip: Chip, brief: bool = False) -> str:
    """`📄 manual.pdf · 12 pages · 28,164 tokens · $0.1408` (brief: name and tokens)."""
    icon = ICONS.get(chip.kind, "📎")
    if brief:
        tokens = "?" if chip.tokens is None else f"{chip.tokens:,}"
        return f"{icon} {chip.name} ({tokens} tokens)"
    return f"{icon} {chip.label}"


def chips_lines(chips: Sequence[Chip]) -> list[str]:
    """A line per attachment, for text views and saved notebooks."""
    return [f"attached: {chip_text(chip)}" for chip in chips]


def chips_html(chips: Sequence[Chip], brief: bool = False) -> str:
    """A row of chips (empty without attachments); thumbnails unless `brief`."""
    if not chips:
        return ""
    spans = []
    for chip in chips:
        picture = ""
        if chip.thumbnail and not brief:
            data = base64.b64encode(chip.thumbnail).decode("ascii")
            picture = (f'<img class="opus-thumbnail" src="data:image/jpeg;base64,{data}" '
                       f'alt="" style="height:2em;width:auto;border-radius:2px">')
        spans.append(f'<span class="opus-chip opus-chip-{chip.kind}" style="{CHIP}" '
                     f'title="{html.escape(chip.label)}">{picture}'
                     f'{html.escape(chip_text(chip, brief))}</span>')
    return f'<div class="opus-chips" style="line-height:1.8">{"".join(spans)}</div>'


def chips_brief(chips: Sequence[Chip]) -> str:
    """One line for a grid or a comparison: how many attachments and their tokens."""
    if not chips:
        return ""
    known = [chip.tokens for chip in chips if chip.tokens is not None]
    names = ", ".join(chip.name for chip in chips[:3]) + (" …" if len(chips) > 3 else "")
    return (f"{len(chips)} attachment{'s' if len(chips) != 1 else ''} ({names}): "
            f"{'≈' if not all(c.exact for c in chips) else ''}{sum(known):,} tokens")


def attached_line(attached: AttachedFile) -> str:
    """What the history knows of one attachment, for `%opus show`."""
    size = (f"{attached.pixels[0]}×{attached.pixels[1]} px" if attached.pixels
            else f"{attached.pages} pages" if attached.pages is not None else "")
    tokens = ("tokens unknown" if attached.tokens is None else
              f"{attached.tokens:,} tokens{' (exact)' if attached.tokens_exact else ' (≈)'}")
    parts = [attached.name, attached.media_type, f"{attached.size:,} bytes", size, tokens,
             f"sha256 {attached.sha256[:16]}…" if attached.sha256 else "",
             f"file_id {attached.file_id}" if attached.file_id else "",
             f"from {attached.source}" if attached.source else "",
             "bytes kept" if attached.data is not None else "",
             f"turn {attached.turn + 1}" if attached.turn else ""]
    return "attachment: " + " · ".join(part for part in parts if part)
