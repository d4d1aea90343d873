"""Bytes -> text for every input kind, recording which encoding was used and why (decompression is
``transforms.compression``'s).
Kept apart from reading and from feeds, which both use it, so that neither imports the other.

Order of evidence, strongest first: a byte-order mark; the NUL pattern of UTF-16/32 without a mark;
valid UTF-8 (multi-byte UTF-8 almost never validates by chance, so it outranks a declared legacy
charset, which is often a stale label); the charset the HTTP header, the HTML ``<meta>`` or the XML
declaration gives; then a statistical detector trusted only above a confidence threshold. A decoding is
accepted only if its text looks like text (few control, unassigned or private characters); when none
does, ``ValueError`` says what was tried.
"""

from __future__ import annotations

import codecs
import dataclasses
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from typing import Optional

from transforms.encodings import (
    BINARY_CONTROL_SHARE,
    BOMS,
    DETECT_BYTES,
    DETECTED_OVERRIDES,
    HEAD_BYTES,
    HTML_META_CHARSET,
    HTTP_CHARSET,
    ISO2022_ESCAPES,
    LABEL_OVERRIDES,
    MAX_NON_TEXT_SHARE,
    MIN_CONFIDENCE,
    NON_TEXT_CATEGORIES,
    PRESCAN_BYTES,
    TEXT_CONTROLS,
    TEXT_SAMPLE_CHARS,
    XML_DECLARATION,
)

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024  # a news page is kilobytes; anything this large is not one

Detector = Callable[[bytes], "tuple[Optional[str], float]"]


@dataclasses.dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # the Python codec used, e.g. "utf-8", "utf-16-le", "cp1252", "cp932"
    evidence: str  # "bom", "wide-pattern", "utf-8", "declared", "detected"


def detect_chardet(data: bytes) -> tuple[Optional[str], float]:
    """chardet 7: the most accurate of charset-normalizer, chardet and cchardet on our fixtures
    (docs/extraction.md)."""
    import chardet

    found = chardet.detect(data[:DETECT_BYTES])
    return found["encoding"], found["confidence"] or 0.0


# ---------------------------------------------------------------------------------------- evidence


def codec_name(label: str, overrides: dict = LABEL_OVERRIDES) -> Optional[str]:
    """A charset label -> the Python codec that decodes what the web means by it; None if unknown."""
    label = label.strip().strip("\"'").lower()
    label = overrides.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def bom_encoding(data: bytes) -> Optional[tuple[str, int]]:
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return encoding, len(bom)
    return None


def non_text_share(text: str) -> float:
    """Share of control, unassigned, surrogate and private-use characters, in a sample of the text: a
    wrong decoding shows them everywhere."""
    sample = text[:TEXT_SAMPLE_CHARS]
    if not sample:
        return 0.0
    counts = Counter(sample)  # distinct characters are few: look each one up once
    bad = sum(n for c, n in counts.items() if c not in TEXT_CONTROLS and unicodedata.category(c) in NON_TEXT_CATEGORIES)
    return bad / len(sample)


def _decode_head(data: bytes, encoding: str) -> Optional[str]:
    """The head decoded strictly (a sequence cut at the end is allowed); None if it does not decode."""
    try:
        return codecs.getincrementaldecoder(encoding)("strict").decode(data[:HEAD_BYTES], final=False)
    except UnicodeDecodeError:
        return None


def wide_encoding(data: bytes) -> Optional[str]:
    """UTF-16/32 without a BOM: NUL bytes come from ASCII characters in a wide encoding, so the right
    reading is the credible one that turns the most of them back into ASCII."""
    head = data[:HEAD_BYTES]
    if b"\x00" not in head:
        return None
    best, best_ascii = None, 0
    for encoding in ("utf-32-le", "utf-32-be", "utf-16-le", "utf-16-be"):
        text = _decode_head(head, encoding)
        if not text or non_text_share(text) > MAX_NON_TEXT_SHARE:
            continue
        ascii_chars = sum(1 for c in text if c < "\x80")
        if ascii_chars > best_ascii:
            best, best_ascii = encoding, ascii_chars
    return best


def declared_charsets(data: bytes, markup: Optional[str], content_type: Optional[str]) -> list[str]:
    """Labels in order of authority: the HTTP header, then the document's own declaration."""
    labels = []
    if content_type and (match := HTTP_CHARSET.search(content_type)):
        labels.append(match.group(1))
    head = data[:PRESCAN_BYTES]
    if markup in ("xml", "html") and (match := XML_DECLARATION.match(head)):
        labels.append(match.group(1).decode("ascii"))
    if markup == "html" and (match := HTML_META_CHARSET.search(head)):
        labels.append(match.group(1).decode("ascii"))
    return labels


# ------------------------------------------------------------------------------------------ decoding


def _credible(data: bytes, encoding: str) -> Optional[str]:
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    return text if non_text_share(text) <= MAX_NON_TEXT_SHARE else None


def decode(
    data: bytes,
    markup: Optional[str] = None,
    content_type: Optional[str] = None,
    detector: Optional[Detector] = detect_chardet,
    min_confidence: float = MIN_CONFIDENCE,
) -> Decoded:
    """``markup`` is None for plain text, "html" or "xml" to read the document's own declaration."""
    if found := bom_encoding(data):
        encoding, skip = found
        text = _credible(data[skip:], encoding)
        if text is None:
            raise ValueError(f"starts with a {encoding} byte-order mark but does not decode as {encoding}")
        return Decoded(text, encoding, "bom")
    if (encoding := wide_encoding(data)) and (text := _credible(data, encoding)) is not None:
        return Decoded(text, encoding, "wide-pattern")
    for escape, encoding in ISO2022_ESCAPES:
        if escape in data[:HEAD_BYTES] and (text := _credible(data, encoding)) is not None:
            return Decoded(text, encoding, "iso-2022-escapes")
    if (text := _credible(data, "utf-8")) is not None:
        return Decoded(text, "utf-8", "utf-8")
    tried = ["utf-8"]
    for label in declared_charsets(data, markup, content_type):
        encoding = codec_name(label)
        if encoding and encoding not in tried and (text := _credible(data, encoding)) is not None:
            return Decoded(text, encoding, "declared")
        tried.append(f"declared {label!r}")
    if detector is not None:
        guess, confidence = detector(data)
        encoding = codec_name(guess, DETECTED_OVERRIDES) if guess else None
        if encoding and confidence >= min_confidence and (text := _credible(data, encoding)) is not None:
            return Decoded(text, encoding, "detected")
        tried.append(f"detected {guess or 'nothing'} at confidence {confidence:.2f} (needs {min_confidence})")
    raise ValueError("no credible text decoding: tried " + ", ".join(tried))


def decode_text(data: bytes) -> Decoded:
    return decode(data)


def decode_html(data: bytes, content_type: Optional[str] = None) -> Decoded:
    return decode(data, "html", content_type)


_XML_ENCODING_ATTRIBUTE = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)["'][^"']*["']""", re.I)


def feed_as_utf8(data: bytes, content_type: Optional[str] = None) -> tuple[bytes, str]:
    """A feed re-encoded as UTF-8 with its declaration saying so, and the encoding it came in: byte-level
    guards (the ``<!ENTITY`` refusal) then see the markup, and feedparser never second-guesses it."""
    decoded = decode(data, "xml", content_type)
    text = _XML_ENCODING_ATTRIBUTE.sub(r'\1"utf-8"', decoded.text, count=1)
    return text.encode("utf-8"), decoded.encoding


def looks_binary(data: bytes) -> bool:
    """Binary unless a BOM or the UTF-16/32 pattern says text; otherwise NUL bytes or many control bytes
    in the head (no single-byte or UTF-8 text has them)."""
    if bom_encoding(data) or wide_encoding(data):
        return False
    head = data[:HEAD_BYTES]
    if b"\x00" in head:
        return True
    for escape, _ in ISO2022_ESCAPES:  # ISO-2022 text switches character sets with ESC sequences
        head = head.replace(escape, b"").replace(b"\x1b(B", b"")
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return controls > len(head) * BINARY_CONTROL_SHARE
