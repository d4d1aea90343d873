from __future__ import annotations

import inspect
import os
import shutil
import sys
import tempfile
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


@pytest.fixture(scope="session", autouse=True)
def temp_files_removed():
    """Each test process's temp files in a folder of its own, removed at its end: a Beam ``Pipeline`` makes
    a temp folder that only its run removes, so each test that builds a graph without running it left one
    in /tmp. Open to every user as /tmp is (a test runs as nobody: ``test_dataset_recovery.read_only``)."""
    folder = tempfile.mkdtemp(prefix="news-tests-")
    os.chmod(folder, 0o1777)
    before, tempfile.tempdir = tempfile.tempdir, folder
    yield
    tempfile.tempdir = before
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def models_kept_between_runs():
    """Each spaCy pipeline loaded once per test process (5 s of CPU each, with its gazetteer ruler), not once
    per in-process run: Beam's ``Shared`` handle (``tag._shared_model``) lets it go when a job ends, which a
    process that runs one job (the command, a runner's worker) never notices and a test worker pays for at
    every ``run_command``, ``run_pipeline`` or ``run_stream``. The model itself is the same."""
    from transforms.entities import tag

    acquire, kept = tag._shared_model, {}

    def keep(name: str):
        if name not in kept:
            kept[name] = acquire(name)
        return kept[name]

    tag._shared_model = keep
    yield
    tag._shared_model = acquire


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
    """A run of about a hundred documents (and some bad inputs) on two worker processes: (process, output)."""
    from tests.support.observed import corpus_with_errors, multiprocess_run

    folder = corpus_with_errors(tmp_path_factory.mktemp("corpus"))
    output = tmp_path_factory.mktemp("observed")
    return multiprocess_run(folder, output), output


# The full tier (``-m slow``): a test that launches a process (the command, a job service, a Dask cluster, a
# browser), itself, through a fixture or through a function of its own module. ``make test-fast`` runs the rest.
# A run of the command through ``tests.support.cli.run_command`` (in-process, standing in for ``run_cli``) or
# a stream through ``tests.support.streams.run_stream`` is in the full tier too, as the run it replaced was.
LAUNCHERS = {"run_cli", "subprocess", "Popen", "service", "dask_cluster", "multiprocess_run", "chromium", "local_s3"}
LAUNCHERS |= {"run_command", "run_stream"}


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
# (``--no-loadscope-reorder``), longest first (``GROUP_SECONDS``), so that the long ones start at once, the
# short in-process ones fill in at the end and both workers end near the same time; a group's tests stay
# together and in order.
SHARED_RUNS = ("observed_run", "seeds_run")
# One Dask cluster in all: every test that needs one runs with the runners' append half (a cluster is started
# per xdist worker that asks for one, and a cold cluster's first job pays its workers' imports and models).
SHARED_SERVICES = {"dask_scheduler": "tests/test_runners.py:append"}

# Seconds each group took, one module at a time (``pytest --group-seconds``), 2026-12-06 on this 2-core
# machine shared with other sessions (about three times an idle run; only their order matters): the order in
# which groups start, never a limit. A group missing here is placed by its tests, in the same units:
# SLOW_SECONDS for each slow one, FAST_SECONDS for each other.
GROUP_SECONDS = {
    "tests/test_runners.py": 555,
    "tests/test_s3_tables.py": 530,
    "tests/test_runners.py:append": 445,
    "tests/test_dedupe_runs.py": 265,
    "tests/test_s3.py": 190,
    "tests/test_streaming.py": 175,
    "tests/test_feeds.py": 150,
    "observed_run": 135,
}
SLOW_SECONDS, FAST_SECONDS = 30.0, 0.5


def group_of(item) -> str:
    own = item.get_closest_marker("xdist_group")
    if own is not None:
        return str(own.args[0] if own.args else own.kwargs.get("name", "default"))
    services = [group for name, group in SHARED_SERVICES.items() if name in item.fixturenames]
    shared = services + [name for name in SHARED_RUNS if name in item.fixturenames]
    return shared[0] if shared else item.nodeid.split("::")[0]


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects and before xdist reads the groups
def pytest_collection_modifyitems(items):
    estimate, groups = Counter(), {}
    for item in items:
        functions = [item.function, *(d.func for defs in item._fixtureinfo.name2fixturedefs.values() for d in defs)]
        slow = any(_launches(f, inspect.getmodule(f), set()) for f in functions)
        if slow:
            item.add_marker("slow")
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(group_of(item)))
        groups[item] = group = group_of(item)
        estimate[group] += SLOW_SECONDS if slow else FAST_SECONDS
    seconds = {group: GROUP_SECONDS.get(group, guess) for group, guess in estimate.items()}
    order = {item: (-seconds[groups[item]], groups[item], i) for i, item in enumerate(items)}
    items.sort(key=order.__getitem__)
    _GROUP_OF.update({item.nodeid: group for item, group in groups.items()})


# ``pytest --group-seconds tests/test_x.py``: each group's seconds (setup, call and teardown of its tests),
# printed as GROUP_SECONDS's entries at the end of the run, to refresh that table after a change to the slow
# tier. In one process: under xdist the controller, which collects nothing, can only sum by module.
_GROUP_OF: dict[str, str] = {}
_SPENT: Counter = Counter()


def pytest_addoption(parser):
    parser.addoption("--group-seconds", action="store_true", help="print each xdist group's seconds (for GROUP_SECONDS)")


def pytest_runtest_logreport(report):
    _SPENT[_GROUP_OF.get(report.nodeid, report.nodeid.split("::")[0])] += report.duration  # by module under xdist


def pytest_terminal_summary(terminalreporter, config):
    if config.getoption("--group-seconds"):
        terminalreporter.write_line("GROUP_SECONDS entries, longest first:")
        for group, seconds in _SPENT.most_common():
            terminalreporter.write_line(f"    {group!r}: {seconds:.0f},")
