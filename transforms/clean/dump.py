"""Is this text a page dump (menus, link lists, headlines printed twice, calls to action) or an article
already? Decided per document by evidence in the text, not by its input format: a JSONL body, a feed
entry or a wire story must come out whole, with only the repairs."""

from __future__ import annotations

import dataclasses
from collections import Counter

from transforms.clean.scripts import ends_sentence, script_of, units
from transforms.clean.tables import NAV_WORDS, PROMO_MAX_CHARS, PROMO_PATTERNS, STANDALONE_NUMBER, DumpSettings
from transforms.text import line_key, words


def is_nav(line: str) -> bool:
    """A short line made only of navigation words ("Home", "Sign in", "Read more", "더보기")."""
    tokens = words(line)
    return bool(tokens) and len(tokens) <= 5 and all(w in NAV_WORDS for w in tokens)


def is_promo(line: str) -> bool:
    """A short call to action ("For the latest headlines, follow our Google News channel ...")."""
    return len(line) <= PROMO_MAX_CHARS and any(p.search(line) for p in PROMO_PATTERNS)


def is_menu_line(line: str, settings: DumpSettings = DumpSettings()) -> bool:
    """Short, no sentence end, and no number standing alone (a results table's rows have them)."""
    script = script_of(line)
    return units(line, script) < settings.short_units and not ends_sentence(line, script) and not STANDALONE_NUMBER.search(line)


@dataclasses.dataclass(frozen=True)
class DumpEvidence:
    nav_lines: int
    menu_runs: int
    repeated: int
    promos: int
    score: float
    is_dump: bool


def dump_evidence(text: str, settings: DumpSettings = DumpSettings()) -> DumpEvidence:
    """Score = nav lines and promos (weighted) + runs of menu lines + lines repeated (3 words or more)."""
    lines = [t.strip() for t in text.splitlines() if t.strip()]
    nav = sum(is_nav(t) for t in lines)
    promos = sum(is_promo(t) for t in lines)
    keys = Counter(line_key(t) for t in lines if len(words(t)) >= 3)
    repeated = sum(1 for n in keys.values() if n > 1)
    runs = run = 0
    for line in [*lines, None]:
        if line is not None and is_menu_line(line, settings):
            run += 1
            continue
        runs += run >= settings.menu_run
        run = 0
    score = float(settings.nav_weight * nav + runs + repeated + settings.promo_weight * promos)
    return DumpEvidence(nav, runs, repeated, promos, score, score >= settings.threshold)


def is_page_dump(text: str, settings: DumpSettings = DumpSettings()) -> bool:
    return dump_evidence(text, settings).is_dump
