"""The same pipeline on every runner reachable here gives the same Parquet rows as the DirectRunner.

Services are started by the tests on 127.0.0.1 and stopped after: Beam's Python job service (the Fn API
path that Flink, Spark and Dataflow use), its worker pool, and a Dask scheduler with two workers.

The corpus (``matrix_corpus``) is small but holds every kind of input and every outcome, so that each
branch of the graph runs on each runner: page dumps, HTML pages and JSONL lines with syndicated copies, a
feed file read as input, a feed polled (``--feed``: the feeds table and the feed state), a WARC crawl (its
requests, metadata, revisit, 404 and image counted as skips, a damaged member an error row), and inputs
that fail at reading and at parsing. Every table is compared row for row, and the run summary's counts.
"""

from __future__ import annotations

import html
import random
import re
import shutil
import sys
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from tests.support import warcs
from tests.support.cli import ROOT, run_command
from tests.support.corpus import generate, story, syndicate, wire_copy
from tests.support.services import free_port, service
from transforms.write import TABLES

RUN_DEPENDENT = {"feeds": {"fetched_at"}}  # when the feed was read: the only column two runs may not share


def dataset_rows(output) -> dict[str, list]:
    """Every table's rows, sorted, as comparable tuples (without the columns that say when the run was)."""
    rows = {}
    for table in TABLES:
        data = ds.dataset(output / table, partitioning="hive").to_table().to_pylist()
        dropped = RUN_DEPENDENT.get(table, set())
        rows[table] = sorted(repr(sorted((k, v) for k, v in row.items() if k not in dropped)) for row in data)
    return rows


def accounting(stdout: str) -> dict[str, int]:
    """The summary's counts (documents read, written, skipped by kind, feeds, ...): its first block of
    "label  number" rows. The stage table below it is left out: the DaskRunner collects no metrics, and the
    files its summary reads the counts back from do not hold every stage's own in and out (docs/runners.md)."""
    block = stdout.split("\n\n", 1)[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\S.*?)\s{2,}(\d+)$", block, re.M)}


def rss(title: str, items: list[tuple[str, list[str]]], host: str) -> str:
    entries = "".join(
        f"<item><title>{html.escape(headline)}</title><link>https://{host}/{n}.html</link><guid>{host}-{n}</guid>"
        f"<pubDate>Tue, 16 Mar 2021 0{n}:00:00 GMT</pubDate>"
        f"<description>{html.escape(''.join(f'<p>{p}</p>' for p in paragraphs))}</description></item>"
        for n, (headline, paragraphs) in enumerate(items)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{entries}</channel></rss>'


def matrix_corpus(folder: Path) -> tuple[list[str], int]:
    """The runners' input, as command-line arguments, and how many documents it holds (each one ends as an
    article, a duplicate or an error row; the WARC's other records are counted skips)."""
    docs = folder / "docs"
    documents = len(generate(24, docs, seed=11, jsonl_per_file=4))  # dumps, pages, JSONL lines; ~30% copies
    rng = random.Random(11)
    first, second = story(rng), story(rng)
    (docs / "wire.xml").write_text(rss("Wire", [first, (first[0], syndicate(rng, first[1])), second], "wire.example"))
    (folder / "local.rss").write_text(rss("Local", [(second[0], syndicate(rng, second[1])), story(rng)], "local.example"))
    crawl = warcs.with_corrupt_member(warcs.crawl())  # the seed pages again, as a crawler archived them
    (docs / "crawl.warc.gz").write_bytes(crawl.data)
    documents += 3 + 2 + crawl.documents + crawl.errors + 5  # the feed file, the polled feed, the crawl, the seeds
    (docs / "empty.txt").write_bytes(b"")
    (docs / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (docs / "notes.docx").write_bytes(b"PK\x03\x04 not a news document")
    (docs / "corrupt.txt.gz").write_bytes(b"\x1f\x8b\x08\x00not really gzip")
    (docs / "broken.jsonl").write_text('{"text": "fine words"}\n[1, 2]\n')
    (docs / "tiny.html").write_text("<html><body><div><p>tiny</div></span>")
    documents += 7
    inputs = ["--input", str(docs / "*"), "--input", str(ROOT / "seeds" / "*"), "--feed", str(folder / "local.rss")]
    return [*inputs, "--write_mode", "overwrite"], documents


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return matrix_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def inputs(corpus):
    return corpus[0]


def run_on(runner_args: list[str], *args: str):
    """The command, in-process (the runner's own workers and services are what is tested, not the launch)."""
    return run_command(*args, *runner_args)


@pytest.fixture(scope="module")
def direct(inputs, tmp_path_factory):
    output = tmp_path_factory.mktemp("direct")
    result = run_on([], *inputs, "--output", str(output))
    assert result.returncode == 0, result.stderr[-3000:]
    return output, result


@pytest.fixture(scope="module")
def direct_output(direct):
    return direct[0]


@pytest.fixture(scope="module")
def direct_rows(direct, corpus):
    output, result = direct
    rows = dataset_rows(output)
    counts = accounting(result.stdout)
    documents = len(rows["articles"]) + len(rows["duplicates"]) + len(rows["errors"])
    assert documents == counts["documents read"] == corpus[1]  # every document, once
    assert rows["duplicates"] and rows["feeds"] and rows["entities"]
    stages = {stage for stage in ("read", "parse") for row in rows["errors"] if f"('stage', '{stage}')" in row}
    assert stages == {"read", "parse"}  # errors at reading and at parsing
    assert any(label.startswith("skipped at read: warc_") for label in counts)  # the crawl's other records
    return rows, counts


def assert_same_as_direct(direct_rows, output, result, metrics: bool = True):
    """The same rows in every table, and the same accounting; a runner that keeps no metrics (``metrics``
    False: the DaskRunner) reports only what it reads back from the files, each figure the same."""
    assert result.returncode == 0, result.stderr[-3000:]
    expected, counts = direct_rows
    rows = dataset_rows(output)
    for table in TABLES:
        assert len(rows[table]) == len(expected[table]), table  # nothing silently lost
        assert rows[table] == expected[table], table
    reported = accounting(result.stdout)  # the same documents read, skipped, written
    if metrics:
        assert reported == counts
    else:
        assert "documents read" in reported and reported == {label: counts[label] for label in reported}


def runner_args(name: str, job_service: str = "", dask_scheduler: str = "") -> list[str]:
    return {
        "multiprocessing": ["--direct_num_workers=2", "--direct_running_mode=multi_processing"],
        "portable": ["--runner=PortableRunner", f"--job_endpoint={job_service}", "--environment_type=LOOPBACK"],
        "dask": ["--runner=apache_beam.runners.dask.dask_runner.DaskRunner", f"--dask_client_address={dask_scheduler}"],
    }[name]


def test_direct_multiprocessing(inputs, direct_rows, tmp_path):
    result = run_on(runner_args("multiprocessing"), *inputs, "--output", str(tmp_path))
    assert_same_as_direct(direct_rows, tmp_path, result)


def test_portable_runner_with_a_worker_pool(inputs, direct_rows, tmp_path, job_service):
    """The job service with its SDK workers in a worker pool (EXTERNAL), as a cluster runs them; the
    append below runs them in this process (LOOPBACK)."""
    args = ["--runner=PortableRunner", f"--job_endpoint={job_service}", "--environment_type=EXTERNAL"]
    port = free_port()
    with service(sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main", f"--service_port={port}", port=port):
        args.append(f"--environment_config=localhost:{port}")
        assert_same_as_direct(direct_rows, tmp_path, run_on(args, *inputs, "--output", str(tmp_path)))


def test_dask_runner(inputs, direct_rows, tmp_path, dask_scheduler):
    result = run_on(runner_args("dask", dask_scheduler=dask_scheduler), *inputs, "--output", str(tmp_path))
    assert_same_as_direct(direct_rows, tmp_path, result, metrics=False)


# ---------------------------------------------------------------- append runs: the dedupe index across runs


@pytest.fixture(scope="module")
def later_inputs(tmp_path_factory):
    """A later run's documents: new stories, and wire copies of the seeds' articles as the first run wrote
    them (a dateline added, the last paragraph dropped)."""
    folder = tmp_path_factory.mktemp("later")
    generate(10, folder / "docs", seed=12)
    for seed in sorted((ROOT / "seeds").glob("*.txt")):
        (folder / "docs" / f"copy-{seed.name}").write_text(wire_copy(seed))
    # The seeds are dated 2021: look back far enough (the default horizon is a week of event time).
    return ["--input", str(folder / "docs" / "*"), "--write_mode", "append", "--dedupe-horizon", "36500d"]


def appended(direct_output, later_inputs, tmp_path, runner: list[str]) -> tuple:
    """The first run's committed dataset, copied, then the later run appended to it on a runner."""
    output = tmp_path / "appended"
    shutil.copytree(direct_output, output, symlinks=True)
    return output, run_on(runner, *later_inputs, "--output", str(output))


@pytest.fixture(scope="module")
def direct_appended_rows(direct_output, later_inputs, tmp_path_factory):
    output, result = appended(direct_output, later_inputs, tmp_path_factory.mktemp("direct-appended"), [])
    assert result.returncode == 0, result.stderr[-3000:]
    rows = dataset_rows(output)
    earlier = {row["article_id"] for row in ds.dataset(direct_output / "articles").to_table(columns=["article_id"]).to_pylist()}
    copies = [
        r
        for r in ds.dataset(output / "duplicates").to_table().to_pylist()
        if r["source_path"].rsplit("/", 1)[1].startswith("copy-")
    ]
    assert len(copies) >= 4 and all(r["canonical_article_id"] in earlier for r in copies)  # copies of the first run's seeds
    return rows, accounting(result.stdout)


@pytest.mark.xdist_group("tests/test_runners.py:append")  # the other half of the matrix, on the other worker
@pytest.mark.parametrize("runner", ["multiprocessing", "portable", "dask"])
def test_append_with_the_dedupe_index(runner, direct_output, later_inputs, direct_appended_rows, tmp_path, request):
    services = {"portable": "job_service", "dask": "dask_scheduler"}
    address = request.getfixturevalue(services[runner]) if runner in services else ""
    args = runner_args(runner, **({services[runner]: address} if address else {}))
    output, result = appended(direct_output, later_inputs, tmp_path, args)
    # Every count here, Dask's too: the later run's documents all end in the files (no skip to count).
    assert_same_as_direct(direct_appended_rows, output, result)
