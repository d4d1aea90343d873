"""Unicode and whitespace repair, for every article whatever its source."""

from __future__ import annotations

import re

import ftfy

from transforms.clean.tables import ODD_SPACES


def repair(text: str) -> str:
    """Fix mojibake, straighten quotes, fold odd spaces, trim lines and squeeze blank runs to one."""
    text = ftfy.fix_text(text, uncurl_quotes=True, normalization="NFC")
    lines = (ODD_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
