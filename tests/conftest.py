from __future__ import annotations

import inspect
import sys
from collections import Counter
from pathlib import Path

import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline

from pipelines.adapter import adapted_runner
from tests.support.cli import ROOT, SEEDS


@pytest.fixture
def test_pipeline():
    """A TestPipeline on the in-process runner (no Prism download attempt)."""
    options = PipelineOptions([])
    return TestPipeline(runner=adapted_runner(options), options=options)


@pytest.fixture(scope="session")
def job_service():
    """Beam's own Python job service on 127.0.0.1 (the Fn API path Flink, Spark and Dataflow use)."""
    from tests.support.services import free_port, service

    port = free_port()
    with service(sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main", "--port", str(port), port=port):
        yield f"localhost:{port}"


@pytest.fixture(scope="session")
def dask_scheduler():
    """A Dask scheduler with two workers on 127.0.0.1, shared by the tests that need one."""
    from tests.support.services import dask_cluster

    with dask_cluster(workers=2) as address:
        yield address


@pytest.fixture(scope="session")
def s3():
    """moto's S3 server on 127.0.0.1 for the session (``tests/support/s3.py``), stopped after."""
    from tests.support.s3 import local_s3

    with local_s3() as server:
        yield server


@pytest.fixture(scope="session")
def seed_paths() -> list[Path]:
    return sorted(SEEDS.glob("*.txt"))


@pytest.fixture(scope="session")
def seeds_run(tmp_path_factory) -> tuple[Path, str]:
    """`make run`'s job on the seeds (default options), once for the session and in-process: (output, stdout).
    Tests read it and never write to it; one that writes takes its own copy (``seeds_copy``)."""
    import contextlib
    import io

    from pipelines.run import main

    output, stdout, stderr = tmp_path_factory.mktemp("seeds-run") / "output", io.StringIO(), io.StringIO()
    with contextlib.chdir(ROOT), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):  # `make run`'s cwd
        status = main(["--runner=DirectRunner", "--output", str(output)])
    assert status == 0, stderr.getvalue()[-3000:]
    return output, stdout.getvalue()


@pytest.fixture
def seeds_copy(seeds_run, tmp_path) -> Path:
    """A copy of the seeds run's dataset for a test that writes to it (a second run, a lock, a refusal)."""
    import shutil

    copy = tmp_path / "seeds-output"
    shutil.copytree(seeds_run[0], copy, symlinks=True)
    return copy


@pytest.fixture(scope="session")
def observed_run(tmp_path_factory):
    """A run of a few hundred documents (and some bad inputs) on two worker processes: (process, output)."""
    from tests.support.observed import corpus_with_errors, multiprocess_run

    folder = corpus_with_errors(tmp_path_factory.mktemp("corpus"))
    output = tmp_path_factory.mktemp("observed")
    return multiprocess_run(folder, output), output


# The full tier (``-m slow``): a test that launches a process (the command, a job service, a Dask cluster, a
# browser), itself, through a fixture or through a function of its own module. ``make test-fast`` runs the rest.
# A run of the command through ``tests.support.cli.run_command`` (in-process, standing in for ``run_cli``) is in
# the full tier too, as the run it replaced was.
LAUNCHERS = {"run_cli", "subprocess", "Popen", "service", "dask_cluster", "multiprocess_run", "chromium", "local_s3"}
LAUNCHERS |= {"run_command"}


def _launches(function, module, seen: set) -> bool:
    code = getattr(function, "__code__", None)
    if code is None or code in seen:
        return False
    seen.add(code)
    names = set(code.co_names) | {c.co_name for c in code.co_consts if inspect.iscode(c)}
    if names & LAUNCHERS:
        return True
    local = (getattr(module, name, None) for name in names)
    return any(inspect.isfunction(f) and f.__module__ == module.__name__ and _launches(f, module, seen) for f in local)


# Under pytest-xdist (``make test``: ``-n 2 --dist loadgroup``) a group runs on one worker: a module's tests
# together, so that its module-scoped fixture (a pipeline run many tests read) runs once; the tests of any
# module that read one of these session fixtures together, so that it runs once in all; or a group a test
# names itself (``@pytest.mark.xdist_group("...")``: a long module split in two, each part paying for the
# fixture it needs, so that both workers share it). Groups are handed out in collection order
# (``--no-loadscope-reorder``): the modules with the most slow tests first, so that the long ones start at
# once and the short in-process ones fill in at the end; a module's tests stay together and in order.
SHARED_RUNS = ("observed_run", "seeds_run")


def group_of(item) -> str:
    own = item.get_closest_marker("xdist_group")
    if own is not None:
        return str(own.args[0] if own.args else own.kwargs.get("name", "default"))
    shared = [name for name in SHARED_RUNS if name in item.fixturenames]
    return shared[0] if shared else item.nodeid.split("::")[0]


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects and before xdist reads the groups
def pytest_collection_modifyitems(items):
    slow, size = Counter(), Counter()
    for item in items:
        functions = [item.function, *(d.func for defs in item._fixtureinfo.name2fixturedefs.values() for d in defs)]
        module = item.nodeid.split("::")[0]
        if any(_launches(f, inspect.getmodule(f), set()) for f in functions):
            item.add_marker("slow")
            slow[module] += 1
        size[module] += 1
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(group_of(item)))
    order = {item: (-slow[m], -size[m], m, i) for i, item in enumerate(items) for m in [item.nodeid.split("::")[0]]}
    items.sort(key=order.__getitem__)
