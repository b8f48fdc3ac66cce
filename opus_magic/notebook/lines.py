"""Magic lines in, one-line messages out: words split the way a user means them."""
from __future__ import annotations

import re
import shlex
import sys

from opus_magic.errors import UsageError

# An apostrophe between two letters (don't, You're) is part of the word, never a quote.
APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)")
KEPT = "\ue000"  # a private-use character standing in for such an apostrophe while splitting


def split_words(line: str) -> list[str]:
    """Words of a magic line: quotes group words and are dropped, backslashes are kept as written,
    apostrophes inside words just work; an unclosed quote is a one-line UsageError."""
    lexer = shlex.shlex(APOSTROPHE.sub(KEPT, line), posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    lexer.escape = ""
    try:
        return [word.replace(KEPT, "'") for word in lexer]
    except ValueError:
        raise UsageError("A quote is not closed in this line: close it (\"like this\"), or see "
                         "%opus help.") from None


def report(message: str) -> None:
    """Show a one-line message where the user looks, without a traceback (control characters
    from the user's own input are shown escaped, so they cannot break the line)."""
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in message)
    print(f"opus: {shown}", file=sys.stderr)
