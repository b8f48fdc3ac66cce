"""Writing a rerun's flags back into the cell: the new %%opus line (pure), then the view's offer
through the real magic against the simulator (the click itself is in tests/test_browser.py)."""
from __future__ import annotations

from typing import Any

import pytest
from IPython.core.magic_arguments import parse_argstring

from opus_magic.notebook.cell_line import first_line, with_flags
from opus_magic.notebook.lines import split_words
from opus_magic.notebook.magics import OpusMagics
from opus_magic.notebook.present import last_view


@pytest.mark.parametrize(("line", "max_tokens", "concise", "expected"), [
    ("-m opus --max-tokens 600", 300, None, "-m opus --max-tokens 300"),
    ("-m opus --max-tokens=600 --tag a", 300, None, "-m opus --max-tokens=300 --tag a"),
    ("--max 600 -m opus", 300, None, "--max 300 -m opus"),
    ("-m opus", 300, None, "-m opus --max-tokens 300"),
    ("-m opus --max-tokens 600", None, "concise", "-m opus --max-tokens 600 --concise"),
    ("-m opus --max-tokens 600", 300, "code", "-m opus --max-tokens 300 --code-only"),
    ("--concise -m opus --max-tokens 600", None, "off", "-m opus --max-tokens 600"),
    ("-m opus --code-only --tag t", 40, "concise", "-m opus --concise --tag t --max-tokens 40"),
    ("-m opus --conci --concise", None, "code", "-m opus --code-only"),
    ("--max-tokens 600 --max-tokens=700 -m opus", 300, None, "--max-tokens 300 -m opus"),
    ('-m opus -s "be --concise, do not --max-tokens 5" --tag "a b"', 300, "concise",
     '-m opus -s "be --concise, do not --max-tokens 5" --tag "a b" --max-tokens 300 --concise'),
    ("-s don't --max-tokens 600", 300, None, "-s don't --max-tokens 300"),
    ("-m opus  --tag  x", None, None, "-m opus  --tag  x"),
    ("", 300, "concise", "--max-tokens 300 --concise"),
])
def test_with_flags_changes_only_the_flags_asked_for(line: str, max_tokens: int | None,
                                                     concise: str | None, expected: str) -> None:
    assert with_flags(line, max_tokens, concise) == expected


@pytest.mark.parametrize("line", [
    "-m opus --max-tokens 600 --tag t",
    "--max-tokens=600 --concise -m opus",
    '-m opus -s "Answer in --concise form" --code-only',
    "-m opus,sonnet -t 0.2 -o answer",
])
@pytest.mark.parametrize(("max_tokens", "concise"), [(300, "concise"), (40, "off"), (9, "code")])
def test_the_new_line_parses_to_what_ran(line: str, max_tokens: int, concise: str) -> None:
    before = parse_argstring(OpusMagics.opus, line)
    after = parse_argstring(OpusMagics.opus, with_flags(line, max_tokens, concise))
    assert int(after.max_tokens) == max_tokens
    assert (after.concise or "off") == concise
    kept = {k: v for k, v in vars(before).items() if k not in ("max_tokens", "concise")}
    assert {k: v for k, v in vars(after).items() if k in kept} == kept


def test_rewriting_twice_is_rewriting_once() -> None:
    line = "-m opus --max-tokens=600 --tag t"
    once = with_flags(line, 300, "concise")
    assert with_flags(once, 300, "concise") == once
    assert with_flags(once, 600, "off") == line


def test_first_line_is_the_magic_and_its_flags() -> None:
    assert first_line("-m opus --max-tokens 600", 300) == "%%opus -m opus --max-tokens 300"
    assert first_line("", None, None) == "%%opus"
    assert split_words(first_line("-s 'a b'", 5))[1:] == ["-s", "a b", "--max-tokens", "5"]


def rerun(ip: Any, view: Any, max_tokens: int, concise: str) -> None:
    view.max_tokens.value, view.concise.value = max_tokens, concise
    view.run_again.click()
    ip.run_cell("pass")  # the next cell waits for the run


def test_a_rerun_with_other_flags_offers_the_cells_line_with_them(ip: Any, simulator: Any) -> None:
    ip.run_line_magic("config", "OpusMagics.view = 'widget'")
    ip.run_cell("%%opus -m opus --max-tokens=600 --tag wb\nExplain prompt caching.")
    view = last_view()
    assert view.write_back is None  # the first run ran as the cell says: nothing to offer
    rerun(ip, view, 40, "concise")
    button = view.write_back
    assert button in view.box.children and "opus-write-back" in button._dom_classes
    assert button.line == "%%opus -m opus --max-tokens=40 --tag wb --concise"
    assert button.replaces == "%%opus -m opus --max-tokens=600 --tag wb"
    assert (button.state, button.layout.display) == ("", None)
    assert "the cell says 600 · off" in view.panel.outcome.value  # the text fallback stays

    button.state = "written"  # what the frontend reports once the editor holds the line
    assert button.replaces == button.line
    rerun(ip, view, 40, "concise")  # as the cell now says: no note, nothing to offer
    assert view.records[-1].max_tokens == 40 and "Ran with" not in view.panel.outcome.value
    assert button.layout.display == "none"
    rerun(ip, view, 600, "off")  # the flags it first had: offered again, for the line as it is now
    assert "the cell says 40 · concise" in view.panel.outcome.value
    assert (button.line, button.state) == ("%%opus -m opus --max-tokens=600 --tag wb", "")
    assert button.replaces == "%%opus -m opus --max-tokens=40 --tag wb --concise"
    assert button.layout.display is None
