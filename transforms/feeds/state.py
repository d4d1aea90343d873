"""Feed state kept between runs: each feed's ``ETag``/``Last-Modified`` validators and the keys of the
entries already ingested (entry id or canonical URL), in ``STATE/feeds.json`` and, for streaming jobs,
one file per written bundle under ``STATE/ingested/``. Saved only after the run's tables are written.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from typing import Optional

from apache_beam.io.filesystems import FileSystems

from transforms.files import read_key_sets, read_state_json, write_atomically, write_key_set
from transforms.schema import FeedStatus
from transforms.sink import view

STATE_FILE = "feeds.json"
INGESTED_FOLDER = "ingested"


@dataclasses.dataclass
class FeedState:
    """What the next run must remember: each feed's validators and the keys of the entries ingested."""

    validators: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    seen: set[str] = dataclasses.field(default_factory=set)

    @classmethod
    def load(cls, state_dir: Optional[str]) -> FeedState:
        path = state_path(state_dir)
        if not path:
            return cls()
        data = {}
        if view.exists(path):
            data = read_state_json(path)
        return cls(data.get("validators", {}), set(data.get("seen", [])) | ingested_keys(state_dir))

    def save(self, state_dir: str) -> None:
        data = json.dumps({"validators": self.validators, "seen": sorted(self.seen)}, indent=1).encode("utf-8")
        write_atomically(state_path(state_dir), lambda sink: sink.write(data))

    def conditional_headers(self, feed_url: str) -> dict[str, str]:
        return conditional_headers(self.validators.get(feed_url, {}))


def conditional_headers(validators: dict[str, str]) -> dict[str, str]:
    headers = {}
    if validators.get("etag"):
        headers["If-None-Match"] = validators["etag"]
    if validators.get("last_modified"):
        headers["If-Modified-Since"] = validators["last_modified"]
    return headers


def validators_of(status: FeedStatus) -> dict[str, str]:
    return {k: v for k, v in (("etag", status.etag), ("last_modified", status.last_modified)) if v}


def ingested_keys(state_dir: str) -> set[str]:
    """The entry keys a streaming job recorded, one file per bundle it wrote."""
    return read_key_sets(FileSystems.join(state_dir, INGESTED_FOLDER))


def record_ingested_keys(state_dir: str, keys: Iterable[str], bundle: Optional[str] = None) -> None:
    """One file per bundle written (named ``bundle``: recording a bundle twice writes the same file)."""
    write_key_set(FileSystems.join(state_dir, INGESTED_FOLDER), keys, bundle)


def state_path(state_dir: Optional[str]) -> Optional[str]:
    return FileSystems.join(state_dir, STATE_FILE) if state_dir else None


def updated_state(state: FeedState, statuses: Iterable[FeedStatus], ingested_keys: Iterable[str]) -> FeedState:
    validators = dict(state.validators)
    for status in statuses:
        if status.status == "fetched" and validators_of(status):
            validators[status.feed_url] = validators_of(status)
    return FeedState(validators, state.seen | set(ingested_keys))
