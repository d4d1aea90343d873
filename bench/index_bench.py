"""The dedupe index after many small append runs: files it holds and the time of each run's lookup.

    python -m bench.index_bench [--runs 100] [--per-run 10] [--layout tiered partitioned]

Each run does in one process what an append run's dedupe does with the index (``across_runs``, minus
Beam): its articles' band keys looked up partition by partition (``index.earlier_candidates``), the
candidates' sketches read (``index.wanted_sketches``) and verified (``index.best_earlier``), then its rows
added (``index.write_index_file``, one file per table and partition it writes to) and, in the ``tiered``
layout (today's), the index tidied (``index.tidy``). ``partitioned`` is the layout before issue 24: every
run writes into the 256 partitions and nothing is merged. The lookup is timed from a cold cache (a run is
a new process), in CPU seconds. Articles: synthetic stories (tests/support/corpus.py), 30% copies of earlier runs' stories.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
from pathlib import Path
from unittest import mock

from tests.support.corpus import story, syndicate
from transforms.dedupe import index
from transforms.dedupe.fingerprints import DedupeSettings, band_keys, sketch
from transforms.dedupe.index import (
    band_partition,
    best_earlier,
    earlier_candidates,
    index_rows,
    indexed,
    run_partition,
    sketch_partition,
    tidy,
    wanted_sketches,
    write_index_file,
)


def look_up(folder: str, run_id: str, sketches: dict, at: dt.datetime, settings: DedupeSettings) -> int:
    """Copies of earlier articles found among ``sketches`` (id -> Sketch), as ``LookUpEarlier`` finds them."""
    by_partition: dict[str, list] = {}
    for article_id, s in sketches.items():
        for key in band_keys(s.signature, settings):
            by_partition.setdefault(band_partition(key), []).append((key, article_id))
    candidates = [pair for p, keys in sorted(by_partition.items()) for pair in earlier_candidates(folder, p, keys, run_id)]
    wanted: dict[str, set] = {}
    for old_id, _ in candidates:
        wanted.setdefault(sketch_partition(old_id), set()).add(old_id)
    found = {e.article_id: e for p, ids in sorted(wanted.items()) for e in wanted_sketches(folder, p, ids, run_id)}
    copies = {new_id for old_id, new_id in candidates if old_id in found}
    return sum(
        best_earlier(sketches[n], None, at, [found[o] for o, m in candidates if m == n], settings) is not None for n in copies
    )


def runs(layout: str, count: int, per_run: int, work: Path) -> list[tuple[int, float, int]]:
    """(files in the index, lookup seconds, copies found) after each run."""
    settings, rng = DedupeSettings(), random.Random(1)
    folder, results, stories = str(work / layout / "dedupe"), [], []
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    small_run = index.SMALL_RUN if layout == "tiered" else 0
    with mock.patch.object(index, "SMALL_RUN", small_run):
        for number in range(count):
            run_id, at = f"run{number:04d}", start + dt.timedelta(hours=number)
            sketches = {}
            for i in range(per_run):
                if stories and rng.random() < 0.3:
                    text = "\n\n".join(syndicate(rng, rng.choice(stories)))
                else:
                    _, paragraphs = story(rng)
                    stories.append(paragraphs)
                    text = "\n\n".join(paragraphs)
                sketches[f"{run_id}-{i:03d}"] = sketch(text, settings)
            index._sorted_file.cache_clear()  # a run is a new process
            started = time.process_time()  # CPU time: the machine is shared; the files are in the page cache
            copies = look_up(folder, run_id, sketches, at, settings) if number else 0
            seconds = time.process_time() - started
            files: dict[tuple[str, str], list] = {}
            for article_id, s in sketches.items():
                for table, partition, row in index_rows(indexed(article_id, article_id, at, s, at), settings):
                    files.setdefault((table, run_partition(partition, len(sketches))), []).append(row)
            for (table, partition), rows in files.items():
                write_index_file(folder, table, partition, run_id, rows)
            if layout == "tiered":
                tidy(folder, run_id)
            results.append((len(list(Path(folder).rglob("*.parquet"))), seconds, copies))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--per-run", type=int, default=10)
    parser.add_argument("--layout", nargs="+", default=["tiered", "partitioned"], choices=["tiered", "partitioned"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        for layout in args.layout:
            results = runs(layout, args.runs, args.per_run, Path(work))
            print(f"\n== {layout}: {args.runs} append runs of {args.per_run} articles")
            for number in sorted({1, 2, 10, 50, args.runs} & set(range(1, args.runs + 1))):
                files, seconds, copies = results[number - 1]
                print(f"run {number:>4}: {files:>6} index files, lookup {seconds * 1000:8.1f} ms, {copies} copies found")
            added = max(b[0] - a[0] for a, b in zip(results, results[1:])) if len(results) > 1 else results[0][0]
            print(f"most files one run added: {added}; files after the last run: {results[-1][0]}")
            if len(results) >= 2:
                print(f"lookup run {args.runs} / run 2: {results[-1][1] / results[1][1]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
