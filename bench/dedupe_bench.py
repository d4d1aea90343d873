"""Dedupe benchmark: pair quality on the syndication dev corpus beside datasketch, and the stage's cost with
an index of earlier articles.

    python -m bench.dedupe_bench [--quality] [--sizes 10000 100000] [--index-size 100000] [--bands 40 3]
                                 [--work /tmp/dedupe-bench] [--corpus ../shared/eval/syndication-dev-2]
    python -m bench.dedupe_bench --flood 5000

Quality (needs ../shared/eval/syndication-dev-2, or NEWS_SHARED): every file parsed and cleaned by the
project's functions (a file that fails is a cluster of its own, as in a run), then
- this project: ``DeduplicateArticles`` on Beam's in-process runner, and the same corpus as two append runs
  (even-numbered files, then odd ones, with an index between them);
- datasketch ``MinHashLSH`` (128 permutations, every document inserted and queried, what it returns
  linked, connected components) at its default threshold (0.9) and at the best of 0.3 ... 0.9, with the
  project's normalised 3- and 5-word shingles;
pair precision / recall / F1 over all pairs of the corpus's files against truth.json.

Cost: for each size N, N synthetic articles (Zipf-word stories, 30% syndicated copies made by
tests/support/corpus.py's ``syndicate``, half of them copies of indexed stories) through ``DeduplicateArticles`` with an index of ``--index-size``
earlier articles (built once per banding under ``--work``), in a child process that reads the articles
from files: docs/s of the stage and peak RSS of the process.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import itertools
import json
import pickle
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
CHUNK = 1000  # articles per input file of the pipeline


def child_result(*args: str) -> dict:
    """Run this bench in a child process (its own peak RSS) and return the JSON its last line prints."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.dedupe_bench", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def cleaned_dev_corpus(corpus: Path | None = None) -> tuple[list, dict[str, str]]:
    """The corpus's files parsed and cleaned, and its truth (default: ../shared/eval/syndication-dev-2)."""
    from tests.support.syndication import CORPUS
    from transforms.clean import clean_article
    from transforms.parse import parse_document
    from transforms.read import read_documents

    corpus, articles = corpus or CORPUS, []
    for path in sorted((corpus / "docs").glob("*.txt")):
        [raw] = read_documents(str(path), path.read_bytes())  # one text document per file
        try:
            articles.append(clean_article(parse_document(raw)))
        except ValueError:  # an error row in a run: a cluster of its own
            continue
    return articles, json.loads((corpus / "truth.json").read_text())


def write_chunks(articles: list, folder: Path) -> list[str]:
    """The articles as pickled files of ``CHUNK`` each: what the pipeline reads."""
    folder.mkdir(parents=True, exist_ok=True)
    chunks = [str(folder / f"articles-{i // CHUNK:05d}.pickle") for i in range(0, len(articles), CHUNK)]
    for i, path in enumerate(chunks):
        Path(path).write_bytes(pickle.dumps(articles[i * CHUNK : (i + 1) * CHUNK]))
    return chunks


def run_dedupe(articles: list, settings, place=None) -> dict[str, str]:
    """article id -> cluster id, from ``DeduplicateArticles`` on the in-process runner."""
    with tempfile.TemporaryDirectory() as folder:
        return run_dedupe_files(write_chunks(articles, Path(folder) / "articles"), settings, place)


def run_dedupe_files(chunks: list[str], settings, place=None) -> dict[str, str]:
    """``run_dedupe`` over articles pickled in files (the process never holds them all)."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.adapter import adapted_runner
    from transforms.dedupe import DeduplicateArticles

    with tempfile.TemporaryDirectory() as folder:
        options = PipelineOptions([])
        with beam.Pipeline(runner=adapted_runner(options), options=options) as p:
            # Read from files as a run's read stage would: ``beam.Create`` of every article would pickle them
            # all into the pipeline's definition (bz2-compressed), a cost of the benchmark, not of dedupe.
            loaded = p | beam.Create(chunks) | beam.FlatMap(lambda path: pickle.loads(Path(path).read_bytes()))
            out = loaded | DeduplicateArticles(settings, f"{folder}/parcels", place)
            verdicts = (out.articles, out.duplicates) | beam.Flatten() | beam.Map(lambda r: f"{r.article_id}\t{r.cluster_id}")
            verdicts | beam.io.WriteToText(f"{folder}/verdicts")
        lines = [line for path in Path(folder).glob("verdicts*") for line in path.read_text().splitlines()]
    return dict(line.split("\t") for line in lines)


def by_file(articles: list, labels: dict[str, str]) -> dict[str, str]:
    return {Path(a.source_path).name: labels[a.article_id] for a in articles if a.article_id in labels}


def two_runs(articles: list, settings) -> dict[str, str]:
    """Even-numbered files, then odd ones with the first run's index: the clusters both runs wrote."""
    from transforms.dedupe import IndexPlace, index_folder

    now = dt.datetime.now(dt.UTC)
    even = [a for a in articles if int(Path(a.source_path).stem[-1]) % 2 == 0]
    odd = [a for a in articles if int(Path(a.source_path).stem[-1]) % 2 == 1]
    with tempfile.TemporaryDirectory() as state:
        folder = index_folder(state)
        labels = run_dedupe(even, settings, IndexPlace(folder, "run1", now, look_up=False))
        labels.update(run_dedupe(odd, settings, IndexPlace(folder, "run2", now, look_up=True)))
    return labels


def datasketch_clusters(articles: list, threshold: float, words: int, num_perm: int = 128) -> dict[str, str]:
    from datasketch import MinHash, MinHashLSH

    from transforms.dedupe.clusters import ConnectedComponents
    from transforms.dedupe.fingerprints import normalise_words, shingles

    lsh, hashes = MinHashLSH(threshold=threshold, num_perm=num_perm), {}
    for a in articles:
        m = MinHash(num_perm=num_perm, seed=1)
        m.update_batch([g.encode("utf-8") for g in shingles(normalise_words(a.text), words)])
        hashes[a.article_id] = m
        lsh.insert(a.article_id, m)
    components = ConnectedComponents()  # what the stage clusters with
    edges = components.create_accumulator()
    for i, m in hashes.items():
        for other in lsh.query(m):
            edges = components.add_input(edges, (i, other))
    roots = components.extract_output(edges)
    return {i: roots.get(i, i) for i in hashes}


def quality(corpus: Path, baselines: bool = True) -> dict:
    from tests.support.syndication import pair_scores
    from transforms.dedupe import DedupeSettings

    articles, gold = cleaned_dev_corpus(corpus)
    settings = dataclasses.replace(DedupeSettings(), horizon=36500 * 86400.0)
    report = {"files": len(gold), "cleaned": len(articles)}
    started = time.perf_counter()
    one_run = by_file(articles, run_dedupe(articles, settings))
    report["this project, one run"] = {**pair_scores(one_run, gold), "seconds": round(time.perf_counter() - started, 1)}
    cleaned_gold = {name: story for name, story in gold.items() if name in one_run}
    report["this project, one run, cleaned files only"] = pair_scores(one_run, cleaned_gold)
    two = by_file(articles, two_runs(articles, settings))
    report["this project, two append runs (even, then odd files)"] = pair_scores(two, gold)
    for words in (3, 5) if baselines else ():
        sweep = {t: pair_scores(by_file(articles, datasketch_clusters(articles, t, words)), gold) for t in THRESHOLDS}
        best = max(sweep, key=lambda t: (sweep[t]["f1"], -t))
        report[f"datasketch MinHashLSH default (0.9), {words}-word shingles"] = sweep[0.9]
        report[f"datasketch MinHashLSH best threshold ({best}, in-sample), {words}-word shingles"] = sweep[best]
    return report


# ------------------------------------------------------------------------------------------------- cost


VOCABULARY = [f"w{i}" for i in range(30_000)]
CUMULATIVE = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(VOCABULARY))))  # Zipf weights


def story(rng: random.Random) -> tuple[str, list[str]]:
    """Paragraphs of Zipf-distributed words. tests/support/corpus.py's stories are built from a few dozen
    sentence templates: unrelated ones share a median 14% of their word 3-grams (the dev corpus's unrelated
    pairs: 0%), which would make every cost here one of verifying template collisions."""
    paragraphs = []
    for _ in range(rng.randint(6, 10)):
        words = rng.choices(VOCABULARY, cum_weights=CUMULATIVE, k=rng.randint(40, 80))
        paragraphs.append(" ".join(words).capitalize() + ".")
    return "", paragraphs


def synthetic_articles(n: int, seed: int, earlier: list | None = None, copies: float = 0.3) -> list:
    """``n`` Articles of Zipf-word stories; a share are syndicated copies (half of them of ``earlier``)."""
    from tests.support.corpus import syndicate
    from transforms.schema import Article

    rng = random.Random(seed)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    made, originals = [], []
    for i in range(n):
        if originals and rng.random() < copies:
            pool = earlier if earlier and rng.random() < 0.5 else originals
            paragraphs, published = rng.choice(pool)
            paragraphs = syndicate(rng, paragraphs)
        else:
            _, paragraphs = story(rng)
            published = start + dt.timedelta(minutes=rng.randint(0, 6 * 24 * 60))
            originals.append((paragraphs, published))
        text = "\n\n".join(paragraphs)
        made.append(
            Article(
                f"s{seed}-{i:07d}",
                f"s{seed}-{i}.txt",
                None,
                None,
                None,
                (),
                published,
                "en",
                text,
                "text",
                word_count=len(text.split()),
            )
        )
    return made


def banded(bands: int, rows: int):
    """The default settings with this LSH banding."""
    from transforms.dedupe import DedupeSettings

    return dataclasses.replace(DedupeSettings(), bands=bands, rows=rows)


def build_index(size: int, folder: str, settings) -> list:
    """An index of ``size`` earlier articles, written as one run would; returns their (paragraphs, published)."""
    from transforms.dedupe.fingerprints import sketch
    from transforms.dedupe.index import index_rows, indexed, write_index_file

    rng = random.Random(1)
    start, stories, files = dt.datetime(2026, 1, 1, tzinfo=dt.UTC), [], {}
    for i in range(size):
        _, paragraphs = story(rng)
        published = start + dt.timedelta(minutes=rng.randint(0, 6 * 24 * 60))
        stories.append((paragraphs, published))
        entry = indexed(f"earlier-{i:07d}", f"earlier-{i:07d}", published, sketch("\n\n".join(paragraphs), settings))
        for table, partition, row in index_rows(entry, settings):
            files.setdefault((table, partition), []).append(row)
    for (table, partition), rows in files.items():
        write_index_file(folder, table, partition, "earlier", rows)
    return stories


def peak_rss() -> int:
    """This process's peak resident set, in bytes. Linux's ``VmHWM``, not ``ru_maxrss``: the latter survives
    ``exec``, so a child started by a parent that held the index reports the parent's peak."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child(articles_folder: str, folder: str, bands: str, rows: str) -> None:
    """In the child: the dedupe stage over the pickled articles with the index at ``folder``."""
    from transforms.dedupe import IndexPlace

    place = IndexPlace(folder, "bench", dt.datetime.now(dt.UTC), look_up=True)
    started = time.perf_counter()
    labels = run_dedupe_files(
        sorted(str(p) for p in Path(articles_folder).glob("*.pickle")), banded(int(bands), int(rows)), place
    )
    seconds = time.perf_counter() - started
    copies_of_earlier = sum(1 for c in labels.values() if c.startswith("earlier-"))
    peak = peak_rss()
    print(json.dumps({"seconds": seconds, "verdicts": len(labels), "copies of earlier": copies_of_earlier, "peak_rss": peak}))


def cost(sizes: list[int], index_size: int, work: Path, settings) -> dict:
    # an index built with other bands would share no band key with the run: one index per banding
    built = work / f"index-{index_size}-{settings.bands}x{settings.rows}"
    folder, marker = str(built / "dedupe"), built / "stories.pickle"
    if not marker.exists():
        started = time.perf_counter()
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_bytes(pickle.dumps(build_index(index_size, folder, settings)))
        print(f"index of {index_size} built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    earlier = pickle.loads(marker.read_bytes())
    report = {}
    for n in sizes:
        articles_folder = work / f"articles-{n}"
        shutil.rmtree(articles_folder, ignore_errors=True)
        write_chunks(synthetic_articles(n, seed=n, earlier=earlier), articles_folder)
        result = child_result("--child", str(articles_folder), folder, str(settings.bands), str(settings.rows))
        report[f"{n} documents, index of {index_size}, {settings.bands} x {settings.rows} bands"] = {
            "docs/s": round(n / result["seconds"]),
            "seconds": round(result["seconds"], 1),
            "peak RSS MiB": round(result["peak_rss"] / 2**20),
            "verdicts": result["verdicts"],
            "copies of indexed articles found": result["copies of earlier"],
        }
    return report


# ------------------------------------------------------------------------------------------------ flood


def short_article(i: int, text: str, published: dt.datetime):
    from transforms.schema import Article

    return Article(f"f-{i:07d}", f"f-{i}.txt", None, None, None, (), published, "en", text, "text", word_count=len(text.split()))


def flood_articles(n: int, near_identical: bool) -> list:
    """``n`` short articles: templated teasers (tests/support/corpus.py), near-identical, or as many words of
    Zipf-distributed vocabulary each (distinct)."""
    from tests.support.corpus import TEASER, teaser

    rng, start = random.Random(n), dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    words = len(TEASER.split())
    made = []
    for i in range(n):
        if near_identical:
            text = teaser(i, rng)
        else:
            text = " ".join(rng.choices(VOCABULARY, cum_weights=CUMULATIVE, k=words)).capitalize() + "."
        made.append(short_article(i, text, start + dt.timedelta(minutes=i)))
    return made


def flood_child(articles_folder: str) -> None:
    """In the child: the dedupe stage over the pickled articles into an empty index, as a first run."""
    from transforms.dedupe import DedupeSettings, IndexPlace, index_folder

    with tempfile.TemporaryDirectory() as state:
        place = IndexPlace(index_folder(state), "bench", dt.datetime.now(dt.UTC), look_up=False)
        started = time.perf_counter()
        labels = run_dedupe_files(sorted(str(p) for p in Path(articles_folder).glob("*.pickle")), DedupeSettings(), place)
        seconds = time.perf_counter() - started
    clusters = len(set(labels.values()))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime  # on a shared machine, wall seconds measure the neighbours too
    print(json.dumps({"seconds": seconds, "cpu": cpu, "verdicts": len(labels), "clusters": clusters, "peak_rss": peak_rss()}))


def flood(n: int, work: Path) -> dict:
    """Near-identical and distinct short documents, each kind in its own child process."""
    report = {}
    for kind, near in (("distinct", False), ("near-identical", True)):
        folder = work / f"flood-{kind}-{n}"
        shutil.rmtree(folder, ignore_errors=True)
        write_chunks(flood_articles(n, near), folder)
        result = child_result("--flood-child", str(folder))
        report[f"{n} {kind} short documents"] = {
            "seconds": round(result["seconds"], 1),
            "CPU seconds of the process": round(result["cpu"], 1),
            "peak RSS MiB": round(result["peak_rss"] / 2**20),
            "verdicts": result["verdicts"],
            "clusters": result["clusters"],
        }
    distinct, near = (report[f"{n} {kind} short documents"]["peak RSS MiB"] for kind in ("distinct", "near-identical"))
    report["peak ratio, near-identical / distinct"] = round(near / distinct, 2)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quality", action="store_true", help="only the quality figures")
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--index-size", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "dedupe-bench")
    parser.add_argument(
        "--bands", type=int, nargs=2, metavar=("BANDS", "ROWS"), help="cost with this LSH banding (default: the project's)"
    )
    parser.add_argument("--corpus", type=Path, help="the quality corpus (default: ../shared/eval/syndication-dev-2)")
    parser.add_argument("--no-baselines", action="store_true", help="quality of this project only, without datasketch")
    parser.add_argument("--flood", type=int, metavar="N", help="only the flood figures: N near-identical vs N distinct")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--flood-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.flood_child:
        flood_child(args.flood_child)
        return
    if args.flood:
        args.work.mkdir(parents=True, exist_ok=True)
        print(json.dumps({"flood": flood(args.flood, args.work)}, indent=1))
        return
    from tests.support.syndication import CORPUS

    corpus = args.corpus or CORPUS
    report = {}
    if corpus.exists():
        report["quality"] = quality(corpus, baselines=not args.no_baselines)
    if not args.quality and args.sizes:
        print(json.dumps(report, indent=1), flush=True)  # the quality figures while the cost runs
        args.work.mkdir(parents=True, exist_ok=True)
        from transforms.dedupe import DedupeSettings

        settings = banded(*args.bands) if args.bands else DedupeSettings()
        report["cost"] = cost(args.sizes, args.index_size, args.work, settings)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
