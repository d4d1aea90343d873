"""The run summary, from every stage's counters: what went in and out where, and whether it all balances.

Every document read must end as exactly one article, duplicate or error; when it does not, the stage
whose input differs from its outputs (or from the previous stage's output) is named.
"""

from __future__ import annotations

from apache_beam.metrics.metric import MetricsFilter

from transforms.entities import NOT_TAGGED, UNKNOWN
from transforms.entities.tables import INSTALLED_MODELS
from transforms.feeds import FEED_COUNTERS, FEEDS_NAMESPACE
from transforms.schema import CLEAN, DEDUPE, ERROR_STAGES, FETCH, PARSE, READ, STAGES, TAG, WRITE
from transforms.stage import (
    ALREADY_INGESTED,
    ARTICLES,
    CANDIDATE_PAIRS,
    DOCUMENTS,
    DUPLICATES,
    ERRORS,
    IN,
    SKIPPED,
    SKIPPED_PREFIX,
    SPECIAL,
    VERIFIED_PAIRS,
)

Totals = dict  # (namespace, counter name) -> value
NAMESPACES = (*STAGES, FEEDS_NAMESPACE)


def counters(result) -> Totals | None:
    """The pipeline's counters, or None where the runner keeps no metrics (Beam 2.77's DaskRunner)."""
    try:
        query = result.metrics().query(MetricsFilter())
    except NotImplementedError:
        return None
    totals: Totals = {}
    for counter in query["counters"]:
        key = (counter.key.metric.namespace, counter.key.metric.name)
        if key[0] in NAMESPACES:
            totals[key] = totals.get(key, 0) + (counter.committed or counter.attempted or 0)
    return totals


def written_totals(rows_per_table: dict[str, int]) -> Totals:
    """Totals for a runner without metrics, from the rows read back from the files: documents read is
    then their sum, and no stage can be checked."""
    return {(WRITE, table): rows for table, rows in rows_per_table.items()}


def documents_read(t: Totals) -> int:
    """Documents of this run: what the read stage found, less those an earlier run wrote already."""
    if (READ, DOCUMENTS) in t or (READ, ERRORS) in t:
        found = t.get((READ, DOCUMENTS), 0) + t.get((READ, ERRORS), 0)
        return found - t.get((READ, ALREADY_INGESTED), 0)
    return sum(t.get((WRITE, table), 0) for table in ("articles", "duplicates", "errors"))


def skips(t: Totals, stage: str) -> int:
    """What a stage set aside by rule (``<stage>/skipped_<kind>``: filters, records that are no document)."""
    return sum(value for (namespace, name), value in t.items() if namespace == stage and name.startswith(SKIPPED_PREFIX))


def skip_rows(t: Totals) -> list[tuple[str, int]]:
    """One summary row per stage and kind of skip: ``skipped at read: warc_request``."""
    return [
        (f"skipped at {namespace}: {name[len(SKIPPED_PREFIX) :]}", value)
        for (namespace, name), value in sorted(t.items())
        if name.startswith(SKIPPED_PREFIX) and value
    ]


def mismatches(t: Totals) -> list[str]:
    """Each place where what a stage received differs from what it passed on, named by stage."""
    if not any(namespace == READ for namespace, _ in t):
        return []

    def get(stage: str, name: str) -> int:
        return t.get((stage, name), 0)

    stage_errors = sum(get(stage, ERRORS) for stage in ERROR_STAGES)
    checks = [
        (FETCH, "in", get(FETCH, IN), "documents + errors + skips", get(FETCH, DOCUMENTS) + get(FETCH, ERRORS) + skips(t, FETCH)),
        (
            PARSE,
            "in",
            get(PARSE, IN),
            "documents read - fetch errors - fetch skips - already ingested",
            get(READ, DOCUMENTS) - get(FETCH, ERRORS) - skips(t, FETCH) - get(READ, ALREADY_INGESTED),
        ),
        (PARSE, "in", get(PARSE, IN), "articles + errors + skips", get(PARSE, ARTICLES) + get(PARSE, ERRORS) + skips(t, PARSE)),
        (CLEAN, "in", get(CLEAN, IN), "parsed articles", get(PARSE, ARTICLES)),
        (CLEAN, "in", get(CLEAN, IN), "articles + errors + skips", get(CLEAN, ARTICLES) + get(CLEAN, ERRORS) + skips(t, CLEAN)),
        (DEDUPE, "in", get(DEDUPE, IN), "cleaned articles", get(CLEAN, ARTICLES)),
        (DEDUPE, "in", get(DEDUPE, IN), "articles + duplicates", get(DEDUPE, ARTICLES) + get(DEDUPE, DUPLICATES)),
        (TAG, "in", get(TAG, IN), "deduplicated articles", get(DEDUPE, ARTICLES)),
        (TAG, "in", get(TAG, IN), "articles + errors", get(TAG, ARTICLES) + get(TAG, ERRORS)),
        (WRITE, "article rows", get(WRITE, "articles"), "tagged articles", get(TAG, ARTICLES)),
        (WRITE, "duplicate rows", get(WRITE, "duplicates"), "duplicates", get(DEDUPE, DUPLICATES)),
        (WRITE, "error rows", get(WRITE, "errors"), "errors of all stages", stage_errors),
    ]
    return [f"{stage}: {left} {a} != {right} {b}" for stage, left, a, right, b in checks if a != b]


def counted(t: Totals, stage: str) -> bool:
    return any(namespace == stage for namespace, _ in t)


def stage_counts(t: Totals, stage: str) -> dict[str, int]:
    """What a stage (not write) received and passed on, and what it set aside: errors, or for dedupe
    duplicates. The read stage receives what it found (documents and errors) less what an earlier run wrote,
    and counts the files it skipped: ingested by an earlier run, or special (FIFOs, devices, sockets); the
    dedupe stage the pairs it compared and those it found copies. Any stage's skips by rule come as
    ``skipped_<kind>``."""
    by_kind = {name: value for (namespace, name), value in t.items() if namespace == stage and name.startswith(SKIPPED_PREFIX)}
    if stage == READ:
        new = t.get((READ, DOCUMENTS), 0) - t.get((READ, ALREADY_INGESTED), 0)
        files = {"files_seen": t.get((READ, SKIPPED), 0), "special_files": t.get((READ, SPECIAL), 0)}
        return {"in": new + t.get((READ, ERRORS), 0), "out": new, "errors": t.get((READ, ERRORS), 0), **files, **by_kind}
    aside = {"duplicates": t.get((stage, DUPLICATES), 0)} if stage == DEDUPE else {"errors": t.get((stage, ERRORS), 0)}
    if stage == DEDUPE:
        aside.update({name: t.get((stage, name), 0) for name in (CANDIDATE_PAIRS, VERIFIED_PAIRS)})
    return {"in": t.get((stage, IN), 0), "out": t.get((stage, ARTICLES), t.get((stage, DOCUMENTS), 0)), **aside, **by_kind}


def stage_table(t: Totals) -> list[str]:
    """One line per stage that counted anything: in, out, and what it set aside."""
    lines = [f"{'stage':<8}{'in':>9}{'out':>9}{'errors':>9}{'dupes':>9}"]
    for stage in STAGES[:-1]:
        if counted(t, stage):
            c = stage_counts(t, stage)
            seen = "" if stage == READ else c["in"]
            lines.append(f"{stage:<8}{seen:>9}{c['out']:>9}{c.get('errors', ''):>9}{c.get('duplicates', ''):>9}")
    return lines


def not_tagged(t: Totals) -> list[tuple[str, int]]:
    """Articles written without entities because no model reads their language, per language."""
    rows = []
    for (namespace, name), value in sorted(t.items()):
        if namespace == TAG and name.startswith(NOT_TAGGED):
            language = name[len(NOT_TAGGED) :]
            hint = f" (the [{language}] extra installs {INSTALLED_MODELS[language]})" if language in INSTALLED_MODELS else ""
            rows.append(
                ("not tagged: language unknown" if language == UNKNOWN else f"not tagged: no model for {language}{hint}", value)
            )
    return rows


def summary(t: Totals, seconds: float) -> tuple[str, bool]:
    """The summary's text, and whether the run balanced."""
    read = documents_read(t)
    articles, duplicates, errors = (t.get((WRITE, table), 0) for table in ("articles", "duplicates", "errors"))
    problems = mismatches(t)
    filtered = skips(t, FETCH) + skips(t, PARSE) + skips(t, CLEAN)  # documents read, then set aside by a rule
    if read != articles + duplicates + errors + filtered:
        problems.append(f"{read} read != {articles} + {duplicates} + {errors}" + (f" + {filtered} skipped" if filtered else ""))
    rows = [
        ("documents read", read),
        ("articles written", articles),
        ("duplicates", duplicates),
        ("errors", errors),
        ("entity rows", t.get((WRITE, "entities"), 0)),
        *([("files skipped (seen)", t[(READ, SKIPPED)])] if t.get((READ, SKIPPED)) else []),
        *([("special files skipped", t[(READ, SPECIAL)])] if t.get((READ, SPECIAL)) else []),
        *([("already ingested", t[(READ, ALREADY_INGESTED)])] if t.get((READ, ALREADY_INGESTED)) else []),
        *skip_rows(t),
        *not_tagged(t),
        *((label, t[(FEEDS_NAMESPACE, name)]) for name, label in FEED_COUNTERS.items() if (FEEDS_NAMESPACE, name) in t),
    ]
    width = max(22, *(len(label) + 1 for label, _ in rows))
    lines = [f"{label:<{width}}{value:>8}" for label, value in rows]
    lines.append(f"{'time taken':<{width}}{seconds:>8.1f} s ({read / seconds if seconds else 0:.1f} docs/s)")
    if any(namespace == READ for namespace, _ in t):
        lines += ["", *stage_table(t)]
    lines += [f"ACCOUNTING MISMATCH at {problem}" for problem in problems]
    return "\n".join(lines), not problems
