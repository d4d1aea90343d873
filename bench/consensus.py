"""The article body of an HTML page as the consensus of three extractions: trafilatura favouring
precision (which sometimes keeps half an article, a promo block splitting the body), trafilatura favouring
recall (which sometimes keeps comments or a related-stories list) and trafilatura's bundled readability
(Arc90's paragraph-density scoring, failing on other pages). The text that agrees most with the other two
(summed 4-word-shingle F1) is kept: two extractors rarely fail the same way, so the outlier is the
failure. When the precise run and readability, two unrelated methods, already agree, there is nothing to
arbitrate and the recall run is skipped (docs/extraction.md: same F1, a quarter of the cost saved).

The parse stage used it until issue 28; it stays here as a body rule the benchmark compares
(``bench.extraction_html``): on news-pages-dev it lost to trafilatura's precise run alone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Optional

from transforms.text import WORD

SETTLED = 0.9  # shingle F1 between the precise run and readability above which the precise text is kept


def shingles(text: str) -> Counter:
    tokens = WORD.findall(text or "")
    return Counter(tuple(tokens[i : i + 4]) for i in range(len(tokens) - 3))


def agreement(a: Counter, b: Counter) -> float:
    """Shingle F1 between two texts (multiset overlap); 0 when both are empty."""
    total = sum(a.values()) + sum(b.values())
    return 2 * sum((a & b).values()) / total if total else 0.0


def consensus(candidates: Sequence[str], counts: Sequence[Counter] = ()) -> str:
    """The candidate with the largest summed agreement with the others; ties keep the earlier one.
    ``counts``: the candidates' shingles, when already made."""
    counts = counts or [shingles(c) for c in candidates]
    scores = [sum(agreement(counts[i], counts[j]) for j in range(len(counts)) if j != i) for i in range(len(counts))]
    return candidates[max(range(len(candidates)), key=lambda i: (scores[i], -i))]


def recall_text(html: str, url: Optional[str], include_tables: bool) -> str:
    import trafilatura

    doc = trafilatura.bare_extraction(html, url=url, favor_recall=True, include_comments=False, include_tables=include_tables)
    return (doc.text or "") if doc is not None else ""


def readability_text(html: str) -> str:
    """Readability (trafilatura's port: no extra dependency) rendered to text by inscriptis."""
    from inscriptis import get_text
    from trafilatura.readability_lxml import Document
    from trafilatura.utils import load_html

    try:
        tree = load_html(html)
        return get_text(Document(tree).summary()) if tree is not None else ""
    except Exception:  # broken markup raises lxml's and the parser's own errors
        return ""


def consensus_body(precise: str, html: str, url: Optional[str], include_tables: bool = True) -> str:
    """``precise``: trafilatura's favor_precision text, from the run that also gave the metadata."""
    readable = readability_text(html)
    first, third = shingles(precise), shingles(readable)
    if agreement(first, third) >= SETTLED:
        return precise
    recall = recall_text(html, url, include_tables)
    return consensus([precise, recall, readable], [first, shingles(recall), third])
