"""Names people type or that arrive from other files: one normal form, and nothing that acts on a terminal.

Why: code, coder and attribute names reach waveqda from merges and REFI-QDA imports as well as from the
keyboard, and they are printed in tables, messages and the workspace. A name holding an escape sequence
could rewrite the terminal's title or hide text; a newline would break a table. Names are therefore
checked where they enter (no control or bidirectional-override characters) and every printer escapes
what it shows (``printable``), so a hostile file already stored is shown harmlessly too.
"""

from __future__ import annotations

import re

from models.errors import WaveqdaError

# C0 and C1 controls, DEL, line/paragraph separators and the bidirectional overrides and isolates (which
# can make printed text read differently from what it is).
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Printing keeps tabs and newlines in running text; names never hold them (they are folded to spaces).
UNSAFE_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def normal_name(value: str) -> str:
    """A name as it is stored and looked up: runs of whitespace folded to one space, ends trimmed."""
    return " ".join(value.split())


def check_name_text(value: str, what: str) -> str:
    """``value`` in normal form, or a one-line error when it holds control characters."""
    name = normal_name(value)
    bad = UNSAFE.search(name)
    if bad is not None:
        raise WaveqdaError(
            f"{what} {printable(name)!r} contains a control character ({_describe(bad.group())}); "
            "use letters, digits, spaces and punctuation"
        )
    return name


def cleaned_name(value: str) -> str:
    """A name from another file made safe to store: unsafe characters dropped, whitespace folded."""
    return normal_name(UNSAFE.sub(" ", value))


def printable(value: object) -> str:
    """Text safe to print on a terminal: control characters shown as ``\\x1b``-style escapes."""
    text = str(value)
    if UNSAFE_IN_TEXT.search(text) is None:
        return text
    return UNSAFE_IN_TEXT.sub(lambda m: _describe(m.group()), text)


def _describe(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
