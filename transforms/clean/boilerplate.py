"""Finding the article in a page dump.

Lines are classified as jusText does (length, stop-word share, sentence end; all script-aware), with
navigation lines, promos, credits, footers and repeats fixed as bad. Short and near-good lines then take
their class from their neighbours (jusText's context rules). The body is the heaviest group of good
runs (a run just after the headline counts double), a group being the runs that only a short promo, ad,
related-links block or table separates; a document with prose is never emptied.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Optional

from transforms.clean.dump import is_nav, is_promo
from transforms.clean.language import detect_language, stop_words
from transforms.clean.scripts import ends_sentence, prose_lines, script_of, stopword_share, units
from transforms.clean.tables import (
    COMMENT_HEADER,
    COOKIE_LINE,
    CREDIT_LINE,
    FOOTER_LINE,
    REPLY_LINE,
    STANDALONE_NUMBER,
    LineSettings,
)
from transforms.text import HEADLINE_ANCHOR_WORDS, UNSPACED_SCRIPTS, line_key


@dataclasses.dataclass
class Line:
    text: str
    script: str
    units: float
    sentence: bool
    stops: float = 0.0
    kind: str = ""  # good, neargood, short, bad (fixed), then good/bad after smoothing
    fixed: bool = False  # bad by evidence (nav, promo, repeat), never revised by context


def _line(text: str) -> Line:
    script = script_of(text)
    return Line(text, script, units(text, script), ends_sentence(text, script))


# ------------------------------------------------------------------------------------- classifier


def classify(raw: list[str], language: Optional[str], settings: LineSettings, title: Optional[str] = None) -> list[Line]:
    """jusText's classes with script-aware features; nav lines, promos, credits and repeats are fixed bad.

    Stop-word thresholds are capped relative to the document's own prose lines, since lists cover
    languages unequally (Arabic and Russian clitics and inflections escape them).
    """
    s = settings
    keys = [line_key(t) for t in raw]
    counts = Counter(keys)
    last_seen = {key: i for i, key in enumerate(keys)}
    title_key = line_key(title) if title else None
    lines = [_line(t) for t in raw]
    for line in lines:
        line.stops = _stops(line, language, s)
    prose = sorted(line.stops for line in lines if line.sentence and line.units >= s.good_units)
    typical = prose[len(prose) // 2] if prose else 0.0
    for i, line in enumerate(lines):
        dense = line.script in UNSPACED_SCRIPTS
        scale = s.dense_stopwords / s.good_stopwords if dense else 1.0
        good_min = min(s.good_stopwords * scale, s.relative_good * typical)
        near_min = min(s.neargood_stopwords * scale, s.relative_neargood * typical)
        has_list = dense or line.script == "hangul" or bool(language and _has_stops(language))
        good_stops = line.stops >= good_min or not has_list
        near_stops = line.stops >= near_min or not has_list
        text = line.text
        repeated = counts[keys[i]] > 1 and (not line.sentence or last_seen[keys[i]] != i)
        if is_promo(text):
            line.kind, line.fixed = "promo", True
        elif not keys[i] or repeated or keys[i] == title_key or is_nav(text) or is_credit(text):
            line.kind, line.fixed = "bad", True
        elif line.sentence and ((line.units >= s.good_units and good_stops) or (line.units >= s.long_units and near_stops)):
            line.kind = "good"  # a long paragraph is body even when its topic (a recipe, a list) has few stop words
        elif (line.sentence or (line.units >= s.unmarked_units and good_stops)) and line.units >= s.neargood_units and near_stops:
            line.kind = "neargood"  # a long paragraph cut by a line break mid-sentence ends without a mark
        else:
            line.kind = "short"
    return lines


def _stops(line: Line, language: Optional[str], settings: LineSettings) -> float:
    """Stop-word share in the page's language or, for a long sentence that has few of its stop words, in
    the line's own language: a page may quote or append paragraphs in another language."""
    share = stopword_share(line.text, language, line.script)
    if share >= settings.good_stopwords or not line.sentence or line.units < settings.neargood_units:
        return share
    own = detect_language(line.text)
    return max(share, stopword_share(line.text, own, line.script)) if own and own != language else share


def is_credit(line: str) -> bool:
    """A photo or wire credit, a site footer (copyright, rights notices) or a cookie notice."""
    return bool(CREDIT_LINE.match(line) or FOOTER_LINE.search(line) or COOKIE_LINE.search(line))


def _has_stops(language: str) -> bool:
    return bool(stop_words(language))


def _neighbour(lines: list[Line], i: int, step: int, skip: tuple[str, ...]) -> str:
    j = i + step
    while 0 <= j < len(lines):
        if lines[j].kind not in skip:
            return lines[j].kind
        j += step
    return "bad"


_SKIP = ("short", "neargood", "promo")


def smooth(lines: list[Line]) -> list[str]:
    """jusText's context rules: short and near-good lines take the class of the good/bad lines around them.
    In-body promos are looked through (a body cut by "Follow us on ..." stays one body) and end bad."""
    kinds = [line.kind for line in lines]
    for i, line in enumerate(lines):
        if line.kind != "short" or line.fixed:
            continue
        prev, nxt = _neighbour(lines, i, -1, _SKIP), _neighbour(lines, i, 1, _SKIP)
        if prev == nxt:
            kinds[i] = prev
        elif (prev == "bad" and _neighbour(lines, i, -1, ("short", "promo")) == "neargood") or (
            nxt == "bad" and _neighbour(lines, i, 1, ("short", "promo")) == "neargood"
        ):
            kinds[i] = "good"
        else:
            kinds[i] = "bad"
    for i, line in enumerate(lines):
        if line.kind == "neargood":
            prev, nxt = _neighbour(lines, i, -1, _SKIP), _neighbour(lines, i, 1, _SKIP)
            kinds[i] = "bad" if prev == nxt == "bad" else "good"
    return ["bad" if k == "promo" else k for k in kinds]


# ------------------------------------------------------------------------------------------- body


def is_comment_mark(line: str) -> bool:
    """A commenter's dated header ("... at 4:47 pm said:") or a reply button: a comment thread."""
    return bool(COMMENT_HEADER.search(line) or REPLY_LINE.match(line))


def before_comments(lines: list[Line], runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The good runs before the comment thread, which starts at the first comment mark after the first run
    (a comment's own text before its reply button is a run too: a page of comments keeps its first)."""
    start = next((i for i in range(runs[0][1], len(lines)) if is_comment_mark(lines[i].text)), None) if runs else None
    return [r for r in runs if start is None or r[0] < start]


def _runs(kinds: list[str]) -> list[tuple[int, int]]:
    """Maximal runs [start, end) of good lines."""
    runs, start = [], None
    for i, kind in enumerate(kinds + ["bad"]):
        if kind == "good" and start is None:
            start = i
        elif kind != "good" and start is not None:
            runs.append((start, i))
            start = None
    return runs


def headline_positions(raw: list[str], title: Optional[str]) -> list[int]:
    """Where the headline stands: the given title, else the first non-sentence line printed twice."""
    keys = [line_key(t) for t in raw]
    key = line_key(title) if title else None
    if not key:
        counts = Counter(keys)
        low, high = HEADLINE_ANCHOR_WORDS
        key = next(
            (
                k
                for k, t in zip(keys, raw)
                if counts[k] > 1 and low <= len(k.split()) <= high and not ends_sentence(t) and not is_nav(t) and not is_promo(t)
            ),
            None,
        )
    return [i for i, k in enumerate(keys) if key and k == key]


def select_body(lines: list[Line], kinds: list[str], settings: LineSettings, anchors: list[int] = ()) -> list[int]:
    """The heaviest group of good runs (a run right after the headline weighs more), a group being a run
    joined with its neighbouring good runs across short bad gaps (promos, ads, related links): a body cut
    in three by promos outweighs one long teaser further down."""
    runs = before_comments(lines, _runs(kinds))
    if not runs:
        return []
    mass = [sum(lines[i].units for i in range(a, b)) for a, b in runs]
    weight = [
        m * (settings.anchor_bonus if any(0 < a - h <= settings.anchor_distance for h in anchors) else 1.0)
        for m, (a, _) in zip(mass, runs)
    ]

    def bridgeable(a: int) -> bool:  # the gap between runs a and a + 1
        gap = range(runs[a][1], runs[a + 1][0])
        chrome = [i for i in gap if not _is_row(lines[i])]  # table rows are body
        return len(chrome) <= settings.max_gap_lines and sum(lines[i].units for i in chrome) <= settings.gap_units

    bridges = [bridgeable(a) for a in range(len(runs) - 1)]  # each gap judged once, for every seed below
    joins = [m >= settings.min_run_units for m in mass]

    def group(seed: int) -> tuple[int, int]:
        first = last = seed
        while last + 1 < len(runs) and bridges[last] and joins[last + 1]:
            last += 1
        while first > 0 and bridges[first - 1] and joins[first - 1]:
            first -= 1
        return first, last

    groups = {group(seed) for seed in range(len(runs))}
    first, last = max(groups, key=lambda g: (sum(weight[g[0] : g[1] + 1]), -g[0]))
    keep = [i for a, b in runs[first : last + 1] for i in range(a, b)]
    return _with_headings(lines, kinds, _with_tables(lines, kinds, keep, settings), settings)


def _is_row(line: Line) -> bool:
    """A table row: a number standing alone (results, standings, prices), not chrome."""
    return not line.fixed and bool(STANDALONE_NUMBER.search(line.text))


def table_rows(lines: list[Line], kinds: list[str], start: int, end: int, min_rows: int) -> list[int]:
    """Lines in [start, end) of a table: runs of at least ``min_rows`` consecutive rows (a number standing
    alone, not chrome) that context did not keep."""
    rows, block = [], []
    for i in range(start, end + 1):
        if i < end and kinds[i] != "good" and _is_row(lines[i]):
            block.append(i)
            continue
        rows += block if len(block) >= min_rows else []
        block = []
    return rows


def _with_tables(lines: list[Line], kinds: list[str], keep: list[int], settings: LineSettings) -> list[int]:
    """A table inside the body (standings, box scores between paragraphs about them) is part of it."""
    if not keep:
        return keep
    return sorted(set(keep) | set(table_rows(lines, kinds, keep[0], keep[-1], settings.min_table_rows)))


def _with_headings(lines: list[Line], kinds: list[str], keep: list[int], settings: LineSettings) -> list[int]:
    """Short lines inside the body that head a good line (subheadings) stay; promos never do."""
    if not keep:
        return keep
    chosen = set(keep)
    lead = keep[0] - 1  # a lead paragraph the classifier found too short ("ST. JOSEPH, Mich. (AP) - ...")
    if lead >= 0 and lines[lead].sentence and not lines[lead].fixed and lines[lead].units >= settings.neargood_units:
        chosen.add(lead)
    for i in range(min(chosen), keep[-1] + 1):
        if i in chosen or lines[i].fixed or lines[i].units > settings.max_heading_units:
            continue
        ahead = range(i + 1, min(i + 1 + settings.max_heading_distance, len(lines)))
        if any(j in chosen and lines[j].kind in ("good", "neargood") for j in ahead) and not lines[i].sentence:
            chosen.add(i)
    return [i for i in sorted(chosen) if kinds[i] == "good" or not lines[i].fixed]


def prose_fallback(lines: list[Line], settings: LineSettings) -> list[int]:
    """Every sentence line that is not chrome: what is kept when no body run stands out."""
    return [i for i, line in enumerate(lines) if line.sentence and not line.fixed and line.units >= settings.neargood_units]


@dataclasses.dataclass(frozen=True)
class Extraction:
    text: str
    language: Optional[str]
    reason: str  # why the text is what it is (or empty)


def extract(text: str, title: Optional[str] = None, settings: LineSettings = LineSettings()) -> Extraction:
    """The article in a page dump; the text of every prose line when no body run stands out; "" only
    when no line reads as prose."""
    raw = [t.strip() for t in text.splitlines() if t.strip()]
    language = detect_language(prose_lines(raw)) or None
    lines = classify(raw, language, settings, title)
    kinds = smooth(lines)
    keep = select_body(lines, kinds, settings, headline_positions(raw, title))
    if not keep:  # never empty a document that has prose: fall back to its sentence lines
        keep = prose_fallback(lines, settings)
    if not keep:
        return Extraction("", language, "no line reads as article prose")
    body = [raw[i] for i in keep]
    return Extraction("\n\n".join(body), detect_language(body) or language, "")
