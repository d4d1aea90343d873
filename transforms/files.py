"""Files that appear whole or not at all, on every filesystem Beam knows (local, GCS, S3, HDFS)."""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Callable
from typing import IO

from apache_beam.io.filesystems import FileSystems


def ensure_folder(folder: str) -> None:
    """Create ``folder`` unless it exists; another worker creating it first is not an error."""
    if FileSystems.exists(folder):
        return
    try:
        FileSystems.mkdirs(folder)
    except OSError:
        if not FileSystems.exists(folder):
            raise


def write_atomically(path: str, write: Callable[[IO[bytes]], None]) -> None:
    """Write ``path`` through ``write(handle)`` under a temporary name in the same folder, then rename it
    into place, replacing any earlier file: a reader sees the old file or the new one, never half of one."""
    folder = posixpath.dirname(path)
    ensure_folder(folder)
    temporary = FileSystems.join(folder, f".{posixpath.basename(path)}.{uuid.uuid4().hex[:8]}.tmp")
    with FileSystems.create(temporary) as sink:
        write(sink)
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([temporary], [path])
