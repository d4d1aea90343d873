"""The same pipeline on every runner reachable here gives the same Parquet rows as the DirectRunner.

Services are started by the tests on 127.0.0.1 and stopped after: Beam's Python job service (the Fn API
path that Flink, Spark and Dataflow use), its worker pool, and a Dask scheduler with two workers.
"""

from __future__ import annotations

import sys

import pyarrow.dataset as ds
import pytest

from tests.support.cli import ROOT, run_cli
from tests.support.corpus import generate
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
def direct_rows(inputs, tmp_path_factory):
    output = tmp_path_factory.mktemp("direct")
    result = run_cli(*inputs, "--output", str(output))
    assert result.returncode == 0, result.stderr[-3000:]
    rows = dataset_rows(output)
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
