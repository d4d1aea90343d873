import datetime as dt

import apache_beam as beam
import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from transforms.files import remove_folder
from transforms.schema import ARTICLES_SCHEMA, ERRORS_SCHEMA, Article, Duplicate, Entity, ErrorRecord, entity_rows, record_row
from transforms.write import TABLES, WriteDataset, spill, write_parquet
from transforms.write.commit import ensure_tables
from transforms.write.tables import commit

UTC = dt.UTC


def test_write_parquet_lands_the_file_in_new_folders(tmp_path):
    path = tmp_path / "articles" / "published_month=2021-08" / "part-x.parquet"
    write_parquet(str(path), [], ARTICLES_SCHEMA)
    assert path.exists()
    assert [p.name for p in path.parent.iterdir()] == ["part-x.parquet"]  # no temp file left behind
    assert pq.read_schema(path) == ARTICLES_SCHEMA


def test_spilled_rows_come_back_as_the_same_table_whatever_order_they_came_in(tmp_path, monkeypatch):
    monkeypatch.setattr(spill, "ROWS_PER_BATCH", 3)  # several batches from these few rows
    monkeypatch.setattr(spill, "BYTES_PER_SPILL", 1)  # and a spill file per batch
    day = dt.date(2021, 8, 16)
    rows = [
        {"article_id": f"a{i % 4}", "entity": f"E{i}", "label": "ORG", "mentions": i, "published_date": day} for i in range(10)
    ] + [{"article_id": "a0", "entity": "E0", "label": "GPE", "mentions": 1, "latitude": None, "published_date": None}]
    schema = TABLES["entities"]

    def spilled(row_lists, folder):
        buffer = spill.SpillBuffer(str(tmp_path / folder), lambda key, rows: pa.RecordBatch.from_pylist(rows, schema=schema))
        written = [item for rows in row_lists for item in buffer.add("k", rows)] + buffer.spill()
        assert {key for key, _ in written} == {"k"}
        return [spilled for _, spilled in written]

    groups = [rows[i : i + 2] for i in range(0, len(rows), 2)]
    spills = spilled(groups, "one")
    assert [s.rows for s in spills] == [4, 4, 3]  # written out each time 3 or more rows are held
    built = spill.read_spills(spills, schema)
    assert built.schema == schema and built.num_rows == len(rows)
    assert spill.read_spills(spilled(reversed(groups), "two"), schema).equals(built)
    assert spill.read_spills(spilled([[row] for row in rows[::-1]], "three"), schema).equals(built)
    key = [(r["article_id"], r["entity"], r["label"]) for r in built.to_pylist()]
    assert key == sorted(key)
    assert spill.read_spills([], schema).num_rows == 0
    remove_folder(str(tmp_path / "one"))
    assert not (tmp_path / "one").exists()
    remove_folder(str(tmp_path / "never-written"))


def test_entity_rows_count_mentions_per_canonical_name():
    entities = (
        Entity("Antony Blinken", "PERSON", 0, 14, "Antony Blinken"),
        Entity("Blinken", "PERSON", 20, 27, "Antony Blinken"),
        Entity("Kabul", "GPE", 30, 35, "Kabul", "AF", 34.53, 69.17, 1138958, "city"),
    )
    article = Article("a", "p", None, None, None, (), None, "en", "x", "text", entities=entities)
    no_place = dict(country_code=None, latitude=None, longitude=None, geonames_id=None, place_type=None)
    kabul = dict(country_code="AF", latitude=34.53, longitude=69.17, geonames_id=1138958, place_type="city")
    assert entity_rows(article) == [
        {"article_id": "a", "entity": "Antony Blinken", "label": "PERSON", "mentions": 2, **no_place},
        {"article_id": "a", "entity": "Kabul", "label": "GPE", "mentions": 1, **kabul},
    ]


def test_dataset_is_hive_partitioned_and_typed(tmp_path, test_pipeline):
    dated = Article(
        "d",
        "d.txt",
        "https://e/d",
        "E",
        "T",
        ("A B",),
        dt.datetime(2021, 8, 16, 22, 30, tzinfo=UTC),
        "en",
        "Text one",
        "text",
        word_count=2,
        content_hash="h",
        cluster_id="d",
        entities=(Entity("Kabul", "GPE", 0, 5, "Kabul"),),
    )
    undated = Article("u", "u.txt", None, None, None, (), None, "en", "Text two", "text", word_count=2, cluster_id="u")
    duplicate = Duplicate("c", "c.txt", None, None, "d", "d", 0.9)
    with test_pipeline as p:
        _ = {
            "articles": p | "A" >> beam.Create([dated, undated]),
            "duplicates": p | "D" >> beam.Create([duplicate]),
            "errors": p | "E" >> beam.Create([], reshuffle=False).with_output_types(ErrorRecord),
        } | WriteDataset(str(tmp_path), "run1")

    assert not list(tmp_path.rglob(".*tmp")) and not (tmp_path / spill.SPILL).exists()
    articles = ds.dataset(tmp_path / "articles", partitioning="hive").to_table()
    assert articles.schema == ARTICLES_SCHEMA.append(pa.field("published_date", pa.date32())).append(
        pa.field("published_month", pa.string())
    )
    rows = {r["article_id"]: r for r in articles.to_pylist()}
    assert (rows["d"]["published_date"], rows["d"]["published_month"]) == (dt.date(2021, 8, 16), "2021-08")
    assert (rows["u"]["published_date"], rows["u"]["published_month"]) == (None, "undated")
    assert rows["d"] == record_row(dated) | {"published_date": dt.date(2021, 8, 16), "published_month": "2021-08"}
    assert (tmp_path / "articles" / "published_month=2021-08" / "part-run1-00000.parquet").exists()
    [entity] = ds.dataset(tmp_path / "entities", partitioning="hive").to_table().to_pylist()
    assert (entity["entity"], entity["published_date"]) == ("Kabul", dt.date(2021, 8, 16))
    assert ds.dataset(tmp_path / "duplicates").to_table().to_pylist()[0]["canonical_article_id"] == "d"
    assert not (tmp_path / "errors").exists()  # no error rows: sealing the version gives the table its schema file
    ensure_tables(str(tmp_path), "run1")
    errors = ds.dataset(tmp_path / "errors").to_table()
    assert errors.num_rows == 0 and errors.schema == ERRORS_SCHEMA


def test_a_partition_past_its_bound_is_split_into_files_whose_bytes_do_not_depend_on_order(tmp_path, monkeypatch):
    from pipelines.adapter import adapted_runner
    from transforms.write import batch

    monkeypatch.setitem(batch.ROWS_PER_FILE, "articles", 10)
    at = dt.datetime(2021, 8, 16, 12, tzinfo=UTC)
    kabul = (Entity("Kabul", "GPE", 0, 5, "Kabul"),)
    articles = [
        Article(
            f"a{i:02d}", f"{i}.txt", None, None, None, (), at, "en", f"Kabul {i}", "text", cluster_id=f"a{i:02d}", entities=kabul
        )
        for i in range(35)
    ]

    def written(records, folder, shards=1):
        options = beam.options.pipeline_options.PipelineOptions([])
        with beam.Pipeline(runner=adapted_runner(options), options=options) as p:
            _ = {"articles": p | beam.Create(records)} | WriteDataset(str(tmp_path / folder), "run1", shards)
        return {path.relative_to(tmp_path / folder): path.read_bytes() for path in (tmp_path / folder).rglob("*.parquet")}

    files = written(articles, "one")
    month = "published_month=2021-08"
    assert sorted(str(path) for path in files) == [
        *(f"articles/{month}/part-run1-{n:05d}.parquet" for n in range(4)),  # 35 rows, 10 a file: 4 files
        f"entities/{month}/part-run1-00000.parquet",  # 35 rows: under the bound, one file
    ]

    def ids(folder, files):
        return sorted(
            r["article_id"]
            for path in files
            if "articles" in str(path)
            for r in pq.read_table(tmp_path / folder / path).to_pylist()
        )

    assert ids("one", files) == [a.article_id for a in articles]  # every row once
    first = pq.ParquetFile(tmp_path / "one" / f"articles/{month}/part-run1-00000.parquet")
    assert first.num_row_groups > 1  # written a group (10 // GROUPS_PER_FILE rows) at a time, in order
    assert first.read().column("article_id").to_pylist() == sorted(first.read().column("article_id").to_pylist())
    assert written(articles[::-1], "two") == files
    sharded = written(articles, "three", shards=2)  # two shards of ~17 rows, each past the bound: split again
    assert ids("three", sharded) == [a.article_id for a in articles] and len(sharded) > len(files)
    assert [batch.file_count("articles", n) for n in (0, 10, 11, 10**9)] == [1, 1, 2, batch.BUCKETS]


def dataset_of(output, days: list) -> None:
    """Articles published on ``days`` (None: undated), each with one entity, written as the writer lays them out."""
    from transforms.write.parquet import table_batches, table_folder

    files: dict = {}
    for i, day in enumerate(days):
        at = None if day is None else dt.datetime.combine(day, dt.time(23, 30), UTC)
        entity = Entity("Kabul", "GPE", 0, 5, "Kabul")
        article = Article(f"a{i}", f"{i}.txt", None, "E", "T", (), at, "en", "Kabul", "text", entities=(entity,))
        for table, partition, rows in table_batches(article):
            files.setdefault((table, partition), []).extend(rows)
    for (table, partition), rows in files.items():
        write_parquet(f"{table_folder(str(output), table, partition)}/part-r-00000.parquet", rows, TABLES[table])


JUNE = dt.date(2025, 6, 1)
DATASETS = {
    "dated": [dt.date(2025, 5, 31), dt.date(2025, 6, 1), dt.date(2025, 7, 2)],
    "undated": [None, None],
    "mixed": [dt.date(2025, 5, 31), None, dt.date(2025, 7, 2)],
}


@pytest.mark.parametrize("kind", DATASETS)
@pytest.mark.parametrize("table", ["articles", "entities"])
def test_published_date_is_a_date_in_every_reader_and_the_documented_filters_work(tmp_path, kind, table):
    """docs/dataset.md's filters, on data all dated, all undated or mixed: the same type and rows everywhere."""
    dataset_of(tmp_path, DATASETS[kind])
    folder = tmp_path / table
    expected = sum(day is not None and day >= JUNE for day in DATASETS[kind])

    duck = duckdb.sql(f"select * from '{folder}/**/*.parquet'")
    assert dict(zip(duck.columns, map(str, duck.types)))["published_date"] == "DATE"
    assert duckdb.sql(f"select count(*) from '{folder}/**/*.parquet' where published_date >= '2025-06-01'").fetchall() == [
        (expected,)
    ]

    lazy = pl.scan_parquet(f"{folder}/**/*.parquet", hive_partitioning=True)
    assert lazy.collect_schema()["published_date"] == pl.Date
    assert lazy.filter(pl.col("published_date") >= JUNE).collect().height == expected
    assert pl.SQLContext(t=lazy).execute("select * from t where published_date >= '2025-06-01'").collect().height == expected

    frame = pd.read_parquet(folder)
    assert all(day is None or isinstance(day, dt.date) for day in frame["published_date"])  # pandas' dates: objects
    assert len(frame[frame["published_date"] >= JUNE]) == expected
    assert len(pd.read_parquet(folder, filters=[("published_date", ">=", JUNE)])) == expected

    arrow = ds.dataset(folder, partitioning="hive")
    assert arrow.schema.field("published_date").type == pa.date32()
    assert arrow.to_table(filter=ds.field("published_date") >= JUNE).num_rows == expected
    # the folder key is text in every reader, whatever the data (a category in pandas, as every Hive key)
    assert arrow.schema.field("published_month").type == pa.string() and lazy.collect_schema()["published_month"] == pl.String
    assert str(duck.types[duck.columns.index("published_month")]) == "VARCHAR"


@pytest.mark.parametrize("versioned", [False, True])
def test_an_append_onto_the_layout_before_the_date_column_migrates_it(tmp_path, versioned):
    from pipelines.run import main as run
    from tests.support.cli import SEEDS
    from transforms.write.commit import VERSIONS

    output = tmp_path / "out"
    old = output / (f"{VERSIONS}/old" if versioned else "") / "articles" / "published_date=2021-08-16"
    old.mkdir(parents=True)
    pq.write_table(ARTICLES_SCHEMA.empty_table(), old / "part-old-00000.parquet")
    if versioned:
        (output / VERSIONS / "old" / "_SUCCESS").touch()
        (output / "_current").symlink_to(f"{VERSIONS}/old")
    args = ["--runner=DirectRunner", "--input", str(SEEDS / "002*"), "--output", str(output), "-q"]
    assert run([*args, "--write_mode", "append"]) == 0
    assert not list((output / "articles").glob("published_date=*"))  # one layout: today's
    assert (output / "articles" / "published_month=2021-08" / "part-old-00000-2021-08-16.parquet").exists()


def legacy_dataset(output) -> None:
    """A committed dataset as the release before wrote it: ``published_date=<day>|undated`` folders, no date
    column in the files, the state in the version."""
    from transforms.schema import SCHEMAS
    from transforms.write.commit import begin

    version = begin(str(output), "old", append=False)
    kabul = (Entity("Kabul", "GPE", 0, 5, "Kabul"),)
    articles = [
        Article(f"a{i}", f"{i}.txt", None, "E", "T", (), at, "en", "Kabul", "text", cluster_id=f"a{i}", entities=kabul)
        for i, at in enumerate([dt.datetime(2021, 8, 16, 23, 30, tzinfo=UTC), dt.datetime(2021, 8, 17, tzinfo=UTC), None])
    ]
    for article in articles:
        folder = f"published_date={article.published_date or 'undated'}"
        for table, rows in (("articles", [record_row(article)]), ("entities", entity_rows(article))):
            write_parquet(f"{version.root}/{table}/{folder}/part-old-00000.parquet", rows, SCHEMAS[table])
    duplicate = Duplicate("c", "c.txt", None, None, "a0", "a0", 0.9)
    write_parquet(f"{version.root}/duplicates/part-old-00000.parquet", [record_row(duplicate)], SCHEMAS["duplicates"])
    (output / "_versions" / "old" / "_state" / "files").mkdir(parents=True)
    (output / "_versions" / "old" / "_state" / "files" / "keys").write_text("seen\n")
    commit(version, {"run_id": "old"})


def test_an_append_rewrites_the_old_layout_keeping_every_row_and_the_state(tmp_path):
    from transforms.write.commit import abandon, begin, current_version, stale_tables

    output = tmp_path / "out"
    legacy_dataset(output)
    before = {t: ds.dataset(output / t, partitioning="hive").to_table().to_pylist() for t in ("articles", "entities")}
    version = begin(str(output), "next", append=True)
    assert version.migrated == {"articles": 3, "entities": 3}
    commit(version, {"run_id": "next"})
    assert current_version(str(output)) == "next"
    for table, rows in before.items():  # every row, its day now a DATE column, its folder the month
        after = ds.dataset(output / table, partitioning="hive").to_table().to_pylist()
        old_days = [None if r["published_date"] == "undated" else dt.date.fromisoformat(r["published_date"]) for r in rows]
        assert sorted(map(repr, after)) == sorted(
            repr(r | {"published_date": day, "published_month": day and f"{day:%Y-%m}" or "undated"})
            for r, day in zip(rows, old_days)
        )
    assert sorted(p.name for p in (output / "articles" / "published_month=2021-08").iterdir()) == [
        "part-old-00000-2021-08-16.parquet",
        "part-old-00000-2021-08-17.parquet",
    ]
    assert (output / "_state" / "files" / "keys").read_text() == "seen\n"
    assert len(ds.dataset(output / "duplicates").to_table()) == 1
    root = output / "_versions" / current_version(str(output))
    assert stale_tables(str(root)) == {}
    again = begin(str(output), "again", append=True)
    assert again.migrated == {}
    abandon(again)
