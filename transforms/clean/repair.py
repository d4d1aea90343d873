"""Unicode and whitespace repair, for every article whatever its source: never a change a reader would
see as a different text.

What changes: mojibake and HTML entities (ftfy), C0/C1 control characters, line breaks to "\\n", NFC
composition, runs of horizontal space (NBSP, thin spaces) to one space, trailing spaces, runs of blank
lines to one. What stays: full-width forms (，stays ，), the ideographic space, zero-width characters,
ligatures and curly quotes.
"""

from __future__ import annotations

import re

import ftfy

from transforms.clean.tables import ODD_SPACES

_FTFY = ftfy.TextFixerConfig(
    uncurl_quotes=False, fix_character_width=False, fix_latin_ligatures=False, normalization="NFC", explain=False
)


def repair(text: str) -> str:
    """Undo encoding damage and squeeze spacing without changing what a reader sees."""
    text = ftfy.fix_text(text, _FTFY)
    lines = (ODD_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
