"""Feeds: RSS/Atom/RDF/JSON Feed files and HTTP feeds -> ``RawDocument`` records, one per entry.

``formats`` parses a feed's bytes, ``sources`` gets them (file or conditional GET), ``state`` remembers
validators and ingested entries between runs, ``transforms`` is the batch Beam face and ``poll`` the
streaming source.
"""

from transforms.feeds.formats import entry_keys, feed_records, parse_feed
from transforms.feeds.sources import check_feeds_file, feed_source, read_feeds_file
from transforms.feeds.state import FeedState
from transforms.feeds.transforms import FEED_COUNTERS, FEEDS_NAMESPACE, ReadFeeds, RememberFeedState

__all__ = [
    "FEED_COUNTERS",
    "FEEDS_NAMESPACE",
    "FeedState",
    "ReadFeeds",
    "RememberFeedState",
    "check_feeds_file",
    "entry_keys",
    "feed_records",
    "feed_source",
    "parse_feed",
    "read_feeds_file",
]
