"""Entity-tag: which model per language (``model``), the model's entities made consistent within an
article (``mentions``, ``aliases``), places resolved offline (``gazetteer``, ``geocode``), the article's
tone (``tone``), heuristic tables (``tables``), the Beam stage that tags articles in batches (``tag``), and
one label per name across the run (``corpus``)."""

from transforms.entities.aliases import mention_name, resolve_aliases
from transforms.entities.corpus import VoteLabelsAcrossRun, vote_across
from transforms.entities.gazetteer import Gazetteer, Place, load_gazetteer
from transforms.entities.geocode import geocode_mentions, with_places
from transforms.entities.mentions import entities_of, mentions_of, propagate, vote_labels
from transforms.entities.model import EntitySettings, language_models, load_model
from transforms.entities.tag import NOT_TAGGED, UNKNOWN, TagEntities, tag_batch
from transforms.entities.tone import tone

__all__ = [
    "NOT_TAGGED",
    "UNKNOWN",
    "EntitySettings",
    "Gazetteer",
    "Place",
    "TagEntities",
    "VoteLabelsAcrossRun",
    "entities_of",
    "geocode_mentions",
    "language_models",
    "load_gazetteer",
    "load_model",
    "mention_name",
    "mentions_of",
    "propagate",
    "resolve_aliases",
    "tag_batch",
    "tone",
    "vote_across",
    "vote_labels",
    "with_places",
]
