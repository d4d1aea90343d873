"""Data for ``decode``: byte-order marks, charset labels and where documents declare their charset; a new
label or detector quirk is a one-line change here."""

from __future__ import annotations

import codecs
import re

# Longest first: the UTF-32-LE mark begins with the UTF-16-LE one.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Labels whose Python codec is narrower than what the web means by them (WHATWG Encoding Standard):
# pages labelled latin-1 or ASCII are cp1252 in practice, GB2312/GBK are decoded as their superset, and so on.
# A declared UTF-16 without a BOM is a label copied from elsewhere: the bytes are ASCII-compatible.
LABEL_OVERRIDES = {
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "l1": "cp1252",
    "iso-8859-9": "cp1254",
    "latin5": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "x-mac-roman": "mac-roman",
    "utf-16": "utf-8",
    "utf-16le": "utf-8",
    "utf-16be": "utf-8",
    "x-user-defined": "cp1252",
}

# What a detector names is mapped to the codec the web uses for that family (a strict subset never decodes
# more than its superset, and the superset is what real pages need).
DETECTED_OVERRIDES = {
    "ascii": "utf-8",
    "iso-8859-1": "cp1252",
    "latin_1": "cp1252",
    "shift_jis": "cp932",
    "shift_jis_2004": "cp932",
    "shift_jisx0213": "cp932",
    "euc-kr": "cp949",
    "euc_kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "big5hkscs",
    "euc_jis_2004": "euc_jp",
    "euc_jisx0213": "euc_jp",
}

# ISO-2022 texts are 7-bit and would pass as UTF-8; their escape sequences name them.
ISO2022_ESCAPES = (
    (b"\x1b$)C", "iso2022_kr"),
    (b"\x1b$B", "iso2022_jp_2"),
    (b"\x1b$@", "iso2022_jp_2"),
    (b"\x1b$A", "iso2022_jp_2"),
    (b"\x1b(J", "iso2022_jp_2"),
)

PRESCAN_BYTES = 4096  # declarations sit in the head; WHATWG scans 1024 bytes, real pages put them later

HTML_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)
XML_DECLARATION = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:\-]+)["']""", re.I)
HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_.:\-]+)""", re.I)

# Unicode categories that do not occur in real text (besides tab, newline and carriage return):
# control characters, unassigned code points, surrogates and private use.
NON_TEXT_CATEGORIES = frozenset({"Cc", "Cn", "Cs", "Co"})
TEXT_CONTROLS = frozenset("\t\n\r\f")
MAX_NON_TEXT_SHARE = 0.01  # decoded text with more than this share of such characters is the wrong decoding
BINARY_CONTROL_SHARE = 0.05  # single-byte text with more control bytes than this is binary
HEAD_BYTES = 8192  # what looks_binary and the UTF-16/32 pattern inspect
DETECT_BYTES = 256 * 1024  # the detector is slow on megabytes and the head tells it as much
MIN_CONFIDENCE = 0.1  # on chardet 7's scale its right guesses on short texts go down to 0.1; the text check guards the rest
TEXT_SAMPLE_CHARS = 65536  # the non-text share is measured on this much of a decoding
