"""Entity-tag as a Beam stage: spaCy NER over the cleaned text, in batches, with aliases resolved.

The model is loaded once per worker process (``DoFn.setup`` through ``apache_beam.utils.shared``) and fed
in batches with ``nlp.pipe``. Batches are formed by grouping articles on a hashed shard key rather than by
``BatchElements``, whose last batch is emitted in ``finish_bundle``, which not every runner honours.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence

import apache_beam as beam
from apache_beam.utils import shared
from apache_beam.utils.windowed_value import WindowedValue

from transforms.entities.aliases import resolve_aliases
from transforms.entities.model import KEPT_LABELS, EntitySettings, load_model
from transforms.schema import TAG, Article, Entity, ErrorRecord, shard_of
from transforms.shuffle import GroupByKeyPacked
from transforms.stage import SplitByType, count_in


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
        articles = articles | "CountIn" >> count_in(TAG)
        if self.in_bundles:
            tagged = articles | "Tag" >> beam.ParDo(_TagInBundles(self.settings))
        else:
            tagged = (
                articles
                | "ShardKey" >> beam.Map(lambda a: (shard_of(a.article_id, shards), a))
                | "Batches" >> GroupByKeyPacked()
                | "Tag" >> beam.ParDo(_TagShard(self.settings))
            )
        return tagged | "ByType" >> SplitByType(TAG, articles=Article, errors=ErrorRecord)
