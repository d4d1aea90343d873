"""The dataset is never destroyed, half-written or silently wrong: refusals before any work, atomic runs,
idempotent appends, unique ids, hard limits, readers that just work, compaction."""

from __future__ import annotations

import fcntl
import gzip
import io
import os
import signal
import subprocess
import sys
import time
import tracemalloc

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from pipelines.compact import main as compact
from pipelines.run import main
from tests.support.cli import ROOT, SEEDS, dataset_rows, run_cli, run_command, summary_numbers
from tests.support.cli import table as table_rows
from tests.support.corpus import generate, wire_copy
from tests.support.feed_server import FeedServer
from transforms.feeds.formats import feed_records
from transforms.fetch import FetchError, HttpSettings, check_url, fetch, new_session
from transforms.formats.jsonl import read_jsonl
from transforms.schema import ARTICLES_SCHEMA, ErrorRecord
from transforms.write import TABLES
from transforms.write.commit import VERSIONS, begin, current_version
from transforms.write.tables import commit


@pytest.mark.parametrize(
    "args, message",
    [
        (["--inptu", "x"], "unknown option --inptu; did you mean --input?"),
        (["--writemode", "append"], "unknown option --writemode; did you mean --write_mode?"),
        (["--input", str(SEEDS / "000*"), str(SEEDS / "001_c90d9f645bcc5d6e.txt")], "an unquoted glob?"),
        (["--input", "/nonexistent/typo/*.txt"], "matches no file"),
        (["--input", "/nonexistent.txt"], "matches no file"),
        (["--write_mode", "sometimes"], "invalid choice: 'sometimes'"),
        (["--http-retries", "many"], "invalid int value"),
    ],
)
def test_refusals_come_first_with_one_line_and_touch_nothing(seeds_copy, args, message, capsys):
    """In-process (``pipelines.run.main``): the refusal is the command's, not the process's."""
    before = dataset_rows(seeds_copy)
    listing = sorted(os.listdir(seeds_copy / VERSIONS))
    assert main([*args, "--output", str(seeds_copy)]) == 2
    assert message in capsys.readouterr().err.strip().splitlines()[-1]
    assert dataset_rows(seeds_copy) == before and sorted(os.listdir(seeds_copy / VERSIONS)) == listing


def test_an_output_that_cannot_take_the_run_is_refused(tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("not a folder")
    assert main(["--output", str(a_file)]) == 2 and "is a file, not a folder" in capsys.readouterr().err
    assert main(["--output", str(a_file / "below")]) == 2 and "not writable" in capsys.readouterr().err
    assert a_file.read_text() == "not a folder"


def test_a_second_run_on_the_same_output_is_refused(seeds_copy):
    """Two processes: the lock is what keeps another run out."""
    with open(seeds_copy / "_lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = run_cli("--output", str(seeds_copy), timeout=120)
    assert result.returncode == 2 and "another run is writing" in result.stderr


def test_a_killed_run_leaves_the_earlier_dataset_as_it_was(seeds_copy, tmp_path):
    output = seeds_copy  # the seeds, committed
    before = dataset_rows(output)
    corpus = tmp_path / "corpus"
    generate(300, corpus, seed=3)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "pipelines.run", "--runner=DirectRunner", "--input", f"{corpus}/*", "--output", str(output)]
    job = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while len(os.listdir(output / VERSIONS)) < 2 and time.monotonic() < deadline:  # its version has begun
        time.sleep(0.2)
    time.sleep(4)  # well into the run
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    assert dataset_rows(output) == before  # every reader still sees exactly the earlier run
    again = run_command("--input", str(SEEDS / "002*"), "--output", str(output))
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(os.listdir(output / VERSIONS)) == 2  # the dead run's version is gone; the earlier one kept for readers


def test_an_append_rerun_adds_no_row(tmp_path):
    output = tmp_path / "out"
    first = run_command("--output", str(output), "--write_mode", "append")
    assert first.returncode == 0, first.stderr[-3000:]
    before = dataset_rows(output)
    second = run_command("--output", str(output), "--write_mode", "append")
    assert second.returncode == 0, second.stderr[-3000:]
    assert dataset_rows(output) == before
    counts = summary_numbers(second.stdout)
    assert counts["documents read"] == 0 and counts["files skipped (seen)"] == 5
    changed = tmp_path / "in"
    changed.mkdir()
    (changed / "a.txt").write_text((SEEDS / "002_6af444e73ab24ed7.txt").read_text())
    assert run_command("--input", str(changed / "*"), "--output", str(output), "--write_mode", "append").returncode == 0
    (changed / "a.txt").write_text((SEEDS / "003_f79eb35aea1698d8.txt").read_text())  # same path, new content: read
    third = run_command("--input", str(changed / "*"), "--output", str(output), "--write_mode", "append")
    assert summary_numbers(third.stdout)["documents read"] == 1


FEED_WITH_REUSED_GUIDS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Sloppy CMS</title>
<item><guid>42</guid><title>Harbour reopens</title><description>The harbour reopened on Monday after repairs to the pier.</description></item>
<item><guid>42</guid><title>Council budget</title><description>The council approved the budget for next year on Tuesday.</description></item>
<item><guid>42</guid><title>School closes</title><description>The village school will close for a week for heating works.</description></item>
<item><link>https://news.example/same</link><title>Ferry strike</title><description>Ferry crews walked out over pay on Friday morning.</description></item>
<item><link>https://news.example/same</link><title>Bridge toll</title><description>The bridge toll rises by ten cents from January.</description></item>
</channel></rss>"""


def test_entries_that_reuse_a_guid_or_link_get_their_own_ids():
    documents, status = feed_records("https://feeds.example/rss", FEED_WITH_REUSED_GUIDS)
    assert status.entries == 5 and len({d.doc_id for d in documents}) == 5
    again, _ = feed_records("https://feeds.example/rss", FEED_WITH_REUSED_GUIDS)
    assert [d.doc_id for d in again] == [d.doc_id for d in documents]  # the same document keeps its id
    elsewhere, _ = feed_records("https://other.example/rss", FEED_WITH_REUSED_GUIDS)
    assert not {d.doc_id for d in elsewhere} & {d.doc_id for d in documents}


def test_a_drip_fed_body_is_cut_at_the_time_cap():
    settings = HttpSettings(timeout=5, retries=0, attempt_seconds=2, allowed_hosts=("private",))
    with FeedServer() as server:
        started = time.monotonic()
        with pytest.raises(FetchError, match="took longer than 2 s"):
            fetch(new_session(settings), server.url("/drip"), settings)
        assert time.monotonic() - started < 4


def test_a_jsonl_gz_bomb_is_one_error_in_bounded_memory():
    bomb = io.BytesIO()
    with gzip.GzipFile(fileobj=bomb, mode="wb", compresslevel=9) as sink:
        zeros = b"\0" * (1 << 20)
        for _ in range(256):  # 256 MiB of zeros, about 260 KB compressed
            sink.write(zeros)
    bomb.seek(0)
    tracemalloc.start()
    records = list(read_jsonl("/in/bomb.jsonl.gz", bomb))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    [error] = records
    assert isinstance(error, ErrorRecord) and "binary content" in error.error
    assert peak < 64 * 2**20
    lines = io.BytesIO(gzip.compress(b'{"text": "' + b"a" * (21 * 2**20) + b'"}\n'))
    [error] = list(read_jsonl("/in/long.jsonl.gz", lines))
    assert "a line longer than" in error.error


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://2852039166/latest",
        "http://0xa9fea9fe/latest",
        "http://[::ffff:169.254.169.254]/latest",
    ],
)
def test_the_metadata_address_is_refused_unless_named(url):
    for allowed in ((), ("private",), ("10.0.0.0/8", "intranet.example")):
        with pytest.raises(FetchError, match="link-local"):
            check_url(url, allowed)
    check_url(url, ("169.254.169.254",))


def test_private_hosts_are_allowed_by_name_or_network():
    with pytest.raises(FetchError, match="non-public"):
        check_url("http://127.0.0.1:9/feed", ("10.0.0.0/8",))
    check_url("http://127.0.0.1:9/feed", ("127.0.0.0/8",))
    check_url("http://localhost:9/feed", ("localhost",))
    check_url("http://127.0.0.1:9/feed", ("private",))


def test_readers_just_work_when_every_article_is_undated(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    body = "The ferry service between the two islands resumed on Tuesday after repairs, the operator said."
    (inputs / "a.txt").write_text(f"Ferry service resumes\n\n{body}\n")
    output = tmp_path / "out"
    assert run_command("--input", str(inputs / "*"), "--output", str(output)).returncode == 0
    for table in TABLES:
        folder = output / table
        frame = pd.read_parquet(folder)
        arrow = ds.dataset(folder, partitioning="hive").to_table()
        duck = duckdb.sql(f"select * from read_parquet('{folder}/**/*.parquet', hive_partitioning = true)")
        polars = pl.scan_parquet(f"{folder}/**/*.parquet", hive_partitioning=True).collect()
        assert len(frame) == arrow.num_rows == len(duck.fetchall()) == polars.height
        if table == "articles":
            assert arrow.num_rows == 1 and arrow.column("published_date").to_pylist() == [None]
            assert arrow.column("published_month").to_pylist() == ["undated"]
            assert arrow.schema.field("published_date").type == pa.date32()
            assert dict(zip(duck.columns, duck.types))["published_date"] == "DATE"
            assert polars.schema["published_date"] == pl.Date
            assert arrow.schema.field("published_at").type == pa.timestamp("us", tz="UTC")
            assert str(frame["published_at"].dtype) == "datetime64[us, UTC]"
            assert dict(zip(duck.columns, duck.types))["word_count"] == "INTEGER"
            assert polars.schema["authors"] == pl.List(pl.String)
            assert [f.name for f in arrow.schema.field("entities").type.value_type] == [
                "mention",
                "label",
                "start",
                "end",
                "canonical",
                "country_code",
                "latitude",
                "longitude",
                "geonames_id",
                "place_type",
            ]


INDEX = ("_state/dedupe/bands", "_state/dedupe/sketches")
HORIZON = ("--dedupe-horizon", "36500d")  # the seeds are dated 2021


def index_content(output) -> dict[str, list]:
    return {name: sorted(map(repr, pq.read_table(output / name).to_pylist())) for name in INDEX}


@pytest.fixture(scope="module")
def compacted(tmp_path_factory):
    """The seeds appended one run each (each run adds its own index files), then compacted: (output, rows and
    index rows before, files before)."""
    output = tmp_path_factory.mktemp("compact") / "out"
    for seed in sorted(SEEDS.glob("*.txt")):
        assert run_command("--input", str(seed), "--output", str(output), "--write_mode", "append", *HORIZON).returncode == 0
    before = dataset_rows(output), index_content(output)
    files = {name: len(list((output / name).rglob("*.parquet"))) for name in ("articles", INDEX[0])}
    assert compact([str(output), "--target-size", "1MB"]) == 0
    return output, before, files


def test_compaction_keeps_every_row(compacted):
    output, (before, index_before), files_before = compacted
    assert dataset_rows(output) == before
    assert index_content(output) == index_before
    assert len(list((output / "articles").rglob("*.parquet"))) < files_before["articles"]
    assert len(list((output / INDEX[0]).rglob("*.parquet"))) < files_before[INDEX[0]]  # each seed's run added its own
    assert all(len(list(p.iterdir())) == 1 for name in INDEX for p in (output / name).iterdir())  # one file a partition
    assert (output / "_SUCCESS").exists()


def test_an_append_after_compaction_finds_copies_in_the_compacted_index(compacted, tmp_path):
    output, _, _ = compacted
    seed = sorted(SEEDS.glob("*.txt"))[2]
    copy = tmp_path / "copy.txt"
    copy.write_text(wire_copy(seed))
    result = run_command("--input", str(copy), "--output", str(output), "--write_mode", "append", *HORIZON)
    assert result.returncode == 0, result.stderr[-3000:]
    [article] = [a for a in table_rows(output, "articles") if a["source_path"] == str(seed)]
    [duplicate] = [d for d in table_rows(output, "duplicates") if d["source_path"] == str(copy)]
    assert duplicate["canonical_article_id"] == article["cluster_id"] == article["article_id"]


def test_versions_begin_commit_and_leave_the_committed_one_alone(tmp_path):
    output = str(tmp_path)
    first = begin(output, "r1", append=False)
    (tmp_path / VERSIONS / "r1" / "errors").mkdir(parents=True)
    commit(first, {"run_id": "r1"})
    assert current_version(output) == "r1" and (tmp_path / "_SUCCESS").exists()
    second = begin(output, "r2", append=True)  # killed before it commits: nothing visible changes
    assert current_version(output) == "r1"
    begin(output, "r3", append=False)  # the next run removes what the dead one left
    assert not (tmp_path / VERSIONS / second.run_id).exists() and current_version(output) == "r1"


def test_a_dataset_written_before_versions_is_adopted_whole(tmp_path):
    legacy = tmp_path / "articles" / "published_date=2021-08-16"
    legacy.mkdir(parents=True)
    pq.write_table(ARTICLES_SCHEMA.empty_table(), legacy / "part-old-00000.parquet")
    old_rows = (legacy / "part-old-00000.parquet").read_bytes()
    version = begin(str(tmp_path), "r1", append=True)
    assert current_version(str(tmp_path)) == "legacy"
    assert (tmp_path / "articles" / "published_date=2021-08-16" / "part-old-00000.parquet").read_bytes() == old_rows
    assert (tmp_path / VERSIONS / "legacy" / "articles" / "published_date=2021-08-16" / "part-old-00000.parquet").exists()
    # the appending version holds it in today's layout (its day from the folder), the adopted one as it was
    assert (tmp_path / VERSIONS / "r1" / "articles" / "published_month=2021-08" / "part-old-00000-2021-08-16.parquet").exists()
    commit(version, {"run_id": "r1"})
    assert (tmp_path / VERSIONS / "legacy" / "articles" / "published_date=2021-08-16" / "part-old-00000.parquet").read_bytes() == old_rows


def test_appending_to_tables_of_another_schema_is_refused(tmp_path):
    """A column of another type is no addition (columns only added are given to the old files:
    tests/test_migrate.py)."""
    output = tmp_path / "out"
    old = output / "errors"
    old.mkdir(parents=True)
    pq.write_table(pa.table({"source_path": [1], "error": ["old layout"]}), old / "part-old-00000.parquet")
    result = run_command("--input", str(SEEDS / "002*"), "--output", str(output), "--write_mode", "append")
    assert result.returncode == 2 and "errors written with another schema" in result.stderr
    assert "source_path is int64" in result.stderr
    assert (output / "errors" / "part-old-00000.parquet").exists()
    assert run_command("--input", str(SEEDS / "002*"), "--output", str(output)).returncode == 0  # overwrite replaces it
