"""Entity-tag as a Beam stage: per-language spaCy NER over the cleaned text, in batches, then mentions made
consistent, places geocoded and the article's tone scored.

Each language's model is loaded once per worker process (``apache_beam.utils.shared``), and only when
an article in that language arrives; it is fed in batches with ``nlp.pipe``. An article in a language
with no model keeps no entities and is counted (``tag/not_tagged_<language>``). An article whose language
the clean stage could not tell (short or tabular text, names and numbers) is read as English, the
project's default language, when its letters are mostly Latin script, and is otherwise counted as
``not_tagged_unknown``; Nigerian Pidgin is read as English too (``tables.READ_AS_ENGLISH``). Batches are
Beam's ``BatchElements`` of ``--ner_batch_size`` articles (a stream's: cut from each bundle as it comes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Optional

import apache_beam as beam
from apache_beam.utils import shared
from apache_beam.utils.windowed_value import WindowedValue

from transforms.entities.gazetteer import Gazetteer, load_gazetteer
from transforms.entities.geocode import with_places
from transforms.entities.mentions import entities_of
from transforms.entities.model import ENGLISH, EntitySettings, check_installed, load_model
from transforms.entities.tables import MIN_LATIN_SHARE, READ_AS_ENGLISH
from transforms.entities.tone import tone
from transforms.schema import TAG, Article, ErrorRecord
from transforms.stage import SplitByType, count_in, counter

NOT_TAGGED = "not_tagged_"  # + the article's language, or UNKNOWN: counters of articles left untagged
UNKNOWN = "unknown"


def tagging_language(article: Article, languages: Collection[str]) -> str:
    """The language whose model should tag the article: its own when a model reads it; English for a
    language written as English (``READ_AS_ENGLISH``) and for Latin-script text whose language the clean
    stage could not tell; else its own (no model) or UNKNOWN."""
    language = article.language
    if language in languages:
        return language
    if language is None:
        return ENGLISH if latin_share(article.text) >= MIN_LATIN_SHARE else UNKNOWN
    return ENGLISH if language in READ_AS_ENGLISH else language


def latin_share(text: str) -> float:
    """The share of the text's letters that are Latin script (basic and extended Latin)."""
    letters = [ch for ch in text if ch.isalpha()]
    return sum(ch < "\u0250" for ch in letters) / len(letters) if letters else 0.0


def by_language(articles: Sequence[Article], languages: Collection[str]) -> dict[str, list[int]]:
    """Positions of the articles per tagging language, in order."""
    groups: dict[str, list[int]] = {}
    for i, article in enumerate(articles):
        groups.setdefault(tagging_language(article, languages), []).append(i)
    return groups


def not_tagged_counter(article: Article) -> str:
    return NOT_TAGGED + (article.language or UNKNOWN)


def untagged(article: Article, language: str) -> Article:
    """An article no model reads: no entities, and its tone where a lexicon fits."""
    return dataclasses.replace(article, entities=(), tone=tone(article.text, language))


def tag_batch(
    nlp, articles: Sequence[Article], batch_size: int, language: str, gazetteer: Gazetteer
) -> Iterator[Article | ErrorRecord]:
    """Tag a batch of one language with one ``nlp.pipe`` call, one record out per article in order; if
    the batch fails, retry one by one to isolate the culprit. The docs live in a memory zone: the words
    they add to the model's vocabulary are freed with them (spaCy keeps them otherwise, so a worker grew
    with every new word it read)."""
    try:
        with nlp.memory_zone():
            found = [entities_of(doc) for doc in nlp.pipe((a.text for a in articles), batch_size=batch_size)]
    except Exception:
        if len(articles) == 1:
            article = articles[0]
            try:
                with nlp.memory_zone():
                    found = [entities_of(nlp(article.text))]
            except Exception as e:
                yield ErrorRecord.of(article.source_path, TAG, f"{type(e).__name__}: {e}", article.text, article.feed_url)
                return
        else:
            for article in articles:
                yield from tag_batch(nlp, [article], batch_size, language, gazetteer)
            return
    for article, mentions in zip(articles, found):
        entities = with_places(gazetteer, mentions, article.text)
        yield dataclasses.replace(article, entities=entities, tone=tone(article.text, language))


_MODELS: dict[str, shared.Shared] = {}  # pipeline name -> its handle: one model per name and worker process


def _shared_model(name: str):
    return _MODELS.setdefault(name, shared.Shared()).acquire(lambda: load_model(name), tag=name)


class _TagBatches(beam.DoFn):
    def __init__(self, settings: EntitySettings):
        self.settings = settings
        self.languages = settings.models()
        self.models: dict[str, object] = {}  # pipeline name -> model, acquired on first use

    def setup(self):
        self.models = {}

    def process(self, batch: list[Article]) -> Iterable:
        yield from self._tag(batch)

    def _model(self, language: str):
        name = self.languages[language]
        if name not in self.models:
            self.models[name] = _shared_model(name)
        return self.models[name]

    def _tag(self, batch: list[Article]) -> list[Article | ErrorRecord]:
        """One record per article, in the batch's order."""
        out: list[Optional[Article | ErrorRecord]] = [None] * len(batch)
        for language, positions in by_language(batch, self.languages).items():
            group = [batch[i] for i in positions]
            if language in self.languages:
                records: Iterable = tag_batch(self._model(language), group, self.settings.batch_size, language, load_gazetteer())
            else:
                for article in group:
                    counter(TAG, not_tagged_counter(article)).inc()
                records = (untagged(article, language) for article in group)
            for i, record in zip(positions, records):
                out[i] = record
        return out


class _TagInBundles(_TagBatches):
    """Streaming: batches are cut from each bundle as it comes (a poll's worth of articles), each
    article keeping its timestamp and window; no grouping waits for a window to close."""

    def start_bundle(self):
        self.pending: list[tuple[Article, object, object]] = []

    def process(self, article, timestamp=beam.DoFn.TimestampParam, window=beam.DoFn.WindowParam) -> Iterable:
        self.pending.append((article, timestamp, window))
        if len(self.pending) >= self.settings.batch_size:
            yield from self._flush()

    def finish_bundle(self) -> Iterable:
        yield from self._flush()

    def _flush(self) -> Iterator[WindowedValue]:
        pending, self.pending = self.pending, []
        for (_, timestamp, window), record in zip(pending, self._tag([article for article, _, _ in pending])):
            yield WindowedValue(record, timestamp, [window])


class TagEntities(beam.PTransform):
    """Articles -> articles with ``entities`` and ``tone``; outputs ``.articles`` and ``.errors``. Batches
    are ``BatchElements``' or, in a stream (``in_bundles``), cut from each bundle as it arrives, each
    article keeping its timestamp and window.
    Refuses (ValueError) a model that is not installed, before anything runs."""

    def __init__(self, settings: EntitySettings = EntitySettings(), in_bundles: bool = False):
        super().__init__()
        check_installed(settings.models())
        self.settings, self.in_bundles = settings, in_bundles

    def expand(self, articles):
        size = self.settings.batch_size
        articles = articles | "CountIn" >> count_in(TAG)
        if self.in_bundles:
            tagged = articles | "Tag" >> beam.ParDo(_TagInBundles(self.settings))
        else:
            tagged = (
                articles
                | "Batches" >> beam.BatchElements(min_batch_size=size, max_batch_size=size)
                | "Tag" >> beam.ParDo(_TagBatches(self.settings))
            )
        return tagged | "ByType" >> SplitByType(TAG, articles=Article, errors=ErrorRecord)
