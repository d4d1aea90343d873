"""The suite's own scheduling: under ``make test`` (pytest-xdist, ``--dist loadgroup``) each test runs in
the group ``conftest.group_of`` gives it, so that a module's shared runs happen once. pytest 9.2 broke
this without a word (its node ids no longer take xdist's group suffix: pytest-dev/pytest-xdist#1386), and
every module-scoped run was made on both workers; pytest is held below 9.2 in pyproject.toml until xdist
follows. This fails if the grouping is lost again."""

import pytest


def test_this_test_runs_in_its_group(request, worker_id):
    if worker_id == "master" or not request.config.getvalue("loadgroup"):
        pytest.skip("not under pytest-xdist's loadgroup")
    assert request.node.nodeid.endswith("@tests/test_suite_groups.py")
