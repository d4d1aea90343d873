"""Where feeds come from: a feeds file, a local path, or HTTP with conditional GET."""

from __future__ import annotations

import dataclasses
import datetime as dt
from urllib.parse import urlsplit

from apache_beam.io.filesystem import FileSystem
from apache_beam.io.filesystems import FileSystems

from transforms.feeds.formats import feed_records
from transforms.fetch import FetchError, HttpSettings, fetch
from transforms.files import special_kind
from transforms.schema import FETCH, READ, ErrorRecord, FeedStatus
from transforms.urls import is_url

ACCEPT_FEEDS = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
)


def read_feeds_file(path: str) -> list[str]:
    """Feed URLs or paths, one a line; blank lines and ``#`` comments skipped."""
    with FileSystems.open(path) as handle:
        lines = handle.read().decode("utf-8").splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def feed_source(value: str) -> str:
    """A ``--feed`` value or a feeds file's line: an http(s) URL, or a file path on a filesystem Beam knows
    (local, ``gs://``, ``s3://``, ...), nothing else."""
    source = value.strip()
    if not source:
        raise ValueError("an empty feed: give a URL (http/https) or a file path")
    scheme = urlsplit(source).scheme.lower() if is_url(source) else ""
    if scheme and scheme not in ("http", "https") and scheme not in {fs.scheme() for fs in FileSystem.get_all_subclasses()}:
        raise ValueError(f"not an http(s) URL or a file path: {value!r}")
    return source


def check_feeds_file(path: str) -> None:
    """Refuse (``ValueError``) a feeds file that cannot be read or names no feed: a file emptied by mistake
    would otherwise make the run read the default input instead."""
    try:
        feeds = read_feeds_file(path)
        for feed in feeds:
            feed_source(feed)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"--feeds-file {path}: {getattr(e, 'strerror', None) or e}") from None
    if not feeds:
        raise ValueError(f"--feeds-file {path} names no feed (one URL or path a line)")


def is_web(source: str) -> bool:
    """An http(s) URL, fetched; anything else ``feed_source`` let through is a file path that Beam's
    filesystems read (``s3://bucket/feed.xml`` included: not a URL to fetch)."""
    return is_url(source) and urlsplit(source).scheme.lower() in ("http", "https")


def read_feed(source: str, session, http: HttpSettings, headers: dict[str, str], seen) -> tuple[list, FeedStatus]:
    """Read one feed (a URL with conditional GET ``headers``, or a local path): its entries not ``seen``
    before as raw documents, or one error; and its status row."""
    now = dt.datetime.now(dt.UTC)
    if not is_web(source):  # a file path (local, s3://, gs://, ...), given explicitly
        if kind := special_kind(source):  # opening a FIFO blocks; /dev/zero never ends
            error = f"cannot read feed file: {kind}, not a regular file"
            return [ErrorRecord.of(source, READ, error, feed_url=source)], FeedStatus(source, "failed", now, error=error)
        try:
            with FileSystems.open(source) as handle:
                content = handle.read()
        except OSError as e:
            return [ErrorRecord.of(source, READ, f"cannot read feed file: {e}", feed_url=source)], FeedStatus(
                source, "failed", now, error=str(e)
            )
        return feed_records(source, content, seen)
    try:
        response = fetch(session, source, http, {"Accept": ACCEPT_FEEDS, **headers})
    except FetchError as e:
        return [ErrorRecord.of(source, FETCH, str(e), feed_url=source)], FeedStatus(source, "failed", now, error=str(e))
    if response.status == 304:
        return [], FeedStatus(source, "not_modified", now, http_status=304)
    records, status = feed_records(source, response.body, seen, response.header("Content-Type"))
    return records, dataclasses.replace(
        status,
        http_status=response.status,
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
    )
