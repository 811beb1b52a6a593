"""Characters that change how text is shown instead of adding to it.

An incident id ends up in log lines, terminal lines, ticket fields and URLs. A control
character (C0, DEL or C1, which holds NEXT LINE and a terminal's escape introducer), a line or
paragraph separator, or a bidirectional control (marks, embeddings, overrides, isolates) in it
can end a line early, start a terminal escape sequence, or make the text read in another
order than it is stored: what a person sees is then not the id. Ingest refuses such ids, and
the local stack's console shows them escaped; both use the set defined here.

Visible characters of any script, spaces and zero-width joiners are not in the set: ids in
other languages and emoji stay valid.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

UNSHOWABLE: Final = re.compile(
    "["
    "\x00-\x1f\x7f-\x9f"  # C0 controls, DEL, C1 controls
    "\u2028\u2029"  # line and paragraph separators
    "\u061c\u200e\u200f"  # bidi marks: Arabic letter, left-to-right, right-to-left
    "\u202a-\u202e"  # bidi embeddings and overrides, and their pop
    "\u2066-\u2069"  # bidi isolates and their pop
    "]"
)

# Unicode gives control characters no name, only aliases: those an error most often meets.
_CONTROL_NAMES: Final = {
    "\x00": "NULL",
    "\t": "CHARACTER TABULATION",
    "\n": "LINE FEED",
    "\r": "CARRIAGE RETURN",
    "\x1b": "ESCAPE",
    "\x7f": "DELETE",
    "\x85": "NEXT LINE",
}


def describe(char: str) -> str:
    """``U+2028 LINE SEPARATOR``: the code point and its name, for an error a person reads."""
    name = _CONTROL_NAMES.get(char) or unicodedata.name(char, "CONTROL CHARACTER")
    return f"U+{ord(char):04X} {name}"


def first_unshowable(text: str) -> tuple[int, str] | None:
    """The position (from 0) and the character of the first unshowable one, if any."""
    found = UNSHOWABLE.search(text)
    return None if found is None else (found.start(), found.group())


_SHORT_ESCAPES: Final = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escaped(char: str) -> str:
    return _SHORT_ESCAPES.get(char) or f"\\u{ord(char):04x}"


def escape_unshowable(text: str) -> str:
    """``text`` with each unshowable character written as its escape (``\\n``, ``\\u001b``,
    ``\\u2028``), so that it shows on one line, in its stored order, and changes nothing on
    a terminal. The escapes are JSON's: a JSON text stays valid JSON of the same value."""
    return UNSHOWABLE.sub(lambda found: _escaped(found.group()), text)
