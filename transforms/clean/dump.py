"""Is this text a page dump (menus, link lists, headlines printed twice, calls to action) or an article
already? Decided per document by evidence in the text, not by its input format: a JSONL body, a feed
entry or a wire story must come out whole, with only the repairs."""

from __future__ import annotations

import dataclasses

from transforms.clean.scripts import ends_sentence, is_prose, script_of, units
from transforms.clean.tables import (
    NAV_MAX_WORDS,
    NAV_WORDS,
    PROMO_MAX_CHARS,
    PROMO_PATTERNS,
    STANDALONE_NUMBER,
    DumpSettings,
)
from transforms.text import line_key, words


def is_nav(line: str) -> bool:
    """A short line made only of navigation words ("Home", "Sign in", "Read more", "더보기")."""
    tokens = words(line)
    return bool(tokens) and len(tokens) <= NAV_MAX_WORDS and all(w in NAV_WORDS for w in tokens)


def is_promo(line: str) -> bool:
    """A short call to action ("For the latest headlines, follow our Google News channel ...")."""
    return len(line) <= PROMO_MAX_CHARS and any(p.search(line) for p in PROMO_PATTERNS)


def is_frame_line(line: str) -> bool:
    """A line of a page's frame (site name, menu entry, footer link): no sentence end, no number standing
    alone (a results row) and no colon ending it (a list's own heading, "Results on Saturday:")."""
    return not ends_sentence(line) and not STANDALONE_NUMBER.search(line) and not line.rstrip().endswith(":")


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
    frame: int  # frame lines both above the first and below the last prose line (the fewer side's count)
    outside: float  # the evidence found before the first or after the last prose line (the frame apart)
    inside: float  # the evidence found between them
    one_sided: float  # runs and repeats past the prose on a side whose other side has no frame line
    prose_lines: int
    score: float
    is_dump: bool

    def score_with(
        self,
        body_lines: float,
        one_sided_weight: float = DumpSettings.one_sided_weight,
        frame_weight: float = DumpSettings.frame_weight,
    ) -> float:
        """The score with inside evidence scaled by ``body_lines``, one-sided list evidence weighted by
        ``one_sided_weight`` and each frame line by ``frame_weight`` (``DumpSettings``)."""
        scaled = self.inside / (1.0 + self.prose_lines / body_lines)
        return self.outside + frame_weight * self.frame + one_sided_weight * self.one_sided + scaled


def dump_evidence(text: str, settings: DumpSettings = DumpSettings()) -> DumpEvidence:
    """Score = nav lines, promos, runs of menu lines, repeated lines and the frame, each weighted
    (``DumpSettings``).

    The frame: a dump's chrome sits on both sides of the article (site name and menu above, footer links
    below), even when it is all short lines that no word list knows; an article has at most a title above
    its prose or a credit below it. So the fewer of the two sides' frame lines counts.

    Runs of menu lines and repeated lines past the prose on one side only, when the other side has no frame
    line (the text opens or ends with its prose), are a list the article runs on into (a meal plan, results
    after their introduction) and count ``one_sided_weight`` each; nav lines and promos count whole anywhere.

    Evidence found inside the prose (between its first and last long sentence line) is scaled down by the
    number of prose lines: a dump's chrome is a large share of it, while a long article's few list-like
    lines (ingredients, repeated interview questions) are a small one. Evidence around the prose (menus,
    footers) counts whole.
    """
    lines = [t.strip() for t in text.splitlines() if t.strip()]
    prose = [i for i, t in enumerate(lines) if is_prose(t)]
    first, last = (prose[0], prose[-1]) if prose else (len(lines), -1)
    above, below = (sum(map(is_frame_line, lines[:first])), sum(map(is_frame_line, lines[last + 1 :]))) if prose else (0, 0)
    outside = inside = one_sided = 0.0

    def add(at: int, weight: float, listlike: bool = False) -> None:
        nonlocal outside, inside, one_sided
        if first <= at <= last:
            inside += weight
        elif listlike and prose and (above if at > last else below) == 0:
            one_sided += weight  # a list running on from the prose (a meal plan after its introduction)
        else:
            outside += weight

    nav = promos = runs = run = 0
    for i, line in enumerate(lines):
        if is_nav(line):
            nav += 1
            add(i, settings.nav_weight)
        if is_promo(line):
            promos += 1
            add(i, settings.promo_weight)
    keys = [line_key(t) if len(words(t)) >= settings.repeat_words else "" for t in lines]
    where: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        if key:
            where.setdefault(key, []).append(i)
    repeated = [at for at in where.values() if len(at) > 1]
    for at in repeated:  # inside when printed inside the prose (a question asked of every guest), else around it
        add(max(at, key=lambda i: first <= i <= last), settings.repeat_weight, True)
    for i, line in enumerate([*lines, None]):
        if line is not None and is_menu_line(line, settings):
            run += 1
            continue
        if run >= settings.menu_run:
            runs += 1
            add(i - run, settings.menu_run_weight, True)
        run = 0
    frame = min(above, below)
    evidence = DumpEvidence(nav, runs, len(repeated), promos, frame, outside, inside, one_sided, len(prose), 0.0, False)
    score = evidence.score_with(settings.body_lines, settings.one_sided_weight, settings.frame_weight)
    return dataclasses.replace(evidence, score=score, is_dump=score >= settings.threshold)


def is_page_dump(text: str, settings: DumpSettings = DumpSettings()) -> bool:
    return dump_evidence(text, settings).is_dump
