"""One label per name across the run (transforms.entities.corpus): the vote, the relabelling, the Beam face."""

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from transforms import parcels
from transforms.entities import VoteLabelsAcrossRun, load_gazetteer, vote_across, with_places
from transforms.entities.corpus import corpus_label, label_votes, relabel, split_names
from transforms.schema import Article, Entity


def article(article_id: str, *entities: tuple[str, str], language="en") -> Article:
    text = " ".join(name for name, _ in entities)
    out, start = [], 0
    for name, label in entities:
        out.append(Entity(name, label, start, start + len(name), name))
        start += len(name) + 1
    return Article(article_id, f"{article_id}.txt", None, None, None, (), None, language, text, "text", entities=tuple(out))


def labels(a: Article) -> list[tuple[str, str]]:
    return [(e.canonical, e.label) for e in a.entities]


# The trial's mislabels: a name the model reads right in most articles and wrong in one.
RUN = [
    article("1", ("Tesla", "ORG"), ("Olaf Scholz", "PERSON"), ("Berlin", "GPE")),
    article("2", ("Tesla", "ORG"), ("Olaf Scholz", "ORG")),
    article("3", ("Tesla", "PERSON"), ("Olaf Scholz", "PERSON"), ("Berlin", "PERSON")),
    article("4", ("Berlin", "GPE"), ("Moon", "PERSON"), ("Moon", "PERSON")),
    article("5", ("Moon", "LOC")),
    article("6", ("Tesla", "PERSON"), language="fr"),  # another model's labels: never outvoted by English ones
]


def test_a_name_takes_its_clear_majority_label_across_the_run():
    assert corpus_label({"ORG": 2, "PERSON": 1}) == "ORG"
    assert corpus_label({"ORG": 1, "PERSON": 1}) is None  # no clear winner: each article keeps its own
    assert corpus_label({"ORG": 5}) is None  # one label: nothing to decide
    assert corpus_label({"ORG": 3, "PERSON": 2}, majority=0.6) is None
    assert label_votes(RUN[3]) == [(("en", "Berlin"), {"GPE": 1}), (("en", "Moon"), {"PERSON": 2})]


def test_the_run_vote_fixes_the_minority_labels_and_geocodes_anew():
    gazetteer = load_gazetteer()
    placed = [a.__class__(**{**a.__dict__, "entities": with_places(gazetteer, a.entities)}) for a in RUN]
    assert split_names(placed) == 4  # Tesla, Olaf Scholz, Berlin, Moon
    voted = vote_across(placed, gazetteer=gazetteer)
    assert labels(voted[1]) == [("Tesla", "ORG"), ("Olaf Scholz", "PERSON")]
    assert labels(voted[2]) == [("Tesla", "ORG"), ("Olaf Scholz", "PERSON"), ("Berlin", "GPE")]
    assert labels(voted[4]) == [("Moon", "PERSON")]  # two mentions to one: the run's majority, right or wrong
    assert labels(voted[5]) == [("Tesla", "PERSON")]  # French: its own vote
    assert voted[0] is placed[0]  # nothing changed: the same record
    berlin = voted[2].entities[2]
    assert (berlin.country_code, berlin.place_type) == ("DE", "city")  # became a place: looked up
    assert voted[4].entities[0].country_code is None  # stopped being one: no place left
    assert split_names(voted) == 0


def test_relabel_keeps_names_without_a_decision():
    assert relabel(RUN[0], {("en", "Nobody"): "ORG"}) is RUN[0]


def test_the_beam_face_votes_over_the_whole_run_and_removes_its_parcels(test_pipeline, tmp_path, monkeypatch):
    monkeypatch.setattr(parcels, "PARCEL_RECORDS", 2)  # articles in several parcels
    with test_pipeline as p:
        voted = p | beam.Create(RUN) | VoteLabelsAcrossRun(str(tmp_path / "parcels"))
        assert_that(
            voted | beam.Map(lambda a: (a.article_id, tuple(labels(a)))),
            equal_to([(a.article_id, tuple(labels(a))) for a in vote_across(RUN)]),
        )
    assert not (tmp_path / "parcels").exists()
