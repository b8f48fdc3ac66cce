"""Output that shows as HTML in a notebook and as plain text in a terminal or a saved file."""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from opus_magic.view import format as fmt


@dataclass(frozen=True)
class Rendered:
    """An HTML form and a text form of the same content."""

    html: str
    text: str

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self.html, "text/plain": self.text}


TABLE_STYLE = ("border-collapse:collapse;font-size:12px;font-family:var(--jp-ui-font-family,"
               f"system-ui);color:{fmt.TEXT}")
CELL_STYLE = (f"padding:2px 5px;border-bottom:1px solid {fmt.BORDER};white-space:{{}};"
              "text-align:{}")
WRAPPED = "normal;overflow-wrap:break-word;min-width:4em"  # breaks at spaces, a word only if alone


def html_table(headers: list[str], rows: list[list[str]], numeric: set[int],
               wraps: frozenset[int] = frozenset()) -> str:
    """A plain HTML table; cells are already escaped HTML, columns in `numeric` align right,
    columns in `wraps` wrap at their spaces (the others keep to one line)."""
    def cell(tag: str, index: int, content: str) -> str:
        align = "right" if index in numeric else "left"
        space = WRAPPED if index in wraps else "nowrap"
        return f'<{tag} style="{CELL_STYLE.format(space, align)}">{content}</{tag}>'

    head = "".join(cell("th", i, html.escape(h)) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>"
                   for row in rows)
    return (f'<table style="{TABLE_STYLE}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{body}</tbody></table>')


def show(rendered: Rendered) -> None:
    """Display in the notebook (the frontend picks HTML, a terminal prints the text)."""
    from IPython.display import display

    display(rendered)


def plain(text: str) -> Rendered:
    """Preformatted text that wraps at spaces in a notebook, never inside a word or an id (the
    frontend's own text output breaks lines anywhere); as it is in a terminal."""
    return Rendered(f'<pre class="opus-plain" style="white-space:pre-wrap;word-break:normal;'
                    f'overflow-wrap:break-word;margin:0">{html.escape(text, quote=False)}</pre>',
                    text)
