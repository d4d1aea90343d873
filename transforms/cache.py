"""What a worker builds once per machine instead of once per process: files in a local cache folder, named by
a digest of everything they are built from (code, data package versions, arguments), so a new release or
other arguments build a new file and never read a stale one. A file is written under a temporary name and
renamed into place, so workers building it at once never read half of one. The folder is ``NEWS_CACHE_DIR``,
else ``$XDG_CACHE_HOME/news-pipeline`` (``~/.cache/news-pipeline``); it may be removed at any time. Where it
cannot be written (a read-only home), the file is built in a temporary folder for the one process."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

CACHE_ENV = "NEWS_CACHE_DIR"


def cache_folder() -> Path:
    if explicit := os.environ.get(CACHE_ENV):
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "news-pipeline"


def digest(*parts: bytes | str) -> str:
    """A short name for what a file is built from."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8") if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:20]


@contextlib.contextmanager
def cached_file(name: str, build: Callable[[Path], None]) -> Iterator[Path]:
    """The path of the cache's file ``name``, built by ``build(path)`` first when absent (or in a temporary
    folder, removed after the block, when the cache folder cannot be written)."""
    path = cache_folder() / name
    if path.is_file():
        yield path
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{name}.{os.getpid()}.partial")
        try:
            build(partial)
            os.replace(partial, path)
        finally:
            with contextlib.suppress(OSError):
                partial.unlink()  # a build that failed; after the rename there is none
    except OSError as e:
        logging.getLogger(__name__).info("cache folder %s not writable (%s): %s built for this process", path.parent, e, name)
        with tempfile.TemporaryDirectory() as folder:
            build(Path(folder) / name)
            yield Path(folder) / name
        return
    yield path


def forget(name: str) -> None:
    """Remove a cached file that could not be read (cut short or damaged on disk), to be built again."""
    with contextlib.suppress(OSError):
        (cache_folder() / name).unlink()
