"""Output that shows as HTML in a notebook and as plain text in a terminal or a saved file."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rendered:
    """An HTML form and a text form of the same content."""

    html: str
    text: str

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self.html, "text/plain": self.text}


def text_table(rows: Sequence[Sequence[str]]) -> str:
    """Rows as aligned plain text: the first column to the left, the others to the right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                               for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
                     for row in rows)


def show(rendered: Rendered) -> None:
    """Display in the notebook (the frontend picks HTML, a terminal prints the text)."""
    from IPython.display import display

    display(rendered)
