"""The dedupe index: its plain functions, and a batch run's lookup in it as a Beam transform."""

import dataclasses
import datetime as dt
import random

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.util import assert_that, equal_to

from tests.support.corpus import story
from transforms.dedupe import DedupeSettings, DeduplicateArticles, IndexPlace, has_entries, index, index_folder
from transforms.dedupe.across_runs import copy_of_earlier, indexed_sketch, placed_spills, write_spilled
from transforms.dedupe.across_time import remembered_from_index
from transforms.dedupe.fingerprints import Fingerprint, Sketch, band_keys, bucket, sketch
from transforms.dedupe.index import (
    ALL,
    ALL_MAX_FILES,
    BANDS,
    PARTITIONS,
    SKETCHES,
    Earlier,
    band_partition,
    best_earlier,
    check_banding,
    earlier_candidates,
    earliest,
    event_time,
    files_by_partition,
    index_rows,
    indexed,
    known_ids,
    partition_files,
    partition_group,
    read_partition,
    remembered_rows,
    rows_batch,
    sketch_partition,
    tidy,
    wanted_sketches,
    within_horizon,
    write_index_file,
)
from transforms.schema import Article, Duplicate, IndexedSketch
from transforms.write.spill import SpillBuffer

SETTINGS = DedupeSettings()
DAY = dt.timedelta(days=1)
T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
STORY = (
    "The port authority said on Tuesday that the new container terminal would open in the spring, two years "
    "later than planned, after a dispute with the builder over the cost of dredging the harbour entrance. "
    "Shipping companies have complained for months that congestion at the old terminal adds days to every "
    "voyage, and the authority said it would add night shifts until the new quays are ready for the ships."
)
OTHER = (
    "A rare orchid that botanists had thought extinct in the region for half a century has been found growing "
    "beside a footpath in the national park, and rangers have fenced off the spot to keep walkers away from it."
)


def entry(article_id, text, at=T0, cluster_id=None) -> IndexedSketch:
    return indexed(article_id, cluster_id or article_id, at, sketch(text))


def write_index(folder, run_id, entries):
    files: dict = {}
    for e in entries:
        for table, partition, row in index_rows(e, SETTINGS):
            files.setdefault((table, partition), []).append(row)
    return [write_index_file(folder, t, p, run_id, rows) for (t, p), rows in files.items()]


def test_partitions_and_rows():
    e = entry("a", STORY)
    rows = index_rows(e, SETTINGS)
    assert [t for t, _, _ in rows].count(SKETCHES) == 1 and [t for t, _, _ in rows].count(BANDS) == SETTINGS.bands
    keys = band_keys(e.signature, SETTINGS)
    assert {p for t, p, _ in rows if t == BANDS} == {band_partition(k) for k in keys}
    assert band_partition("12:ab34") == "ab" and band_partition(bucket("12:ab34")) == "ab"
    assert len(sketch_partition("a")) == 2 and sketch_partition("a") == sketch_partition("a")
    assert event_time(None, T0) == T0 and event_time(T0 - DAY, T0) == T0 - DAY


def test_write_read_and_skip_a_run(tmp_path):
    folder = str(tmp_path / "dedupe")
    assert not has_entries(folder)
    write_index(folder, "run1", [entry("a", STORY)])
    write_index(folder, "run2", [entry("b", OTHER)])
    assert has_entries(folder)
    part = sketch_partition("a")
    assert [r["article_id"] for r in read_partition(folder, SKETCHES, part)] == ["a"]
    assert read_partition(folder, SKETCHES, part, skip_run="run1") == []
    assert all("run2" not in p for p in partition_files(folder, SKETCHES, sketch_partition("b"), skip_run="run2"))


def test_lookup_finds_earlier_articles_sharing_a_band_key(tmp_path):
    folder = str(tmp_path / "dedupe")
    write_index(folder, "run1", [entry("old", STORY), entry("unrelated", OTHER)])
    copy = sketch("PORT CITY (Wire) - " + STORY)
    keys = band_keys(copy.signature, SETTINGS)
    found = set()
    for partition in {band_partition(k) for k in keys}:
        found |= set(earlier_candidates(folder, partition, [(k, "new") for k in keys if band_partition(k) == partition], "run2"))
    assert found == {("old", "new")}
    [old] = wanted_sketches(folder, sketch_partition("old"), ["old", "old"], "run2")
    assert old.article_id == "old" and old.at == T0


def test_best_earlier_verifies_and_keeps_to_the_horizon():
    copy = sketch("PORT CITY (Wire) - " + STORY)
    candidates = [entry("late", STORY, T0, "cluster-late"), entry("early", STORY, T0 - 2 * DAY), entry("other", OTHER)]
    found = best_earlier(copy, T0, T0, candidates, dataclasses.replace(SETTINGS, horizon=7 * 86400))
    assert (found.cluster_id, found.at) == ("early", T0 - 2 * DAY) and found.similarity > 0.8
    assert best_earlier(copy, T0, T0, candidates, dataclasses.replace(SETTINGS, horizon=86400)).cluster_id == "cluster-late"
    other = sketch(OTHER + " and more")
    assert best_earlier(other, T0, T0, candidates[:2], dataclasses.replace(SETTINGS, horizon=86400)) is None


def test_the_horizon_compares_ingestion_times_when_either_side_is_undated():
    # Issue 24, item 6: an undated copy read an hour after a story published years ago is a copy of it, as
    # it would be had both been read in one run (which applies no horizon).
    now, years_ago = T0 + 1000 * DAY, T0
    week = dataclasses.replace(SETTINGS, horizon=7 * 86400)
    dated = indexed("dated", "dated", years_ago, sketch(STORY), ingested_at=now - dt.timedelta(hours=1))
    undated = indexed("undated", "undated", now - dt.timedelta(hours=1), sketch(STORY), ingested_at=now - dt.timedelta(hours=1))
    copy = sketch("PORT CITY (Wire) - " + STORY)
    assert within_horizon(dated, None, now, week.horizon) and best_earlier(copy, None, now, [dated], week).cluster_id == "dated"
    assert within_horizon(undated, years_ago, now, week.horizon)  # an undated earlier row, a dated newcomer
    assert not within_horizon(dated, now, now, week.horizon)  # both dated: publications compared
    assert not within_horizon(undated, None, now + 8 * DAY, week.horizon)  # both undated: ingestions compared
    assert within_horizon(
        entry("before-ingestion-times", STORY, years_ago), None, years_ago + DAY, week.horizon
    )  # older rows: at


def test_a_copy_of_an_earlier_article_joins_its_cluster():
    article = Article("n", "n.txt", "u", "site", "t", (), T0, "en", STORY, "text", cluster_id="n", duplicate_count=1)
    earlier = Earlier("old", T0 - DAY, 0.9)
    copy = copy_of_earlier(article, earlier)
    assert isinstance(copy, Duplicate) and (copy.cluster_id, copy.canonical_article_id, copy.published_at) == ("old", "old", T0)
    member = Duplicate("m", "m.txt", None, None, "n", "n", 0.8)
    assert (copy_of_earlier(member, earlier).canonical_article_id, copy_of_earlier(member, None)) == ("old", member)
    assert earliest([Earlier("b", T0, 1.0), Earlier("a", T0, 0.8), Earlier("c", T0 + DAY, 1.0)]).cluster_id == "a"
    assert earliest([]) is None
    fp = Fingerprint("n", "h", None, 10, Sketch(sketch(STORY).signature, 5))
    assert indexed_sketch(fp, "old", T0).at == T0 and indexed_sketch(fp, "old", T0).cluster_id == "old"


def test_a_restarted_stream_remembers_from_the_index(tmp_path):
    folder = str(tmp_path / "dedupe")
    write_index(folder, "run1", [entry("old", STORY, T0, "cluster"), entry("stale", STORY, T0 - 30 * DAY)])
    key = band_keys(sketch(STORY).signature, SETTINGS)[3]
    rows = list(remembered_rows(folder, bucket(key), "run2"))
    assert {(band_key, e.article_id) for band_key, e in rows} >= {(key, "old"), (key, "stale")}
    assert all(band_key.startswith(bucket(key)) for band_key, _ in rows)  # not the other bands of the partition
    memory = remembered_from_index(folder, bucket(key), "run2", since=(T0 - DAY).timestamp())
    assert [(m.article_id, m.cluster_id) for m in memory[key]] == [("old", "cluster")]
    assert not remembered_from_index(folder, "hash:ab", "run2", 0) and not remembered_from_index(None, bucket(key), "r", 0)


def article(article_id, text, published=T0):
    return Article(
        article_id, f"{article_id}.txt", None, None, None, (), published, "en", text, "text", word_count=len(text.split())
    )


@pytest.mark.parametrize("small_run", [index.SMALL_RUN, 2])
def test_dedupe_against_an_earlier_run(test_pipeline, tmp_path, monkeypatch, small_run):
    monkeypatch.setattr(index, "SMALL_RUN", small_run)  # 2: this run of 3 is large, its rows partitioned
    folder = index_folder(str(tmp_path / "_state"))
    write_index(folder, "run1", [entry("old", STORY, T0 - DAY, "old-cluster")])
    place = IndexPlace(folder, "run2", T0, look_up=True)
    articles = [
        article("copy", "PORT CITY (Wire) - " + STORY),
        article("copy2", STORY.replace("Tuesday", "Wednesday")),
        article("new", OTHER),
    ]
    with test_pipeline as p:
        out = p | beam.Create(articles) | DeduplicateArticles(SETTINGS, str(tmp_path / "parcels"), place)
        assert_that(out.articles | beam.Map(lambda a: a.article_id), equal_to(["new"]), label="kept")
        assert_that(
            out.duplicates | beam.Map(lambda d: (d.article_id, d.canonical_article_id)),
            equal_to([("copy", "old-cluster"), ("copy2", "old-cluster")]),
            label="duplicates",
        )
    added = {r["article_id"]: r["cluster_id"] for part in PARTITIONS for r in read_partition(folder, SKETCHES, part)}
    assert added == {"old": "old-cluster", "copy": "old-cluster", "copy2": "old-cluster", "new": "new"}
    mine = [p for paths in files_by_partition(folder, BANDS).values() for p in paths if "/part-run2" in p]
    mine += [p for paths in files_by_partition(folder, SKETCHES).values() for p in paths if "/part-run2" in p]
    if small_run == 2:
        assert {p.split("/part=")[1][:2] for p in mine} == {sketch_partition(a) for a in ("copy", "copy2", "new")} | {
            band_partition(key) for a in articles for key in band_keys(sketch(a.text).signature, SETTINGS)
        }
    else:
        assert len(mine) == 2 and all("/part=all/" in p for p in mine)  # a small run: one file per table (issue 24)


def test_a_crowded_band_key_pairs_with_its_first_anchors_only(tmp_path, monkeypatch):
    folder = str(tmp_path / "dedupe")
    write_index(folder, "run1", [entry(f"old{i}", STORY) for i in range(3)])
    monkeypatch.setattr("transforms.dedupe.index.MAX_ANCHORS", 2)
    key = band_keys(sketch(STORY).signature, SETTINGS)[0]
    assert list(earlier_candidates(folder, band_partition(key), [(key, "new")], "run2")) == [("old0", "new"), ("old1", "new")]


def test_an_earlier_article_is_a_candidate_once_per_band_key_it_shares(tmp_path):
    """The count ``fewest_candidates`` ranks by: a copy shares most keys, a stock phrase one."""
    variants = ((t, band_keys(sketch(t).signature, SETTINGS)) for t in (f"{STORY} Update {i}." for i in range(100)))
    text, all_keys = next((t, ks) for t, ks in variants if len({band_partition(k) for k in ks}) < len(ks))
    partitions = [band_partition(k) for k in all_keys]
    partition = next(p for p in partitions if partitions.count(p) > 1)  # two of its band keys in one partition
    keys = [k for k in all_keys if band_partition(k) == partition]
    folder = str(tmp_path / "dedupe")
    write_index(folder, "run1", [entry("old", text)])
    assert list(earlier_candidates(folder, partition, [(k, "new") for k in keys], "run2")) == [("old", "new")] * len(keys)


def test_a_run_with_another_banding_than_the_index_is_refused(tmp_path):
    folder = str(tmp_path / "dedupe")
    check_banding(folder, SETTINGS)  # no index yet: any banding
    write_index(folder, "run1", [entry("a", STORY), entry("b", OTHER)])
    check_banding(folder, SETTINGS)
    with pytest.raises(ValueError, match=f"built with {SETTINGS.bands} x {SETTINGS.rows} LSH bands, not 40 x 3"):
        check_banding(folder, dataclasses.replace(SETTINGS, bands=40, rows=3))


def add_run(folder, run_id, entries):
    """What ``AddToIndex`` does at the end of a run: its rows spilled by partition group, written where
    ``run_partition`` puts them, then ``tidy``."""
    buffer = SpillBuffer(folder + "-spills", lambda key, rows: rows_batch(key[0], rows))
    for e in entries:
        for table, partition, row in index_rows(e, SETTINGS):
            buffer.add((table, partition_group(partition)), [row])
    spills: dict = {}
    for key, spilled in buffer.spill():
        spills.setdefault(key, []).append(spilled)
    place = IndexPlace(folder, run_id, T0, look_up=True)
    by_file: dict = {}  # the runner's grouping by file: a small run's groups all go to part=all
    for key, paths in spills.items():
        for file_key, placed in placed_spills((key, {"spills": paths, "articles": [len(entries)]})):
            by_file.setdefault(file_key, []).append(placed)
    written = [path for group in by_file.items() for path in write_spilled(group, place)]
    tidy(folder, run_id)
    return written


def test_a_large_runs_rows_land_in_their_partitions_as_one_file_each(tmp_path, monkeypatch):
    monkeypatch.setattr(index, "SMALL_RUN", 2)
    folder, entries = str(tmp_path / "dedupe"), [entry(f"a{i}", text) for i, text in enumerate(stories(5))]
    written = add_run(folder, "run1", entries)
    assert len(written) == len(set(written)) == sum(len(paths) for t in (BANDS, SKETCHES) for paths in files_by_partition(folder, t).values())
    assert ALL not in files_by_partition(folder, SKETCHES)
    for e in entries:
        (found,) = wanted_sketches(folder, sketch_partition(e.article_id), [e.article_id], "next")
        assert found == e
    one_run = str(tmp_path / "by-partition")
    write_index(one_run, "run1", entries)
    for table in (BANDS, SKETCHES):
        assert {p: pq.read_table(paths[0]) for p, paths in files_by_partition(folder, table).items()} == {
            p: pq.read_table(paths[0]) for p, paths in files_by_partition(one_run, table).items()
        }


def stories(n, seed=1):
    rng = random.Random(seed)
    return ["\n\n".join(story(rng)[1]) for _ in range(n)]


def index_file_count(folder, partition=None):
    return sum(
        len(paths)
        for table in (BANDS, SKETCHES)
        for p, paths in files_by_partition(folder, table).items()
        if partition in (None, p)
    )


def test_small_runs_add_two_files_and_the_index_stays_small(tmp_path):
    # Issue 24, item 4: a run of 10 articles added 173 files (one per partition it touched), and nothing
    # merged them. Now each small run adds one file per table, and tidy merges part=all past 8 files.
    folder, texts = str(tmp_path / "dedupe"), stories(60)
    for run in range(30):
        before = index_file_count(folder)
        written = add_run(folder, f"run{run:02d}", [entry(f"a{run:02d}-{i}", texts[2 * run + i]) for i in range(2)])
        assert len(written) == 2 and index_file_count(folder) <= before + 2
        assert index_file_count(folder) == index_file_count(folder, ALL) <= 2 * (ALL_MAX_FILES + 1)
    ids = [f"a{run:02d}-{i}" for run in range(30) for i in range(2)]
    by_partition = {p: [i for i in ids if sketch_partition(i) == p] for p in map(sketch_partition, ids)}
    assert sorted(r for p, wanted in by_partition.items() for r in known_ids(folder, p, wanted, "next")) == sorted(ids)
    copy = sketch("PORT CITY (Wire) - " + texts[7])
    keys = band_keys(copy.signature, SETTINGS)
    found = {old for k in keys for old, _ in earlier_candidates(folder, band_partition(k), [(k, "new")], "next")}
    assert "a03-1" in found
    [old] = wanted_sketches(folder, sketch_partition("a03-1"), ["a03-1"], "next")
    assert old.article_id == "a03-1"


def test_a_large_part_all_is_spread_over_the_partitions_and_they_are_merged(tmp_path, monkeypatch):
    monkeypatch.setattr("transforms.dedupe.index.ALL_MAX_ARTICLES", 5)
    monkeypatch.setattr("transforms.dedupe.index.PARTITION_MAX_FILES", 2)
    folder, texts = str(tmp_path / "dedupe"), stories(24, seed=2)
    for run in range(12):
        add_run(folder, f"run{run:02d}", [entry(f"b{run:02d}-{i}", texts[2 * run + i]) for i in range(2)])
        assert index_file_count(folder, ALL) <= 2 * 3  # spread once it holds more than 5 articles
        assert all(len(paths) <= 2 for table in (BANDS, SKETCHES) for paths in files_by_partition(folder, table).values())
    assert index_file_count(folder) > index_file_count(folder, ALL)  # the partitions hold rows now
    rows = [r for p in range(256) for r in read_partition(folder, SKETCHES, f"{p:02x}")]
    assert sorted({r["article_id"] for r in rows}) == sorted(f"b{run:02d}-{i}" for run in range(12) for i in range(2))
    copy = sketch("PORT CITY (Wire) - " + texts[5])
    keys = band_keys(copy.signature, SETTINGS)
    assert "b02-1" in {old for k in keys for old, _ in earlier_candidates(folder, band_partition(k), [(k, "new")], "next")}


def test_every_member_of_a_cluster_that_copies_earlier_articles_learns_the_earliest_in_its_parcel():
    from transforms.dedupe.across_runs import _earlier_to_members, _members_and_matches
    from transforms.dedupe.clusters import Decision

    joined = [  # per article id: its decision (clustered), its parcel, the earlier articles it copies
        ("a", {"decision": [Decision("a", "c1", "a", 1.0, 1)], "parcel": ["p1"], "earlier": [Earlier("late", T0, 0.9)]}),
        ("b", {"decision": [Decision("b", "c1", "a", 0.9, 1)], "parcel": ["p2"], "earlier": [Earlier("old", T0 - DAY, 0.8)]}),
        ("solo", {"decision": [], "parcel": ["p1"], "earlier": []}),
    ]
    by_cluster: dict = {}
    for item in joined:
        for cluster_id, tagged in _members_and_matches(item):
            by_cluster.setdefault(cluster_id, []).append(tagged)
    assert set(by_cluster) == {"c1", "solo"}  # an article in no cluster is its own
    routed = [fact for group in by_cluster.items() for fact in _earlier_to_members(group)]
    assert sorted(routed) == [("p1", ("a", Earlier("old", T0 - DAY, 0.8))), ("p2", ("b", Earlier("old", T0 - DAY, 0.8)))]
