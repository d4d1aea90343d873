"""Scale benchmark: the whole pipeline on synthetic corpora, against the same libraries in a plain loop.

    python -m bench.scale_bench [--sizes 1000 10000 100000] [--workers 1 2] [--corpora /tmp/news-bench]

For each size N (a corpus from tests/support/corpus.py, 30% syndicated copies, generated once and kept):
- plain loop: read, parse (trafilatura / text heuristics), clean, MinHash and spaCy NER (the pipeline's batches)
  over the same documents in one Python process: docs/s per stage and in all;
- the pipeline (DirectRunner: in-memory for 1 worker, multi_processing for more), in a child process:
  end-to-end docs/s, docs/s per stage from the runner's per-step execution time, peak RSS of the
  whole process tree (sampled every 0.2 s), dedupe's candidate and verified pairs per document;
- with ``--dask``, the pipeline on the DaskRunner, a LocalCluster of the largest ``--workers`` worker
  processes started by the child (no metrics there: its counts are read back from the files), and
  whether its rows are the DirectRunner's (a digest of the articles', duplicates' and errors' ids);
and the ratios: pipeline / plain loop (1 worker), 2 workers / 1 worker, Dask / DirectRunner at as many
workers, peak RSS between sizes.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STAGES = ("ReadFiles", "Parse", "Clean", "Dedupe", "Tag", "Write")


def corpus(size: int, corpora: Path) -> Path:
    from tests.support.corpus import generate

    folder = corpora / f"n{size}" / "docs"
    if not (corpora / f"n{size}" / "docs.truth.json").exists():
        generate(size, folder, seed=size)
    return folder


def plain_loop(folder: Path, limit: int | None = None) -> dict[str, float]:
    """Seconds per stage for the libraries alone over the corpus (or its first ``limit`` documents, taken
    evenly across its files: the loop's cost per document does not depend on the corpus size, and at 100k
    the full loop would take over an hour)."""
    from transforms.clean import clean_article
    from transforms.dedupe.fingerprints import DedupeSettings, content_hash, sketch
    from transforms.entities import EntitySettings, load_model
    from transforms.parse import HTML_MODULES, parse_document
    from transforms.parse.limit import STARTUP_SECONDS, within_time_limit
    from transforms.read import read_documents
    from transforms.schema import RawDocument

    seconds: dict[str, float] = collections.Counter()
    started = time.perf_counter()
    paths = sorted(folder.iterdir())
    if limit:  # every k-th file, so text, HTML and JSONL keep their shares
        paths = paths[:: max(1, len(paths) * 3 // (limit * 2))]
    documents = [r for p in paths for r in read_documents(str(p), p.read_bytes()) if isinstance(r, RawDocument)][:limit]
    seconds["read"] = time.perf_counter() - started
    # The extraction's child process started before the clock, as the model is loaded before NER's: its
    # start (~1 s, once per worker) is no cost per document, and counted here it read as parse 2.7x slower.
    within_time_limit(STARTUP_SECONDS, len, "", preload=("transforms.parse.html", *HTML_MODULES))
    started = time.perf_counter()
    articles = [parse_document(d) for d in documents]
    seconds["parse"] = time.perf_counter() - started
    started = time.perf_counter()
    articles = [clean_article(a) for a in articles]
    seconds["clean"] = time.perf_counter() - started
    started = time.perf_counter()
    settings = DedupeSettings()
    _ = [(content_hash(a.text), sketch(a.text, settings)) for a in articles]
    seconds["minhash"] = time.perf_counter() - started
    entity_settings = EntitySettings()
    nlp = load_model(entity_settings.model)
    started = time.perf_counter()
    _ = [len(doc.ents) for doc in nlp.pipe((a.text for a in articles), batch_size=entity_settings.batch_size)]
    seconds["ner"] = time.perf_counter() - started
    seconds["documents"] = len(documents)
    return seconds


def tree_rss(pid: int) -> int:
    import psutil

    try:
        process = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])
    except psutil.Error:
        return 0


def pipeline_run(folder: Path, workers: int, runner: str = "direct") -> dict:
    """Run the pipeline in a child process; wall time, peak RSS of its process tree, per-stage msecs."""
    with tempfile.TemporaryDirectory() as output:
        args = [sys.executable, __file__, "--child", str(folder), output, str(workers), runner]
        started = time.perf_counter()
        child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
        peak, done = 0, threading.Event()

        def sample():
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss(child.pid))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample)
        sampler.start()
        out, _ = child.communicate()
        done.set()
        sampler.join()
        if child.returncode:
            raise RuntimeError(f"pipeline failed ({child.returncode})")
        result = json.loads(out.strip().splitlines()[-1])
        result.update(seconds=time.perf_counter() - started, peak_rss=peak)
        return result


def rows_digest(output: str) -> tuple[dict[str, int], str]:
    """Rows per table as written, and a digest of which documents became articles, duplicates of which
    cluster, and errors: equal digests, the same outcome for every document."""
    import hashlib
    import os

    import pyarrow.dataset as ds

    columns = {"articles": ["article_id"], "duplicates": ["article_id", "canonical_article_id"], "errors": ["source_path"]}
    rows, outcome = {}, {}
    for table, names in columns.items():
        folder = f"{output}/{table}"  # no folder: the job wrote no row there (the command writes an empty table)
        found = ds.dataset(folder, partitioning="hive").to_table(columns=names).to_pylist() if os.path.isdir(folder) else []
        rows[table] = len(found)
        outcome[table] = sorted(repr(sorted(r.items())) for r in found)
    return rows, hashlib.sha256(json.dumps(outcome).encode()).hexdigest()[:12]


def child(folder: str, output: str, workers: int, runner: str) -> None:
    """In the child: run the pipeline, print per-stage msecs, counts and the rows' digest as JSON."""
    import contextlib

    import apache_beam as beam

    from pipelines import batch
    from pipelines.adapter import adapted_runner
    from pipelines.checks import DASK_RUNNER
    from pipelines.options import NewsPipelineOptions
    from transforms.schema import DEDUPE, WRITE
    from transforms.stage import CANDIDATE_PAIRS, VERIFIED_PAIRS

    args = ["--input", f"{folder}/*", "--output", output]
    with contextlib.ExitStack() as stack:
        if runner == "dask":
            from distributed import LocalCluster

            cluster = stack.enter_context(
                LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None)
            )
            args += [f"--runner={DASK_RUNNER}", f"--dask_client_address={cluster.scheduler_address}"]
        elif workers > 1:
            args += [f"--direct_num_workers={workers}", "--direct_running_mode=multi_processing"]
        options = NewsPipelineOptions(args)
        pipeline = beam.Pipeline(runner=adapted_runner(options), options=options)
        batch.build(pipeline, options, "bench", output)
        result = pipeline.run()
        result.wait_until_finish()
    msecs: dict[str, int] = collections.Counter()
    counts: dict[str, int] = collections.Counter()
    rows, digest = rows_digest(output)
    if runner == "dask":  # no metrics
        print(json.dumps({"msecs": msecs, "counts": rows, "digest": digest}))
        return
    for counter in result.monitoring_metrics().query()["counters"]:
        name = counter.key.metric.name
        if name == "metric:pardo_execution_time:process_bundle_msecs:v1" and counter.key.step:
            msecs[counter.key.step.split("/")[0]] += counter.committed or 0
        elif counter.key.metric.namespace == WRITE or (counter.key.metric.namespace, name) in (
            (DEDUPE, CANDIDATE_PAIRS),
            (DEDUPE, VERIFIED_PAIRS),
        ):
            counts[name] += counter.committed or 0
    print(json.dumps({"msecs": msecs, "counts": counts, "digest": digest}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--corpora", type=Path, default=Path(tempfile.gettempdir()) / "news-bench")
    parser.add_argument("--plain-limit", type=int, help="time the plain loop on this many documents only")
    parser.add_argument("--dask", action="store_true", help="also run on the DaskRunner (LocalCluster, max --workers)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]), args.child[3])
        return 0

    peaks, candidates = {}, {}
    for size in args.sizes:
        folder = corpus(size, args.corpora)
        loop = plain_loop(folder, args.plain_limit)
        loop_n = loop.pop("documents")
        loop_total = sum(loop.values()) / loop_n  # seconds per document
        n = size  # documents in the corpus
        print(f"\n== N = {size} ({n} documents, {sum(p.stat().st_size for p in folder.iterdir()) / 1e6:.1f} MB)")
        print(
            f"plain loop ({loop_n} docs)  "
            + "  ".join(f"{k} {loop_n / s:7.1f}" for k, s in loop.items())
            + f"  | all {1 / loop_total:6.1f} docs/s"
        )
        runs = {}
        for workers in args.workers:
            run = runs[workers] = pipeline_run(folder, workers)
            stages = "  ".join(
                f"{s} {n / (run['msecs'].get(s, 0) / 1000):7.1f}" if run["msecs"].get(s) else f"{s} -" for s in STAGES
            )
            counts = run["counts"]
            print(
                f"pipeline {workers}w  end-to-end {n / run['seconds']:6.1f} docs/s ({run['seconds']:.0f} s), "
                f"peak RSS {run['peak_rss'] / 2**20:6.0f} MiB; articles {counts.get('articles')}, "
                f"duplicates {counts.get('duplicates', 0)}, errors {counts.get('errors', 0)}"
            )
            print(f"   per stage (docs per second of stage time, summed over workers): {stages}")
            print(
                f"   dedupe: {counts.get('candidate_pairs', 0)} candidate pairs ({counts.get('candidate_pairs', 0) / n:.2f} "
                f"per document), {counts.get('verified_pairs', 0)} verified ({counts.get('verified_pairs', 0) / n:.2f})"
            )
            candidates[size] = counts.get("candidate_pairs", 0) / n
        peaks.update({(size, workers): run["peak_rss"] for workers, run in runs.items()})
        if 1 in runs:
            print(f"ratio pipeline 1w / plain loop: {loop_total * n / runs[1]['seconds']:.2f}")
            if 2 in runs:
                print(f"ratio 2 workers / 1 worker:     {runs[1]['seconds'] / runs[2]['seconds']:.2f}")
        if args.dask:
            workers = max(args.workers)
            dask = pipeline_run(folder, workers, "dask")
            direct = runs[workers]
            print(
                f"dask {workers}w  end-to-end {n / dask['seconds']:6.1f} docs/s ({dask['seconds']:.0f} s), peak RSS "
                f"{dask['peak_rss'] / 2**20:6.0f} MiB; rows {dask['counts']}; the DirectRunner's rows: "
                f"{'yes' if dask['digest'] == direct['digest'] else 'NO'}"
            )
            print(f"ratio dask / direct at {workers}w:   {direct['seconds'] / dask['seconds']:.2f}")
    for workers in args.workers:
        sizes = sorted(size for size, w in peaks if w == workers)
        for small, large in zip(sizes, sizes[1:]):
            print(f"peak RSS {workers}w N={large} / N={small}: {peaks[large, workers] / peaks[small, workers]:.2f}")
    sizes = sorted(candidates)
    for small, large in zip(sizes, sizes[1:]):
        if candidates[small]:
            print(f"candidate pairs per document N={large} / N={small}: {candidates[large] / candidates[small]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
