"""Cutting a streamed Markdown answer into parts that render alone as they would together.

The live view renders each part as Markdown once it is cut, so the answer reaches the frontend
once as Markdown instead of once as plain text and again, whole, at the end. A part ends before
a line that follows a blank line outside code fences and does not start with whitespace (which
would continue a list item or an indented code block): there a Markdown block always ends.
"""
from __future__ import annotations

import re

FENCE = re.compile(r" {0,3}(`{3,}(?=[^`]*$)|~{3,})")
MIN_PART_CHARS = 2_048  # parts are cut once at least this long (fewer widgets on slow streams)
MAX_TAIL_CHARS = 32_768  # past this with no block end, cut at a line end (closing an open fence)


class Segments:
    """One answer as it streams: `add` returns the part that may now be rendered, or "".

    `tail` is the text not cut yet (shown plain while streaming, the last part at the end).
    """

    def __init__(self, min_chars: int = MIN_PART_CHARS, max_chars: int = MAX_TAIL_CHARS) -> None:
        self.min_chars = min_chars
        self.max_chars = max_chars
        self.tail = ""
        self._scanned = 0  # tail[:_scanned] is whole lines already looked at
        self._cut = 0  # the last place in tail where a block ends (0: none yet)
        self._blank = False  # whether the last line looked at was blank
        self._fence = ""  # the open code fence's marker, "" outside fences
        self._opened = ""  # the line that opened it

    def add(self, text: str) -> str:
        """Take more of the answer; work is proportional to the new text, not to the tail."""
        self.tail += text
        while (end := self.tail.find("\n", self._scanned)) != -1:
            self._look(self.tail[self._scanned:end + 1], self._scanned)
            self._scanned = end + 1
        if self._cut >= self.min_chars:
            return self._split(self._cut)
        if len(self.tail) > self.max_chars:
            return self._force()
        return ""

    @property
    def settled(self) -> str:
        """The start of the tail whose blocks have ended (they render as Markdown already)."""
        return self.tail[:self._cut]

    @property
    def open(self) -> str:
        """The block still streaming (shown plain until it ends)."""
        return self.tail[self._cut:]

    def _look(self, line: str, start: int) -> None:
        stripped = line.strip()
        if self._fence:
            marker = self._fence[0]
            if (len(line) - len(line.lstrip(" ")) <= 3 and stripped.startswith(self._fence)
                    and not stripped.strip(marker)):
                self._fence = ""
            self._blank = False
            return
        if self._blank and stripped and line[0] not in " \t":
            self._cut = start
        opening = FENCE.match(line.rstrip("\n"))
        if opening:
            self._fence, self._opened = opening.group(1), line
        self._blank = not stripped

    def _split(self, cut: int) -> str:
        part, self.tail = self.tail[:cut], self.tail[cut:]
        self._scanned = max(self._scanned - cut, 0)
        self._cut = 0
        return part

    def _force(self) -> str:
        """No block ends for too long: cut at the last line end, closing and reopening a fence."""
        if not self._scanned:
            return self._split(len(self.tail))
        part = self._split(self._scanned)
        if self._fence:
            part += self._fence + "\n"
            self.tail = self._opened + self.tail
            self._scanned = len(self._opened)
        return part
