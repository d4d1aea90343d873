import datetime as dt
import pickle

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from transforms.schema import Article, Entity, ErrorRecord
from transforms.shuffle import CoGroupByKeyPacked, GroupByKeyPacked, pack, unpack

UTC = dt.UTC


def an_article(i: int) -> Article:
    text = " ".join(f"Officials in Kabul said on Monday that the airport would reopen ({i})." for _ in range(40))
    entities = tuple(Entity("Kabul", "GPE", k * 70, k * 70 + 5, "Kabul") for k in range(40))
    return Article(
        f"a{i}",
        f"{i}.txt",
        None,
        "E",
        "T",
        ("A B",),
        dt.datetime(2021, 8, 16, tzinfo=UTC),
        "en",
        text,
        "text",
        word_count=400,
        entities=entities,
    )


def test_a_packed_record_comes_back_equal_and_much_smaller():
    article = an_article(1)
    packed = pack(article)
    assert unpack(packed) == article
    assert len(packed) < len(pickle.dumps(article)) / 3  # text and entities compressed


def test_packed_grouping_gives_what_group_by_key_gives(test_pipeline):
    pairs = [(i % 3, an_article(i)) for i in range(10)] + [("errors", ErrorRecord("x.txt", "parse", "bad"))]
    with test_pipeline as p:
        grouped = (
            p
            | beam.Create(pairs)
            | GroupByKeyPacked()
            | beam.MapTuple(lambda key, values: (key, sorted(repr(v) for v in values)))
        )
        expected = {}
        for key, value in pairs:
            expected.setdefault(key, []).append(repr(value))
        assert_that(grouped, equal_to([(k, sorted(v)) for k, v in expected.items()]))


def test_packed_join_gives_what_co_group_by_key_gives(test_pipeline):
    articles = [(f"a{i}", an_article(i)) for i in range(4)]
    decisions = [("a1", "duplicate of a0"), ("a1", "second verdict"), ("only-decision", "x")]
    with test_pipeline as p:
        joined = (
            {"article": p | "Articles" >> beam.Create(articles), "decision": p | "Decisions" >> beam.Create(decisions)}
            | CoGroupByKeyPacked()
            | beam.MapTuple(lambda key, grouped: (key, sorted(grouped["decision"]), [a.article_id for a in grouped["article"]]))
        )
        assert_that(
            joined,
            equal_to(
                [
                    ("a0", [], ["a0"]),
                    ("a1", ["duplicate of a0", "second verdict"], ["a1"]),
                    ("a2", [], ["a2"]),
                    ("a3", [], ["a3"]),
                    ("only-decision", ["x"], []),
                ]
            ),
        )
