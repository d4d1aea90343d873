"""CoNLL-2003 documents as plain text with gold spans as character offsets, and exact-span scoring (bench.ner_eval)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence

SCORED = ("PER", "ORG", "LOC")
# spaCy label (OntoNotes; PER from WikiNER-trained models) -> CoNLL label; everything else (NORP, EVENT, PRODUCT, ...) is not a prediction.
SPACY_TO_CONLL = {"PERSON": "PER", "PER": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC"}


@dataclasses.dataclass(frozen=True)
class Document:
    text: str
    gold: tuple[tuple[int, int, str], ...]  # (start, end, PER/ORG/LOC/MISC)


def read_conll(path: str) -> list[Document]:
    """Split at -DOCSTART-; tokens joined by spaces, sentences by newlines; IOB1 tags to char spans."""
    docs, sentences, sentence = [], [], []

    def close_sentence():
        nonlocal sentence
        if sentence:
            sentences.append(sentence)
        sentence = []

    def close_doc():
        close_sentence()
        if sentences:
            docs.append(_document(sentences))
        sentences.clear()

    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if not parts:
                close_sentence()
            elif parts[0] == "-DOCSTART-":
                close_doc()
            else:
                sentence.append((parts[0], parts[-1]))
    close_doc()
    return docs


def _document(sentences: list[list[tuple[str, str]]]) -> Document:
    text_parts, spans, offset = [], [], 0
    for s_index, sentence in enumerate(sentences):
        if s_index:
            text_parts.append("\n")
            offset += 1
        current = None  # [start, end, label]
        prev_tag = "O"
        for t_index, (token, tag) in enumerate(sentence):
            if t_index:
                text_parts.append(" ")
                offset += 1
            start, end = offset, offset + len(token)
            text_parts.append(token)
            offset = end
            kind = tag[2:] if tag != "O" else None
            begins = kind is not None and (tag.startswith("B-") or prev_tag == "O" or prev_tag[2:] != kind)
            if current and (kind is None or begins):
                spans.append(tuple(current))
                current = None
            if kind is not None:
                if current is None:
                    current = [start, end, kind]
                else:
                    current[1] = end
            prev_tag = tag
        if current:
            spans.append(tuple(current))
    return Document("".join(text_parts), tuple(spans))


def score(gold: Iterable[Iterable[tuple[int, int, str]]], pred: Iterable[Iterable[tuple[int, int, str]]]) -> dict:
    """Exact-span micro P/R/F1 per label and overall over PER/ORG/LOC; pairs of per-document span sets."""
    tp, fp, fn = Counter(), Counter(), Counter()
    for g_doc, p_doc in zip(gold, pred):
        g = {s for s in g_doc if s[2] in SCORED}
        p = {s for s in p_doc if s[2] in SCORED}
        for s in g & p:
            tp[s[2]] += 1
        for s in p - g:
            fp[s[2]] += 1
        for s in g - p:
            fn[s[2]] += 1
    out = {label: _prf(tp[label], fp[label], fn[label]) for label in SCORED}
    out["micro"] = _prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    return out


def _prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": p, "r": r, "f1": f, "tp": tp, "fp": fp, "fn": fn}


def spacy_spans(ents: Sequence[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """spaCy (start, end, label) to CoNLL labels, dropping labels that are not scored."""
    return [(s, e, SPACY_TO_CONLL[label]) for s, e, label in ents if label in SPACY_TO_CONLL]
