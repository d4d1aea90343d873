"""The dataset on S3, for real: the command against moto's S3 server on 127.0.0.1 (the ``s3`` fixture,
started once per session). An append copies no earlier object, two runs cannot both commit, a killed run
leaves nothing a reader or the next run sees, and ``read_table`` reads the committed version."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from apache_beam.io.filesystems import FileSystems

from pipelines import read_table
from tests.support.cli import ROOT, SEEDS, run_command
from transforms.write import commit

SEED_FILES = sorted(SEEDS.glob("*.txt"))


def upload(s3, bucket: str, paths) -> str:
    """The seed files in a bucket; returns the glob that reads them."""
    client = s3.client()
    for path in paths:
        client.put_object(Bucket=bucket[len("s3://") :], Key=f"in/{path.name}", Body=path.read_bytes())
    return f"{bucket}/in/*.txt"


def ids(output: str, table: str = "articles") -> list[str]:
    return sorted(read_table(output, table).column("article_id").to_pylist())


@pytest.fixture(scope="module")
def appended(s3):
    """Three append runs on S3: three seeds, then all five, then all five again. (output, each run's version,
    the version objects after the first, the article ids after each)."""
    bucket = s3.bucket("append")
    output = f"{bucket}/news"
    FileSystems.set_options(s3.options())
    versions, objects, articles = [], [], []
    for paths in (SEED_FILES[:3], SEED_FILES[3:], []):
        source = upload(s3, bucket, paths)
        result = run_command(f"--input={source}", f"--output={output}", "--write_mode=append", *s3.flags())
        assert result.returncode == 0, result.stderr[-2000:]
        versions.append(commit.current_version(output))
        objects.append({k for k in s3.keys(output) if "/_versions/" in k})
        articles.append(ids(output))
    return output, versions, objects, articles


def test_append_on_s3_copies_no_earlier_object_and_reads_back(appended):
    output, (first_run, second_run, _), (first_objects, second_objects, _), (first_ids, articles, again) = appended
    assert len(first_ids) + len(read_table(output, "duplicates", as_of=first_run)) == 3
    assert second_run != first_run
    new_objects = second_objects - first_objects
    assert new_objects and all(f"/_versions/{second_run}/" in k for k in new_objects)
    assert not [k for k in new_objects if f"part-{first_run}" in k]  # nothing of the first run copied
    duplicates = read_table(output, "duplicates", as_of=second_run)
    assert set(first_ids) <= set(articles)
    assert len(articles) + len(duplicates) == len(SEED_FILES)  # every document once: no row lost or doubled
    assert articles == sorted(read_table(output, "articles", as_of=second_run).column("article_id").to_pylist())
    assert sorted(read_table(output, "articles", as_of=first_run).column("article_id").to_pylist()) == first_ids
    assert again == articles  # the rerun: the state on S3 skips every file read before


def test_two_versions_begun_from_one_pointer_cannot_both_commit(s3):
    """The conditional pointer alone (no lease): the second commit is refused and its version removable."""
    bucket = s3.bucket("race")
    output = f"{bucket}/news"
    FileSystems.set_options(s3.options())
    base = commit.begin(output, "base00000000", append=False)
    commit.seal(base, {"run_id": base.run_id})
    commit.publish(base)
    one = commit.begin(output, "one000000000", append=True)
    two = commit.Version(output, "two000000000", one.previous, None, one.pointer_tag)  # began at the same moment
    from transforms.sink import view

    view.write_base(two.root, FileSystems.join(output, commit.VERSIONS, base.run_id))
    commit.seal(one, {"run_id": one.run_id})
    commit.publish(one)
    commit.seal(two, {"run_id": two.run_id})
    with pytest.raises(commit.DatasetError, match="another run committed"):
        commit.publish(two)
    commit.abandon(two)
    assert commit.current_version(output) == one.run_id
    assert not [k for k in s3.keys(output) if "/two000000000/" in k]


def test_a_renewal_beside_another_of_the_same_run_does_not_lose_the_lease(s3, monkeypatch):
    """The lease thread renews while the commit renews (``seal.check_lease``): both from this run, so the
    one that finds the other's renewal in place keeps the lease. It was taken for another run's (the
    second conditional put carried the etag the first had just replaced) and the run was refused."""
    import threading

    from transforms.sink import objects

    bucket = s3.bucket("renewals")
    FileSystems.set_options(s3.options())
    lease = objects.Lease(f"{bucket}/news/_lock", 3.0)
    lease.take()
    put, calls = objects.put, []

    def slow_put(path, body, **conditions):  # the first renewal's request is still on its way
        calls.append(path)
        if len(calls) == 1:
            time.sleep(0.5)
        return put(path, body, **conditions)

    monkeypatch.setattr(objects, "put", slow_put)
    first = threading.Thread(target=lease.renew)
    first.start()
    time.sleep(0.1)
    second = lease.renew()
    first.join()
    assert second and not lease.lost and len(calls) == 2
    monkeypatch.setattr(objects, "put", put)
    other = objects.Lease(lease.path, 3.0, etag=lease.etag)  # another run's lease in its place
    other.holder = "elsewhere"
    objects.put(lease.path, other.body(), if_match=lease.etag)
    assert not lease.renew() and lease.lost  # a lease another run took is still lost


def _start(*args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.run", "--runner=DirectRunner", *args],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT), **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_concurrent_writers_on_s3_one_commits_the_other_exits_2(s3):
    bucket = s3.bucket("concurrent")
    output = f"{bucket}/news"
    source = upload(s3, bucket, SEED_FILES)
    runs = [_start(f"--input={source}", f"--output={output}", "--write_mode=append", *s3.flags(), env={}) for _ in range(2)]
    results = [(p.wait(timeout=900), p.stderr.read()) for p in runs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, err in results if code == 2)
    assert "another run" in loser
    FileSystems.set_options(s3.options())
    current = commit.current_version(output)
    folders = {k.split("/_versions/")[1].split("/")[0] for k in s3.keys(output) if "/_versions/" in k}
    assert folders == {current}  # the loser left no version behind
    assert len(ids(output)) + len(read_table(output, "duplicates")) == len(SEED_FILES)


def test_killed_run_on_s3_leaves_nothing_seen_and_the_next_run_takes_over(s3, monkeypatch):
    bucket = s3.bucket("killed")
    output = f"{bucket}/news"
    source = upload(s3, bucket, SEED_FILES)
    env = {"NEWS_LEASE_SECONDS": "3"}
    FileSystems.set_options(s3.options())
    first = run_command(f"--input={source.replace('*', '00[01]*')}", f"--output={output}", "--write_mode=append", *s3.flags())
    assert first.returncode == 0, first.stderr[-2000:]
    committed, before = commit.current_version(output), ids(output)

    victim = _start(f"--input={source}", f"--output={output}", "--write_mode=append", *s3.flags(), env=env)
    deadline = time.monotonic() + 300
    while not [k for k in s3.keys(f"{output}/_versions") if "/_state/" in k and committed not in k]:
        assert victim.poll() is None and time.monotonic() < deadline, (
            victim.stderr.read()[-2000:] if victim.poll() else "too slow"
        )
        time.sleep(0.2)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    assert commit.current_version(output) == committed and ids(output) == before  # readers see the last commit

    time.sleep(3.5)  # the dead run's lease expires unrenewed
    monkeypatch.setenv("NEWS_LEASE_SECONDS", env["NEWS_LEASE_SECONDS"])
    after = run_command(f"--input={source}", f"--output={output}", "--write_mode=append", *s3.flags())
    assert after.returncode == 0, after.stderr[-2000:]
    folders = {k.split("/_versions/")[1].split("/")[0] for k in s3.keys(output) if "/_versions/" in k}
    assert folders == {committed, commit.current_version(output)}  # the killed run's folder was removed
    assert len(ids(output)) + len(read_table(output, "duplicates")) == len(SEED_FILES)  # nothing lost or doubled


def commit_files(output: str) -> dict:
    from transforms.sink import view

    return view.version_files(f"{output}/{commit.VERSIONS}", commit.current_version(output))


def test_feeds_file_and_feed_files_on_s3(s3):
    """A feeds file in the bucket naming a feed file in the bucket (a path on a filesystem Beam knows, not
    a URL to fetch): its entries are read, and the feed state on S3 makes the next run add nothing."""
    from xml.sax.saxutils import escape

    bucket = s3.bucket("feeds")
    items = "".join(
        f"<item><title>Story {n}</title><link>https://example.com/{n}</link><guid>story-{n}</guid>"
        f"<description>{escape(path.read_text())}</description></item>"
        for n, path in enumerate(SEED_FILES[:2])
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Local</title>{items}</channel></rss>'
    s3.client().put_object(Bucket="feeds", Key="feeds/news.xml", Body=feed.encode())
    s3.client().put_object(Bucket="feeds", Key="feeds.txt", Body=f"# ours\n{bucket}/feeds/news.xml\n".encode())
    output = f"{bucket}/news"
    first = run_command(f"--feeds-file={bucket}/feeds.txt", f"--output={output}", *s3.flags())
    assert first.returncode == 0, first.stderr[-2000:]
    FileSystems.set_options(s3.options())
    articles = ids(output)
    assert len(articles) + len(read_table(output, "duplicates")) == 2 and not read_table(output, "errors").num_rows
    again = run_command(f"--feeds-file={bucket}/feeds.txt", f"--output={output}", *s3.flags())
    assert again.returncode == 0 and ids(output) == articles  # the entries are remembered in the state on S3


def test_compaction_and_report_on_s3(appended, s3, tmp_path):
    """Compaction commits a version that lists the merged files and leaves the merged ones out (deleting
    none a reader may hold); the report reads the committed version. On the appended dataset, so the
    module's last test: the append's test reads it as the runs left it."""
    from pipelines.compact import main as compact
    from pipelines.report.__main__ import main as report

    output = appended[0]
    FileSystems.set_options(s3.options())
    before = {t: sorted(map(repr, read_table(output, t).to_pylist())) for t in ("articles", "entities", "duplicates")}
    previous = commit.current_version(output)
    files_before = len(commit_files(output))
    assert compact([output, *s3.flags()]) == 0
    assert commit.current_version(output) != previous
    assert {t: sorted(map(repr, read_table(output, t).to_pylist())) for t in before} == before
    assert len(commit_files(output)) < files_before
    assert read_table(output, "articles", as_of=previous).num_rows == len(before["articles"])  # the old version kept
    page = tmp_path / "report.html"
    assert report([output, f"--out={page}", *s3.flags()]) == 0
    assert f"<b>{len(before['articles'])}</b>articles" in page.read_text()
