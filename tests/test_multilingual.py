"""Through the command line: articles in Chinese, Japanese, Korean, Arabic and Russian as .txt, JSONL
(UTF-8 and UTF-16) and HTML are kept with their text intact; the CoNLL-2003 dev documents as JSONL are
all kept with all their words."""

import codecs
import json
from collections import Counter

import pytest

from tests.support.cli import SHARED, run_command, table
from tests.test_clean import FIXTURES, LANGS, paragraphs

CONLL = SHARED / "eval" / "ner-dev" / "eng.testa"


def html_page(lang: str) -> str:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs(lang))
    return f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{lang}</title></head><body><article>{body}</article></body></html>'


def write_inputs(folder, kind: str) -> None:
    folder.mkdir()
    jsonl = "\n".join(
        json.dumps({"url": f"https://e.com/{lang}", "text": (FIXTURES / f"{lang}_article.txt").read_text()}, ensure_ascii=False)
        for lang in LANGS
    )
    for lang in LANGS:
        if kind == "txt":
            (folder / f"{lang}.txt").write_text((FIXTURES / f"{lang}_article.txt").read_text(), encoding="utf-8")
        elif kind == "html":
            (folder / f"{lang}.html").write_text(html_page(lang), encoding="utf-8")
    if kind == "jsonl":
        (folder / "docs.jsonl").write_text(jsonl, encoding="utf-8")
    elif kind == "jsonl-utf16":
        (folder / "docs.jsonl").write_bytes(codecs.BOM_UTF16_LE + jsonl.encode("utf-16-le"))


@pytest.mark.parametrize("kind", ["txt", "jsonl", "jsonl-utf16", "html"])
def test_every_script_kept_intact(tmp_path, kind):
    write_inputs(tmp_path / "in", kind)
    result = run_command("--input", str(tmp_path / "in" / "*"), "--output", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr[-3000:]
    articles = table(tmp_path / "out", "articles")
    assert len(articles) == len(LANGS), [e["error"] for e in table(tmp_path / "out", "errors")]
    by_language = {a["language"]: a for a in articles}
    assert sorted(by_language) == sorted(LANGS)
    for lang in LANGS:
        text = by_language[lang]["text"]
        assert all(p in text for p in paragraphs(lang)), (lang, text)
        assert "，" in text or lang != "zh"  # full-width punctuation is not folded
        assert by_language[lang]["encoding"] == ("utf-16-le" if kind == "jsonl-utf16" else "utf-8")


def conll_documents() -> list[str]:
    """One text per -DOCSTART-: tokens joined by spaces, one sentence per line."""
    docs, sentences, tokens = [], [], []
    for line in [*CONLL.read_text().splitlines(), "-DOCSTART-"]:
        if line.startswith("-DOCSTART-") or not line.strip():
            if tokens:
                sentences.append(" ".join(tokens))
            tokens = []
            if line.startswith("-DOCSTART-") and sentences:
                docs.append("\n".join(sentences))
                sentences = []
        else:
            tokens.append(line.split()[0])
    return docs


@pytest.mark.skipif(not CONLL.exists(), reason="../shared/eval/ner-dev not present")
def test_conll_news_as_jsonl_is_kept_whole(tmp_path):
    docs = conll_documents()
    assert len(docs) == 216
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "conll.jsonl").write_text("\n".join(json.dumps({"text": d}) for d in docs))
    result = run_command("--input", str(tmp_path / "in" / "*"), "--output", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr[-3000:]
    articles, duplicates = table(tmp_path / "out", "articles"), table(tmp_path / "out", "duplicates")
    assert table(tmp_path / "out", "errors") == []
    assert len(articles) + len(duplicates) == 216
    by_line = {int(a["source_path"].rsplit(":", 1)[1]): a["text"] for a in articles}
    for line, text in by_line.items():
        assert not Counter(docs[line - 1].split()) - Counter(text.split()), line
