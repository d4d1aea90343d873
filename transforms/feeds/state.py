"""Feed state kept between runs, one file per feed, read by feed (issue 24: a deployment's start-up time and
memory must not grow with its age):

    STATE/feeds/<feed id>.json            a feed's ETag/Last-Modified validators, its polls counted, and the
                                          keys of its entries ingested (entry id or canonical URL), each with
                                          when and at which poll the feed last listed it
    STATE/feeds/<feed id>/<bundle>.txt    keys a stream's bundle ingested from the feed, one a line (folded into
                                          the feed's file by its next poll, or when the next run starts)

A feed's reader loads only its feed's file; no run reads every feed's. Saved only after the run's tables
are written (batch: ``RememberFeedState``, one writer per feed) or as its bundles commit (streaming), inside
the run's version like every state file: a failed run's changes go with its version.

**Pruning.** A key is forgotten when its entry has not been listed by its feed in the last
``FORGET_AFTER_POLLS`` polls that read the feed **and** for ``FORGET_AFTER_SECONDS``: the entry has left the
feed for good. Both, because either alone forgets too soon: a feed polled monthly that lists a shorter page
once, or a feed polled every minute that drops an entry for an hour. A feed that answers 304 or fails is
not polled for this count (its listing is not known). A forgotten entry that comes back is read again; in a
batch append run the dedupe index's ids then set it aside as already ingested (``read/already_ingested``).
Not an option: the rule only drops what its feed no longer lists.

**Per feed, not across feeds.** An entry listed by two feeds is ingested from each (as it always was within
one run); the second copy is the dedupe stage's: a duplicate row.

**Earlier layout.** ``STATE/feeds.json`` (every feed's validators and every entry key, in one file) and
``STATE/ingested/*.txt`` (a stream's keys, one file per bundle) are migrated when a run starts
(``settle``): each key goes to the feed whose rows in the tables carry it, listed as of the migration.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import posixpath
import time
from collections.abc import Callable, Iterable
from typing import Optional

import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from transforms.files import (
    StateFileError,
    read_key_sets,
    read_state_json,
    read_state_text,
    write_atomically,
    write_key_set,
)
from transforms.schema import FeedStatus
from transforms.sink import view

log = logging.getLogger(__name__)

FEEDS_FOLDER = "feeds"
LEGACY_FILE, LEGACY_INGESTED = "feeds.json", "ingested"  # the layout before issue 24
FORGET_AFTER_POLLS = 3
FORGET_AFTER_SECONDS = 30 * 86400.0
KEPT = "kept, not folded"  # what becomes of a bundle file that cannot be read


def feed_id(feed_url: Optional[str]) -> str:
    return hashlib.blake2b((feed_url or "").encode("utf-8"), digest_size=8).hexdigest()


def feed_path(state_dir: str, feed_url: Optional[str]) -> str:
    return FileSystems.join(state_dir, FEEDS_FOLDER, f"{feed_id(feed_url)}.json")


def bundle_folder(state_dir: str, feed_url: Optional[str]) -> str:
    return FileSystems.join(state_dir, FEEDS_FOLDER, feed_id(feed_url))


@dataclasses.dataclass(frozen=True)
class FeedPoll:
    """What one read of a feed tells its state: its validators and, when it was read (not 304, not failed),
    the keys of every entry it listed, seen before or not."""

    feed_url: str
    validators: dict
    listed: Optional[frozenset] = None


@dataclasses.dataclass
class FeedState:
    """One feed's state: validators, polls that read it, and each ingested key -> (last listed at, at poll)."""

    feed_url: Optional[str] = None
    validators: dict[str, str] = dataclasses.field(default_factory=dict)
    polls: int = 0
    entries: dict[str, tuple[float, int]] = dataclasses.field(default_factory=dict)

    @property
    def seen(self) -> frozenset[str]:
        return frozenset(self.entries)

    def conditional_headers(self) -> dict[str, str]:
        return conditional_headers(self.validators)

    def to_json(self) -> bytes:
        entries = {key: [round(at), poll] for key, (at, poll) in sorted(self.entries.items())}
        data = {"feed": self.feed_url, "validators": self.validators, "polls": self.polls, "entries": entries}
        return json.dumps(data, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, data: dict) -> FeedState:
        entries = {key: (float(at), int(poll)) for key, (at, poll) in data.get("entries", {}).items()}
        return cls(data.get("feed"), dict(data.get("validators", {})), int(data.get("polls", 0)), entries)


def load(
    state_dir: Optional[str], feed_url: str, now: Optional[float] = None, damaged: Optional[Callable[[str], None]] = None
) -> tuple[FeedState, list[str]]:
    """A feed's state (its file, and the keys its stream bundles recorded since, as listed ``now`` at its
    latest poll), and the bundle files read (to fold: ``save(..., folded=)``). A damaged file raises a
    ``StateFileError``, or, given ``damaged``, is told to it: a feed's file is read as a new feed's
    (``read_or_new``), a bundle file is left out of those read, so that it is kept, not folded away."""
    if not state_dir:
        return FeedState(feed_url), []
    state = read_or_new(feed_path(state_dir, feed_url), damaged)
    state.feed_url = state.feed_url or feed_url
    bundles = view.match(FileSystems.join(bundle_folder(state_dir, feed_url), "*.txt"))
    read = _fold_bundles(state, bundles, time.time() if now is None else now, damaged)
    return state, read


def read_or_new(path: str, damaged: Optional[Callable[[str], None]] = None) -> FeedState:
    """A feed's file; none is a new feed. A damaged one (not JSON, or not a feed's state) raises a
    ``StateFileError``, or, given ``damaged``, is told to it and read as a new feed, and the file is replaced
    in the run's version (the earlier version keeps it). Losing a feed's keys loses no data: its entries
    read again are set aside by their ids in a batch run (``read/already_ingested``); a stream marks them
    duplicates within its dedupe horizon and writes older ones again, which its status row says."""
    if not view.exists(path):
        return FeedState()
    try:
        data = read_state_json(path)
        try:
            return FeedState.from_json(data)
        except (AttributeError, KeyError, TypeError, ValueError) as e:
            raise StateFileError(path, f"not a feed's state: {e!r}") from None
    except StateFileError as e:
        if damaged is None:
            raise
        damaged(e.damage)
        return FeedState()


def with_damage(status: FeedStatus, damage: list[str]) -> FeedStatus:
    """A feed's status row, naming each damaged file ``load`` told of (``damage``): the feed's own file,
    read as a new feed's, or a bundle file, kept."""
    if not damage:
        return status
    notes = [
        d
        if d.endswith(KEPT)
        else f"{d}: read as a new feed's (entries written before are set aside by their ids; in a stream, "
        "beyond the dedupe horizon, written again)"
        for d in damage
    ]
    return dataclasses.replace(status, error="; ".join(filter(None, (status.error, *notes))))


def _fold_bundles(
    state: FeedState, bundles: list[str], now: float, damaged: Optional[Callable[[str], None]]
) -> list[str]:
    """Add the keys of a feed's bundle files to its ``state``, listed ``now``; returns the files read, the
    only ones that may be deleted as folded. A damaged one raises, or, given ``damaged``, is told to it and
    left out: deleted, its keys would be lost and their entries ingested again."""
    read = []
    for bundle in bundles:
        try:
            keys = set(read_state_text(bundle).splitlines()) - {""}
        except StateFileError as e:
            if damaged is None:
                raise
            damaged(f"{e.damage}: {KEPT}")
            continue
        state.entries.update(dict.fromkeys(keys - state.entries.keys(), (now, state.polls)))
        read.append(bundle)
    return read


def save(state_dir: str, state: FeedState, folded: Iterable[str] = (), discard: Optional[Callable] = None) -> None:
    """Write a feed's file (a new file renamed into place: the previous version's, linked in, is untouched),
    then drop the bundle files folded into it (``discard``: how; by default deleted)."""
    data = state.to_json()
    write_atomically(feed_path(state_dir, state.feed_url), lambda sink: sink.write(data))
    folded = list(folded)
    if discard:
        discard(folded)
    elif own := [path for path in folded if path.startswith(state_dir.rstrip("/") + "/")]:
        FileSystems.delete(own)  # never a file of the version this one starts from (an object store's base)


def conditional_headers(validators: dict[str, str]) -> dict[str, str]:
    headers = {}
    if validators.get("etag"):
        headers["If-None-Match"] = validators["etag"]
    if validators.get("last_modified"):
        headers["If-Modified-Since"] = validators["last_modified"]
    return headers


def validators_of(status: FeedStatus) -> dict[str, str]:
    return {k: v for k, v in (("etag", status.etag), ("last_modified", status.last_modified)) if v}


def polled(state: FeedState, poll: Optional[FeedPoll], ingested: Iterable[str], now: float) -> FeedState:
    """The state after a poll (None: this run did not read the feed) that ingested ``ingested``: listed keys
    refreshed, new keys added, keys that left the feed for good forgotten (``forgotten``)."""
    polls, validators, entries = state.polls, dict(state.validators), dict(state.entries)
    if poll is not None and poll.validators:
        validators = dict(poll.validators)
    if poll is not None and poll.listed is not None:
        polls += 1
        entries.update({key: (now, polls) for key in poll.listed if key in entries})
    entries.update({key: (now, polls) for key in ingested})
    kept = {key: when for key, when in entries.items() if not forgotten(when, polls, now)}
    return FeedState(state.feed_url or (poll and poll.feed_url), validators, polls, kept)


def forgotten(when: tuple[float, int], polls: int, now: float) -> bool:
    """Whether a key last listed at ``when`` (time, poll) has left its feed for good (the module's rule)."""
    at, poll = when
    return polls - poll >= FORGET_AFTER_POLLS and now - at >= FORGET_AFTER_SECONDS


def record_ingested_keys(state_dir: str, keys: Iterable[tuple[Optional[str], str]], bundle: Optional[str] = None) -> None:
    """A bundle's (feed URL, key) pairs, one file per feed (named ``bundle``: recording it twice writes the
    same files). A key with no feed URL (a bundle a release before issue 24 staged) goes to the earlier
    layout's folder, which the next run's start migrates."""
    by_feed: dict[Optional[str], set[str]] = {}
    for feed_url, key in keys:
        by_feed.setdefault(feed_url, set()).add(key)
    for feed_url, feed_keys in by_feed.items():
        folder = FileSystems.join(state_dir, LEGACY_INGESTED) if feed_url is None else bundle_folder(state_dir, feed_url)
        write_key_set(folder, feed_keys, bundle)


def bundle_line(feed_url: Optional[str], key: str) -> str:
    """A (feed, key) pair as one line of a staged bundle's keys (``bundles.KEYS``)."""
    return key if feed_url is None else f"{feed_url}\t{key}"


def from_bundle_line(line: str) -> tuple[Optional[str], str]:
    feed_url, tab, key = line.partition("\t")  # a URL holds no tab
    return (feed_url, key) if tab else (None, line)


def ingested_keys(state_dir: str, feed_url: Optional[str]) -> set[str]:
    """Every key recorded for a feed: its file's and its bundles'."""
    return set(load(state_dir, feed_url)[0].entries)


# --------------------------------------------------------------------------- when a run starts


def settle(state_dir: str, root: str, removed: list, now: Optional[float] = None) -> dict[str, int]:
    """Before the job, in the run's version: the earlier layout migrated (``migrate_legacy``), and the bundle
    files a stream left folded into their feeds' files (a damaged feed file read as a new feed's,
    ``read_or_new``; a damaged bundle file kept, warned and counted, ``_fold_bundles``). A
    file of the version's base is dropped from the version only (local: its link; object stores: named in
    ``removed``). Returns what was done."""
    now = time.time() if now is None else now
    discard = _discarder(root, state_dir, removed)
    migrated = migrate_legacy(state_dir, root, discard, now)
    # in this version (on an object store ``match`` answers with where a file is: often the base's folder,
    # which this run must not write into)
    found = view.match(FileSystems.join(state_dir, FEEDS_FOLDER, "*", "*.txt"))
    folders = {posixpath.dirname(view.in_version(p, state_dir)) for p in found}
    damaged: list[str] = []
    kept: list[str] = []
    for folder in sorted(folders):
        path = f"{folder}.json"
        state = read_or_new(path, damaged.append)
        bundles = view.match(FileSystems.join(folder, "*.txt"))
        read = _fold_bundles(state, bundles, now, kept.append)
        write_atomically(path, lambda sink, data=state.to_json(): sink.write(data))
        discard(read)
    for damage in damaged:
        log.warning("%s: read as a new feed's", damage)
    for damage in kept:
        log.warning("%s (restore it, or its entries may be ingested again)", damage)
    return {
        "feeds_migrated": migrated,
        "feeds_folded": len(folders),
        "feed_files_damaged": len(damaged),
        "bundle_files_kept": len(kept),
    }


def _discarder(root: str, state_dir: str, removed: list) -> Callable[[list[str]], None]:
    """Local: delete (a version's files are its own links). Object stores: name the file, by its path in
    this version, in ``removed`` (left out when the version is sealed; the base's file stays where it is)."""

    def discard(paths: list[str]) -> None:
        if not paths:
            return
        if view.is_local(root):
            FileSystems.delete(paths)
        else:
            removed.extend(view.in_version(path, state_dir) for path in paths)

    return discard


def migrate_legacy(state_dir: str, root: str, discard: Callable, now: float) -> int:
    """``feeds.json`` and ``ingested/*.txt`` -> one file per feed: validators by feed URL; each key to the
    feed whose article or duplicate rows carry it (a key no feed row carries came from a file input, and no
    feed will list it). Returns the feeds written."""
    legacy_file = FileSystems.join(state_dir, LEGACY_FILE)
    bundles = view.match(FileSystems.join(state_dir, LEGACY_INGESTED, "*.txt"))
    has_file = view.exists(legacy_file)
    if not has_file and not bundles:
        return 0
    data = read_state_json(legacy_file) if has_file else {}
    seen = set(data.get("seen", [])) | read_key_sets(FileSystems.join(state_dir, LEGACY_INGESTED))
    states: dict[str, FeedState] = {}
    for feed_url, validators in data.get("validators", {}).items():
        states[feed_url] = FeedState(feed_url, dict(validators))
    for feed_url, key in feed_keys_in_tables(root):
        if key in seen:
            states.setdefault(feed_url, FeedState(feed_url)).entries[key] = (now, 0)
    for feed_url, state in states.items():
        # a feed file already there (a stream's bundle finished first)
        current, _ = load(state_dir, feed_url, damaged=log.warning)
        state.entries = {**state.entries, **current.entries}
        state.validators = current.validators or state.validators
        save(state_dir, state)
    discard([legacy_file] if has_file else [])
    discard(bundles)
    return len(states)


def feed_keys_in_tables(root: str) -> Iterable[tuple[str, str]]:
    """(feed URL, entry key) of every article and duplicate row a feed gave, in the version at ``root``."""
    from transforms.feeds.formats import entry_keys

    wanted = ("feed_url", "entry_id", "url")
    for table in ("articles", "duplicates"):
        for relative, path in sorted(view.files_under(root, table).items()):
            if not relative.endswith(".parquet"):
                continue
            with FileSystems.open(path) as handle:
                parquet = pq.ParquetFile(handle)
                columns = [c for c in wanted if c in parquet.schema_arrow.names]
                if "feed_url" not in columns:
                    continue
                rows = parquet.read(columns=columns).to_pylist()
            for row in rows:
                if row.get("feed_url"):
                    for key in entry_keys(row.get("entry_id"), row.get("url")):
                        yield row["feed_url"], key
