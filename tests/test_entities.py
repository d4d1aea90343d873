import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from transforms.entities import EntitySettings, TagEntities, load_model, mention_name, resolve_aliases, tag_batch
from transforms.schema import Article, Entity


def test_mention_names_drop_possessives_and_the():
    assert mention_name("the  Taliban's") == "Taliban"
    assert mention_name("Putin\u2019s") == "Putin"


def test_short_mentions_resolve_to_the_full_name_seen_before():
    mentions = [
        ("Antony Blinken", "PERSON", 0, 14),
        ("Blinken", "PERSON", 20, 27),
        ("Blinken", "ORG", 30, 37),  # the small model's frequent mislabel of a bare surname
        ("the State Department", "ORG", 40, 60),
        ("State Department", "ORG", 70, 86),
        ("Lavrov", "PERSON", 90, 96),  # never seen in full: stays itself
    ]
    assert resolve_aliases(mentions) == [
        Entity("Antony Blinken", "PERSON", 0, 14, "Antony Blinken"),
        Entity("Blinken", "PERSON", 20, 27, "Antony Blinken"),
        Entity("Blinken", "PERSON", 30, 37, "Antony Blinken"),
        Entity("the State Department", "ORG", 40, 60, "State Department"),
        Entity("State Department", "ORG", 70, 86, "State Department"),
        Entity("Lavrov", "PERSON", 90, 96, "Lavrov"),
    ]


@pytest.fixture(scope="module")
def nlp():
    return load_model(EntitySettings().model)


TEXT = (
    "Russian President Vladimir Putin spoke with Chinese President Xi Jinping about Afghanistan on Wednesday. "
    "Putin said Russia would keep its embassy in Kabul open."
)


def test_tagging_keeps_wanted_labels_with_offsets_into_the_text(nlp):
    article = Article("a", "a.txt", None, None, None, (), None, "en", TEXT, "text")
    [tagged] = tag_batch(nlp, [article], 8)
    assert {e.label for e in tagged.entities} <= {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT"}
    assert "DATE" not in {e.label for e in tagged.entities}
    for e in tagged.entities:
        assert TEXT[e.start : e.end] == e.text
    people = {(e.text, e.canonical) for e in tagged.entities if e.label == "PERSON"}
    assert ("Putin", "Vladimir Putin") in people and ("Xi Jinping", "Xi Jinping") in people
    assert {"Kabul", "Russia", "Afghanistan"} <= {e.text for e in tagged.entities if e.label == "GPE"}


def test_tag_transform_batches_across_shards(test_pipeline):
    articles = [Article(str(i), f"{i}.txt", None, None, None, (), None, "en", TEXT, "text") for i in range(7)]
    with test_pipeline as p:
        tagged = p | beam.Create(articles) | TagEntities(EntitySettings(batch_size=2, shards=3))
        assert_that(
            tagged.articles | beam.Map(lambda a: (a.article_id, any(e.canonical == "Vladimir Putin" for e in a.entities))),
            equal_to([(str(i), True) for i in range(7)]),
            label="tagged",
        )
        assert_that(tagged.errors, equal_to([]), label="no errors")
