"""PollFeeds: the streaming source. An unbounded stream of ticks polls every feed with conditional GET;
each new entry becomes a ``RawDocument`` timestamped by its published time.

Ticks come from a splittable DoFn (``PeriodicImpulse``'s design, plus a stop): tick ``i`` fires at
``start + i * interval`` in wall-clock time, until ``--run-for`` has passed or a stop file appears (what
Ctrl-C and SIGTERM create), and then the restriction ends, the watermark goes to the end of time and
the runner drains. Beam's ``PeriodicImpulse`` cannot be the source: it ends only at its stop time (a
stream here must end when asked, and draining is not something every runner, the local one included,
offers), and it keeps the watermark at the latest tick, where this one holds it the allowed lateness behind.
The watermark trails the latest tick by the allowed lateness: an entry published up
to that long before its poll keeps its published time as element timestamp; an older one (a feed
that lists last week's stories) is stamped at the watermark, so no runner ever drops it as late, and its
``published_at`` column keeps the real time.

Per feed, a stateful DoFn (keyed by feed URL) keeps the ``ETag``/``Last-Modified`` validators and the
keys of the entries already emitted, so an unchanged repeat of an entry never goes further. The keys
outlive the job: the writer records every ingested entry under ``STATE/ingested/`` as its bundle commits
(``transforms/write/bundles.py``: the files and the keys together), one file per feed and bundle, and each
poll reads its feed's (``feeds/state.py``: read by feed, folded and pruned as the feed is polled), so a
restarted job starts from them (validators are not kept across restarts: the first poll of a new job is unconditional, so nothing
fetched-but-unwritten by the last job is skipped).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterable
from typing import Optional

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
from apache_beam.transforms import userstate
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Duration, Timestamp

from transforms.feeds.formats import entry_keys
from transforms.feeds.sources import read_feed
from transforms.feeds.state import FeedPoll, conditional_headers, load, polled, save, validators_of, with_damage
from transforms.feeds.transforms import feed_counter
from transforms.fetch import HttpSettings, new_session
from transforms.parse.dates import parse_datetime
from transforms.schema import READ, ErrorRecord, FeedStatus, RawDocument
from transforms.stage import SplitByType

NO_END = 2**62
STOP_CHECK_SECONDS = 1.0  # how soon a stop file is noticed between ticks


@dataclasses.dataclass(frozen=True)
class PollSchedule:
    start: float  # epoch seconds of the first tick
    interval: float  # seconds between polls
    until: Optional[float]  # epoch seconds after which no tick fires; None: until stopped
    lateness: float  # seconds the watermark trails the latest tick
    stop_file: Optional[str]  # polling ends when this file exists

    def ticks(self) -> int:
        return NO_END if self.until is None else max(1, math.ceil((self.until - self.start) / self.interval))


# ---------------------------------------------------------------------------------- plain functions


def event_time(published: Optional[str], polled_at: float, lateness: float) -> float:
    """An entry's element timestamp: its published time, kept within [poll - lateness, poll]."""
    when = parse_datetime(published)
    return polled_at if when is None else min(max(when.timestamp(), polled_at - lateness), polled_at)


def stop_requested(schedule: PollSchedule) -> bool:
    return bool(schedule.stop_file) and FileSystems.exists(schedule.stop_file)


# ----------------------------------------------------------------------------------- Beam transforms


class _TickRange(RestrictionProvider):
    def initial_restriction(self, schedule: PollSchedule) -> OffsetRange:
        return OffsetRange(0, schedule.ticks())

    def create_tracker(self, restriction: OffsetRange) -> OffsetRestrictionTracker:
        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, schedule, restriction: OffsetRange) -> int:
        return restriction.size()

    def truncate(self, schedule, restriction):  # on drain: no more ticks
        return None


class _Ticks(beam.DoFn):
    """Tick times (epoch seconds, timestamped) on the wall clock, holding the watermark ``lateness`` behind."""

    @beam.DoFn.unbounded_per_element()
    def process(
        self,
        schedule: PollSchedule,
        tracker=beam.DoFn.RestrictionParam(_TickRange()),
        watermark=beam.DoFn.WatermarkEstimatorParam(ManualWatermarkEstimator.default_provider()),
    ) -> Iterable:
        index = tracker.current_restriction().start
        # Beam's FnApiRunner resumes a deferred remainder at once, whatever its delay (tests/test_beam_defects.py::
        # test_a_deferred_remainder_resumes_at_once_whatever_its_delay): waiting here for the first due tick (at
        # most STOP_CHECK_SECONDS) keeps it from spinning through thousands of bundles a minute. A runner that
        # honours the delay resumes when the tick is due and does not wait.
        time.sleep(max(0.0, min(schedule.start + schedule.interval * index - time.time(), STOP_CHECK_SECONDS)))
        while True:
            due = schedule.start + schedule.interval * index
            last = tracker.current_restriction().stop - 1
            if index > last:
                return
            if (schedule.until is not None and due >= schedule.until) or stop_requested(schedule):
                tracker.try_claim(last)  # claim the rest without output: the source is done
                return
            if due > time.time():
                _advance(watermark, due - schedule.lateness)
                tracker.defer_remainder(Duration(min(due - time.time(), STOP_CHECK_SECONDS)))
                return
            if not tracker.try_claim(index):
                return
            _advance(watermark, due - schedule.lateness)
            yield TimestampedValue(due, due)
            index += 1


def _advance(watermark, seconds: float) -> None:
    current = watermark.current_watermark()
    if current is None or Timestamp(seconds) > current:
        watermark.set_watermark(Timestamp(seconds))


class _PollFeed(beam.DoFn):
    """One feed's polls, in order: conditional GET with its validators, entries not emitted before."""

    VALIDATORS = userstate.ReadModifyWriteStateSpec("validators", PickleCoder())
    SEEN = userstate.ReadModifyWriteStateSpec("seen", PickleCoder())  # entry key -> epoch seconds last listed

    def __init__(self, http: HttpSettings, state_dir: Optional[str], lateness: float, forget_after: float):
        self.http, self.state_dir, self.lateness, self.forget_after = http, state_dir, lateness, forget_after
        self.polled = feed_counter("entries_polled")
        self.already_seen = feed_counter("entries_already_seen")
        self.not_modified = feed_counter("not_modified")
        self.feeds = feed_counter("fetched")
        self.damaged = feed_counter("state_damaged")

    def setup(self):
        self.session = new_session(self.http)

    def teardown(self):
        self.session.close()

    def process(
        self,
        feed_tick,
        validators_state=beam.DoFn.StateParam(VALIDATORS),
        seen_state=beam.DoFn.StateParam(SEEN),
    ) -> Iterable:
        feed_url, polled_at = feed_tick
        seen: dict[str, float] = seen_state.read() or {}
        validators = validators_state.read() or {}
        records, status = read_feed(feed_url, self.session, self.http, conditional_headers(validators), frozenset())
        self.feeds.inc()
        listed = None
        if status.status == "not_modified":
            self.not_modified.inc()
        elif status.status == "fetched":
            validators_state.write(validators_of(status))
            listed = {key for r in records if isinstance(r, RawDocument) for key in entry_keys(r.entry_id, r.url)}
            # a key is forgotten once its entry has left the feed for good
            seen = {key: when for key, when in seen.items() if key in listed or when > polled_at - self.forget_after}
            seen.update(dict.fromkeys(listed & seen.keys(), polled_at))
        damage: list[str] = []
        known = seen.keys() | self._recorded(feed_url, listed, damage)
        if damage:
            self.damaged.inc()
        status = with_damage(status, damage)
        new = [r for r in records if not isinstance(r, RawDocument) or not entry_keys(r.entry_id, r.url) & known]
        new_entries = sum(isinstance(r, RawDocument) for r in new)
        self.polled.inc(status.entries)
        self.already_seen.inc(status.entries - new_entries)
        yield TimestampedValue(dataclasses.replace(status, new_entries=new_entries), polled_at)
        for record in new:  # a feed that cannot be read is one document too: its error row
            if isinstance(record, RawDocument):
                seen.update(dict.fromkeys(entry_keys(record.entry_id, record.url), polled_at))
                yield TimestampedValue(record, event_time(record.published, polled_at, self.lateness))
            else:
                yield TimestampedValue(record, polled_at)
        seen_state.write(seen)

    def _recorded(self, feed_url: str, listed: Optional[set], damage: list[str]) -> frozenset:
        """The keys recorded for this feed by earlier jobs and this one's committed bundles (its state file,
        read by feed); a poll that read the feed also counts in that file (listed keys refreshed, what left
        the feed for good forgotten, the bundles folded in). Keys only committed bundles wrote: an entry
        emitted and not yet written is never recorded here, so a kill loses none. A damaged feed file is read
        as a new feed's (``state.read_or_new``) and replaced by the poll's save; a damaged bundle file is kept
        (``state.load``), and the feed's file saved at each poll while it is."""
        if not self.state_dir:
            return frozenset()
        state, bundles = load(self.state_dir, feed_url, damaged=damage.append)
        if listed is not None or damage:
            listing = frozenset(listed) if listed is not None else None
            save(self.state_dir, polled(state, FeedPoll(feed_url, {}, listing), (), time.time()), folded=bundles)
        return state.seen


class PollFeeds(beam.PTransform):
    """Feed URLs, polled on a schedule -> an unbounded stream; outputs ``.documents``, ``.errors`` and
    ``.feeds`` (one status row per feed per poll), each element timestamped in event time."""

    def __init__(
        self, sources: list[str], schedule: PollSchedule, http: HttpSettings, state_dir: Optional[str], forget_after: float
    ):
        super().__init__()
        self.sources, self.schedule, self.http, self.state_dir = list(sources), schedule, http, state_dir
        self.forget_after = forget_after

    def expand(self, pbegin):
        sources = self.sources
        return (
            pbegin
            | "Schedule" >> beam.Create([self.schedule])
            | "Ticks" >> beam.ParDo(_Ticks())
            | "EveryFeed"
            >> beam.FlatMap(lambda tick: ((source, tick) for source in sources)).with_output_types(tuple[str, float])
            | "Poll" >> beam.ParDo(_PollFeed(self.http, self.state_dir, self.schedule.lateness, self.forget_after))
            | "ByType" >> SplitByType(READ, documents=RawDocument, errors=ErrorRecord, feeds=FeedStatus)
        )
