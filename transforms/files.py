"""Files that appear whole or not at all, on every filesystem Beam knows (local, GCS, S3, HDFS)."""

from __future__ import annotations

import io
import json
import os
import posixpath
import shutil
import stat
import uuid
from collections.abc import Callable, Iterable
from typing import IO, Optional

from apache_beam.io.filesystems import FileSystems

from transforms.sink import objects, view

_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


def special_kind(path: str) -> Optional[str]:
    """What a local path is when it is no regular file ("a FIFO", "a character device", ...), else None.
    Asked of the inode (links followed) without opening it: opening a FIFO blocks until a writer comes,
    and ``/dev/zero`` never ends. Paths on object stores are always regular files."""
    if FileSystems.get_scheme(path) not in (None, "file"):
        return None
    try:
        mode = os.stat(path.removeprefix("file://")).st_mode
    except (OSError, ValueError):
        return None  # gone, or a broken link: opening it says what is wrong
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _SPECIAL_KINDS if test(mode)), "not a regular file")


def printable_path(path: str | bytes) -> str:
    """A path as UTF-8 text: bytes that are no UTF-8 (a name made elsewhere, e.g. Latin-1) as ``\\xff``."""
    raw = path if isinstance(path, bytes) else os.fsencode(path)
    return raw.decode("utf-8", errors="backslashreplace")


def ensure_folder(folder: str) -> None:
    """Create ``folder`` unless it exists; another worker creating it first is not an error."""
    if FileSystems.exists(folder):
        return
    try:
        FileSystems.mkdirs(folder)
    except OSError:
        if not FileSystems.exists(folder):
            raise


def remove_folder(folder: str) -> None:
    """A folder and everything under it, on every filesystem; a missing one is no error."""
    if view.is_local(folder):
        shutil.rmtree(folder.removeprefix("file://"), ignore_errors=True)
    elif objects.is_s3(folder):
        objects.remove_folder(folder)
    elif FileSystems.exists(folder):
        FileSystems.delete([folder])


def write_atomically(path: str, write: Callable[[IO[bytes]], None]) -> None:
    """Write ``path`` through ``write(handle)`` so that a reader sees the old file or the new one, never
    half of one and never none. Where a folder's rename replaces a file in one step (local filesystems:
    ``rename(2)``), under a temporary name renamed into place; on an object store, where a rename is a copy
    and a delete, straight to its name: an object appears whole when its upload completes, replacing the
    old one in the same step."""
    folder = posixpath.dirname(path)
    ensure_folder(folder)
    if path.startswith("s3://"):  # Beam's S3 uploader cannot write an empty object (test_beam_defects)
        buffer = io.BytesIO()
        write(buffer)
        objects.put(path, buffer.getvalue())
        return
    if FileSystems.get_scheme(path) not in (None, "file"):
        with FileSystems.create(path) as sink:
            write(sink)
        return
    temporary = FileSystems.join(folder, f".{posixpath.basename(path)}.{uuid.uuid4().hex[:8]}.tmp")
    with FileSystems.create(temporary) as sink:
        write(sink)
    os.replace(temporary.removeprefix("file://"), path.removeprefix("file://"))


STATE_TEXT = (".txt", ".json")  # the state's text files (key sets, feed files); the rest is Parquet
# State read by key, each file checked as it is read: partitioned key sets (``keyed_sets``) and the feed
# state, one file per feed (``feeds.state.FEEDS_FOLDER``).
READ_BY_KEY = ("/part=", "/feeds/")


class StateFileError(ValueError):
    """A state file that cannot be read: named, with what to do, in one line (``damage``: without the advice)."""

    def __init__(self, path: str, why: str):
        self.damage = f"state file {path} is damaged ({why})"
        super().__init__(f"{self.damage}: restore it, or rebuild the dataset and its state with --write_mode overwrite")


def read_state_text(path: str) -> str:
    """A state file's text; a ``StateFileError`` naming it when it is not UTF-8 (a damaged file)."""
    with view.open_file(path) as handle:
        data = handle.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise StateFileError(path, f"not UTF-8 at byte {e.start}") from None


def read_state_json(path: str):
    """A state file's JSON; a ``StateFileError`` naming it when it is damaged."""
    try:
        return json.loads(read_state_text(path))
    except json.JSONDecodeError as e:
        raise StateFileError(path, f"not JSON: {e.msg} at byte {e.pos}") from None


def check_state_files(folder: str) -> None:
    """Read every text file of a state folder once, before any work: a damaged one is a ``StateFileError``
    said by the command, not a traceback from a worker halfway through the run. State read by key
    (``READ_BY_KEY``: a partitioned key set's files, each feed's file) is not: a run reads the few it needs,
    each checked as it is read, and reading a million keys here would cost every run what partitioning saves."""
    for path in view.match(FileSystems.join(folder, "**")):
        keyed = any(place in path[len(folder) :] for place in READ_BY_KEY)
        if path.endswith(STATE_TEXT) and not keyed and not posixpath.basename(path).startswith("."):
            (read_state_json if path.endswith(".json") else read_state_text)(path)


def read_key_sets(folder: str) -> set[str]:
    """Every key in the key files of ``folder`` (one key a line): sets that runs and bundles add to by
    writing new files, never by rewriting one, so parallel writers never race."""
    keys: set[str] = set()
    for path in view.match(FileSystems.join(folder, "*.txt")):
        keys.update(line for line in read_state_text(path).splitlines() if line)
    return keys


def write_key_set(folder: str, keys: Iterable[str], name: Optional[str] = None) -> Optional[str]:
    """Add ``keys`` to the set in ``folder`` as one new file (``name``: the same file each time, so writing
    it again adds nothing); returns its path (None when no key)."""
    keys = sorted(set(keys))
    if not keys:
        return None
    data = "\n".join(keys).encode("utf-8")
    path = FileSystems.join(folder, f"{name or uuid.uuid4().hex}.txt")
    write_atomically(path, lambda sink: sink.write(data))
    return path
