import datetime as dt

import apache_beam as beam
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from transforms.schema import ARTICLES_SCHEMA, ERRORS_SCHEMA, Article, Duplicate, Entity, ErrorRecord, entity_rows, record_row
from transforms.write import WriteDataset, write_parquet
from transforms.write.commit import ensure_tables

UTC = dt.UTC


def test_write_parquet_lands_the_file_in_new_folders(tmp_path):
    path = tmp_path / "articles" / "published_date=2021-08-16" / "part-x.parquet"
    write_parquet(str(path), [], ARTICLES_SCHEMA)
    assert path.exists()
    assert [p.name for p in path.parent.iterdir()] == ["part-x.parquet"]  # no temp file left behind
    assert pq.read_schema(path) == ARTICLES_SCHEMA


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

    assert not list(tmp_path.rglob(".*tmp"))
    articles = ds.dataset(tmp_path / "articles", partitioning="hive").to_table()
    assert articles.schema.remove(articles.schema.get_field_index("published_date")) == ARTICLES_SCHEMA
    rows = {r["article_id"]: r for r in articles.to_pylist()}
    assert rows["d"]["published_date"] == "2021-08-16" and rows["u"]["published_date"] == "undated"
    assert rows["d"] | {"published_date": None} == record_row(dated) | {"published_date": None}
    assert (tmp_path / "articles" / "published_date=2021-08-16" / "part-run1-00000.parquet").exists()
    assert ds.dataset(tmp_path / "entities", partitioning="hive").to_table().num_rows == 1
    assert ds.dataset(tmp_path / "duplicates").to_table().to_pylist()[0]["canonical_article_id"] == "d"
    assert not (tmp_path / "errors").exists()  # no error rows: sealing the version gives the table its schema file
    ensure_tables(str(tmp_path), "run1")
    errors = ds.dataset(tmp_path / "errors").to_table()
    assert errors.num_rows == 0 and errors.schema == ERRORS_SCHEMA
