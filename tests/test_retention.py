"""Retention on S3 (``transforms.write.retention``, run by ``pipelines.compact``): the versions kept stay
whole and readable, the objects no kept version lists are deleted, and a version retired while later
versions still list its files keeps exactly those (marked ``_RETIRED``, never taken for a dead run's)."""

from __future__ import annotations

import datetime as dt

import pytest
from apache_beam.io.filesystems import FileSystems

from pipelines import read_table
from transforms.sink import view
from transforms.write import commit
from transforms.write.parquet import TABLES, table_folder, write_parquet
from transforms.write.retention import kept_versions, vacuum

NOW = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)


def test_kept_versions_are_the_newest_k_and_those_within_the_horizon():
    chain = [(f"r{n}", NOW - dt.timedelta(hours=n)) for n in range(6)] + [("unknown", None)]
    assert kept_versions(chain, 2, 0, NOW) == ["r0", "r1", "unknown"]
    assert kept_versions(chain, 1, 3.5 * 3600, NOW) == ["r0", "r1", "r2", "r3", "unknown"]
    assert kept_versions(chain, 0, 0, NOW)[0] == "r0"  # the current version, always


def run(output: str, run_id: str, append: bool) -> commit.Version:
    """One committed run that writes one articles file."""
    version = commit.begin(output, run_id, append=append)
    write_parquet(f"{table_folder(version.root, 'articles', None)}/part-{run_id}-00000.parquet", [], TABLES["articles"])
    commit.seal(version, {"run_id": run_id, "previous_version": version.previous, "finished_at": NOW.isoformat()})
    commit.publish(version)
    return version


def listed(output: str, run_id: str) -> set[str]:
    view._sealed.clear()
    return set(view.sealed_files(FileSystems.join(output, commit.VERSIONS, run_id)).values())


def test_vacuum_keeps_the_kept_versions_whole_and_deletes_what_none_lists(s3):
    FileSystems.set_options(s3.options())
    output = s3.bucket("retention") + "/news"
    run(output, "v1", append=False)
    run(output, "v2", append=True)  # lists v1's file
    run(output, "v3", append=False)  # an overwrite: lists only its own
    run(output, "v4", append=True)  # lists v3's file and its own
    wanted = listed(output, "v4") | listed(output, "v3")

    done = vacuum(output, keep=2, horizon=0, now=NOW + dt.timedelta(days=1))
    assert done.kept == ["v4", "v3"] and sorted(done.removed) == ["v1", "v2"] and not done.retired
    folders = {k.split("/_versions/")[1].split("/")[0] for k in s3.keys(output) if "/_versions/" in k}
    assert folders == {"v3", "v4"}
    assert all(FileSystems.exists(path) for path in wanted)  # the kept versions, whole
    assert read_table(output, "articles", as_of="v3").num_rows == 0  # and readable

    done = vacuum(output, keep=1, horizon=0, now=NOW + dt.timedelta(days=1))
    assert done.kept == ["v4"] and done.retired == ["v3"]
    v3 = {f"{output.split('/news')[0]}/{k}" for k in s3.keys(f"{output}/_versions/v3")}
    assert v3 - listed(output, "v4") == {f"{output}/_versions/v3/_RETIRED"}  # only what v4 lists, and the marker
    assert f"{output}/_versions/v3/articles/part-v3-00000.parquet" in v3
    with pytest.raises(commit.DatasetError, match="keeps no committed version v3"):
        read_table(output, "articles", as_of="v3")

    run(output, "v5", append=True)  # its start removes dead runs' folders, never a retired one's files
    assert all(FileSystems.exists(path) for path in listed(output, "v5"))
    assert read_table(output, "articles").num_rows == 0
    done = vacuum(output, keep=1, horizon=0, now=NOW + dt.timedelta(days=1))
    assert done.kept == ["v5"] and done.retired == ["v3", "v4"] and not done.removed  # v5 lists both files


def test_a_current_version_never_sealed_stops_the_vacuum_before_any_delete(s3):
    """A stream killed after publishing its version leaves ``_CURRENT`` on an unsealed folder: a chain cut
    there would list nothing, and every earlier version's objects would go."""
    FileSystems.set_options(s3.options())
    output = s3.bucket("unsealed") + "/news"
    run(output, "v1", append=False)
    run(output, "v2", append=True)
    before = set(s3.keys(output))
    killed = commit.begin(output, "v3", append=True)
    commit.publish(killed)  # published, never sealed
    with pytest.raises(commit.DatasetError, match="v3 .* not sealed"):
        vacuum(output, keep=1, horizon=0, now=NOW + dt.timedelta(days=1))
    assert before <= set(s3.keys(output))


@pytest.mark.parametrize("args", [["--keep-versions", "0"], ["--target-size", "0"], ["--retain", "soon"]])
def test_compactions_options_are_parsed_and_checked_by_their_settings(args, tmp_path, capsys):
    from pipelines.compact import main as compact

    with pytest.raises(SystemExit) as refused:
        compact([str(tmp_path), *args])
    assert refused.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert args[0] in err and ("out of range (allowed: at least 1" in err or "not a" in err), err
    assert not list(tmp_path.iterdir())  # refused before the dataset is touched
