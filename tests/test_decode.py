import codecs
import gzip
import io
import os
import re
import zipfile

import pytest

from tests.support.encodings import ARTICLES, encoded_fixtures
from transforms import decode as D

FIXTURES = encoded_fixtures()
MARKUP = {"text": None, "html": "html", "feed": "xml"}
TEXT = ARTICLES["en"]


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_every_fixture_decodes_to_its_exact_text(name):
    data, text, kind = FIXTURES[name]
    assert not D.looks_binary(data)
    assert D.decode(data, MARKUP[kind]).text == text


@pytest.mark.parametrize(
    "encoding, bom",
    [
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-32-le", codecs.BOM_UTF32_LE),
        ("utf-32-be", codecs.BOM_UTF32_BE),
    ],
)
def test_bom_names_the_encoding_and_is_dropped(encoding, bom):
    decoded = D.decode(bom + TEXT.encode(encoding))
    assert (decoded.text, decoded.encoding, decoded.evidence) == (TEXT, encoding, "bom")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_wide_encodings_without_bom_are_text(encoding):
    data = TEXT.encode(encoding)
    assert not D.looks_binary(data)
    assert D.decode(data).encoding == encoding


def test_declared_charset_is_used_and_recorded():
    html = '<html><head><meta charset="windows-1251"></head><body>Москва, 4 мая</body></html>'
    decoded = D.decode_html(html.encode("cp1251"))
    assert (decoded.text, decoded.encoding, decoded.evidence) == (html, "cp1251", "declared")


def test_http_header_charset_counts_for_undeclared_html():
    html = "<p>서울 4일 - 축제가 열렸다</p>"
    decoded = D.decode_html(html.encode("euc-kr"), content_type="text/html; charset=EUC-KR")
    assert (decoded.text, decoded.evidence) == (html, "declared")


def test_latin1_label_means_cp1252_as_on_the_web():
    html = '<meta charset="iso-8859-1"><p>\u201cCaf\u00e9\u201d \u20ac5</p>'
    assert D.decode_html(html.encode("cp1252")).text == html


def test_valid_utf8_beats_a_stale_legacy_label():
    html = '<meta charset="windows-1251"><p>Москва</p>'
    assert D.decode_html(html.encode("utf-8")).encoding == "utf-8"


def test_undeclared_legacy_text_is_detected():
    decoded = D.decode_text(FIXTURES["ru.koi8_r.txt"][0])
    assert (decoded.encoding, decoded.evidence) == ("koi8-r", "detected")


def binaries():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.txt", TEXT * 5)
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(2000)
    return {"png": png, "gzip": gzip.compress(TEXT.encode() * 5), "zip": buf.getvalue(), "random": os.urandom(4096)}


@pytest.mark.parametrize("kind", ["png", "gzip", "zip", "random"])
def test_binary_is_still_rejected(kind):
    data = binaries()[kind]
    assert D.looks_binary(data)
    with pytest.raises(ValueError, match="no credible text decoding"):
        D.decode(data)


def test_refusal_says_what_was_tried():
    with pytest.raises(ValueError, match=r"tried utf-8, .*detected"):
        D.decode(os.urandom(64) + b"\xff\xfe\xfd")


def test_bom_that_lies_is_an_error():
    with pytest.raises(ValueError, match="byte-order mark"):
        D.decode(codecs.BOM_UTF8 + b"\xff\xfe\x00abc")


@pytest.mark.parametrize("name", [n for n, f in FIXTURES.items() if f[2] == "feed"])
def test_feeds_in_any_encoding_parse(name):
    import feedparser

    data, text, _ = FIXTURES[name]
    title = re.search(r"<item><title>(.*?)</title>", text).group(1)
    utf8, encoding = D.feed_as_utf8(data)
    assert encoding == codecs.lookup(encoding).name
    assert feedparser.parse(utf8).entries[0].title == title
    assert feedparser.parse(data).entries[0].title == title  # feedparser reads BOMs itself too


def test_entity_guard_sees_a_utf16_feed_once_decoded():
    bomb = codecs.BOM_UTF16_LE + '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "x">]><rss/>'.encode("utf-16-le")
    assert b"<!ENTITY" not in bomb
    assert b"<!ENTITY" in D.feed_as_utf8(bomb)[0]


def test_feed_declaration_is_rewritten_to_utf8():
    xml = '<?xml version="1.0" encoding="UTF-16"?><rss version="2.0"/>'
    assert D.feed_as_utf8(codecs.BOM_UTF16_LE + xml.encode("utf-16-le"))[0].startswith(b'<?xml version="1.0" encoding="utf-8"?>')


@pytest.mark.parametrize("name", [n for n, f in FIXTURES.items() if f[2] == "feed"])
def test_feed_entries_record_the_feed_encoding(name):
    from transforms.feeds import feed_records

    data, text, _ = FIXTURES[name]
    [entry], status = feed_records("https://example.org/feed", data)
    assert status.status == "fetched" and entry.encoding == D.decode(data, "xml").encoding
    assert entry.title == re.search(r"<item><title>(.*?)</title>", text).group(1)


def test_utf16_feed_declaring_entities_is_refused():
    from transforms.feeds import feed_records

    bomb = codecs.BOM_UTF16_LE + '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "x">]><rss/>'.encode("utf-16-le")
    [error], status = feed_records("https://example.org/feed", bomb)
    assert "entities" in error.error and status.status == "failed"


def test_detected_codec_names_map_to_the_web_superset():
    assert D.codec_name("shift_jis", D.DETECTED_OVERRIDES) == "cp932" and D.codec_name("nonsense-label") is None
    assert D.non_text_share("plain text\n") == 0.0 and D.non_text_share("\x01\x02ab") == 0.5
    assert D.bom_encoding(codecs.BOM_UTF32_LE + b"x") == ("utf-32-le", 4) and D.wide_encoding(b"plain") is None
    assert D.declared_charsets(b'<?xml version="1.0" encoding="koi8-r"?>', "xml", "text/xml; charset=cp1251") == [
        "cp1251",
        "koi8-r",
    ]
