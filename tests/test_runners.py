"""The same pipeline on every runner reachable here gives the same Parquet rows as the DirectRunner.

Services are started by the tests on 127.0.0.1 and stopped after: Beam's Python job service (the Fn API
path that Flink, Spark and Dataflow use), its worker pool, and a Dask scheduler with two workers.
"""

from __future__ import annotations

import shutil
import sys

import pyarrow.dataset as ds
import pytest

from tests.support.cli import ROOT, run_cli
from tests.support.corpus import generate, wire_copy
from tests.support.services import free_port, service

TABLES = ("articles", "entities", "duplicates", "errors")


def dataset_rows(output) -> dict[str, list]:
    """Every table's rows, sorted, as comparable tuples."""
    rows = {}
    for table in TABLES:
        data = ds.dataset(output / table, partitioning="hive").to_table().to_pylist()
        rows[table] = sorted(repr(sorted(row.items())) for row in data)
    return rows


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("corpus") / "docs"
    generate(250, corpus, seed=11)
    return ["--input", str(corpus / "*"), "--input", str(ROOT / "seeds" / "*")]


@pytest.fixture(scope="module")
def direct_output(inputs, tmp_path_factory):
    output = tmp_path_factory.mktemp("direct")
    result = run_cli(*inputs, "--output", str(output))
    assert result.returncode == 0, result.stderr[-3000:]
    return output


@pytest.fixture(scope="module")
def direct_rows(direct_output):
    rows = dataset_rows(direct_output)
    assert len(rows["articles"]) + len(rows["duplicates"]) + len(rows["errors"]) == 255
    return rows


def assert_same_as_direct(direct_rows, output, result):
    assert result.returncode == 0, result.stderr[-3000:]
    rows = dataset_rows(output)
    for table in TABLES:
        assert len(rows[table]) == len(direct_rows[table]), table  # nothing silently lost
        assert rows[table] == direct_rows[table], table


def test_direct_multiprocessing(inputs, direct_rows, tmp_path):
    args = ("--direct_num_workers=2", "--direct_running_mode=multi_processing")
    assert_same_as_direct(direct_rows, tmp_path, run_cli(*inputs, *args, "--output", str(tmp_path)))


@pytest.mark.parametrize("environment", ["LOOPBACK", "EXTERNAL"])
def test_portable_runner(inputs, direct_rows, tmp_path, job_service, environment):
    args = ["--runner=PortableRunner", f"--job_endpoint={job_service}", f"--environment_type={environment}"]
    if environment == "LOOPBACK":
        assert_same_as_direct(direct_rows, tmp_path, run_cli(*inputs, *args, "--output", str(tmp_path)))
        return
    port = free_port()
    with service(sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main", f"--service_port={port}", port=port):
        args.append(f"--environment_config=localhost:{port}")
        assert_same_as_direct(direct_rows, tmp_path, run_cli(*inputs, *args, "--output", str(tmp_path)))


def test_dask_runner(inputs, direct_rows, tmp_path, dask_scheduler):
    args = ["--runner=apache_beam.runners.dask.dask_runner.DaskRunner", f"--dask_client_address={dask_scheduler}"]
    assert_same_as_direct(direct_rows, tmp_path, run_cli(*inputs, *args, "--output", str(tmp_path)))


# ---------------------------------------------------------------- append runs: the dedupe index across runs


@pytest.fixture(scope="module")
def later_inputs(tmp_path_factory):
    """A later run's documents: new stories, and wire copies of the seeds' articles as the first run wrote
    them (a dateline added, the last paragraph dropped)."""
    folder = tmp_path_factory.mktemp("later")
    generate(30, folder / "docs", seed=12)
    for seed in sorted((ROOT / "seeds").glob("*.txt")):
        (folder / "docs" / f"copy-{seed.name}").write_text(wire_copy(seed))
    # The seeds are dated 2021: look back far enough (the default horizon is a week of event time).
    return ["--input", str(folder / "docs" / "*"), "--write_mode", "append", "--dedupe-horizon", "36500d"]


def appended(direct_output, later_inputs, tmp_path, *runner_args) -> tuple:
    """The first run's committed dataset, copied, then the later run appended to it on a runner."""
    output = tmp_path / "appended"
    shutil.copytree(direct_output, output, symlinks=True)
    return output, run_cli(*later_inputs, *runner_args, "--output", str(output))


@pytest.fixture(scope="module")
def direct_appended_rows(direct_output, later_inputs, tmp_path_factory):
    output, result = appended(direct_output, later_inputs, tmp_path_factory.mktemp("direct-appended"))
    assert result.returncode == 0, result.stderr[-3000:]
    rows = dataset_rows(output)
    earlier = {row["article_id"] for row in ds.dataset(direct_output / "articles").to_table(columns=["article_id"]).to_pylist()}
    copies = [
        r
        for r in ds.dataset(output / "duplicates").to_table().to_pylist()
        if r["source_path"].rsplit("/", 1)[1].startswith("copy-")
    ]
    assert len(copies) >= 4 and all(r["canonical_article_id"] in earlier for r in copies)  # copies of the first run's seeds
    return rows


def runner_args(name: str, job_service: str = "", dask_scheduler: str = "") -> list[str]:
    return {
        "multiprocessing": ["--direct_num_workers=2", "--direct_running_mode=multi_processing"],
        "portable": ["--runner=PortableRunner", f"--job_endpoint={job_service}", "--environment_type=LOOPBACK"],
        "dask": ["--runner=apache_beam.runners.dask.dask_runner.DaskRunner", f"--dask_client_address={dask_scheduler}"],
    }[name]


@pytest.mark.xdist_group("tests/test_runners.py:append")  # the other half of the matrix, on the other worker
@pytest.mark.parametrize("runner", ["multiprocessing", "portable", "dask"])
def test_append_with_the_dedupe_index(runner, direct_output, later_inputs, direct_appended_rows, tmp_path, request):
    services = {"portable": "job_service", "dask": "dask_scheduler"}
    address = request.getfixturevalue(services[runner]) if runner in services else ""
    args = runner_args(runner, **({services[runner]: address} if address else {}))
    output, result = appended(direct_output, later_inputs, tmp_path, *args)
    assert_same_as_direct(direct_appended_rows, output, result)
