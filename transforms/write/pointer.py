"""The pointer moved: the one step that makes a sealed version the committed one. On a local disk
``OUTPUT/_current``, a symbolic link replaced by ``rename(2)``; on S3 the object ``OUTPUT/_CURRENT``, put only
``If-Match`` the etag it had when the run began (``If-None-Match: *`` for the first), the lease checked
first; elsewhere the object written whole."""

from __future__ import annotations

import os
import uuid

from apache_beam.io.filesystems import FileSystems

from transforms.files import write_atomically
from transforms.sink import objects
from transforms.sink.view import is_local
from transforms.write.seal import check_lease
from transforms.write.versions import CURRENT, POINTER_OBJECT, VERSIONS, VISIBLE, DatasetError, Version, _local


def publish(version: Version) -> None:
    """Move the pointer to the version: from now on readers see it, all at once. The version it replaces
    stays on disk for readers in flight until the next run begins."""
    if is_local(version.output):
        output = _local(version.output)
        _ensure_links(output)
        temporary = os.path.join(output, f".{CURRENT}.{uuid.uuid4().hex[:8]}")
        os.symlink(os.path.join(VERSIONS, version.run_id), temporary)
        os.replace(temporary, os.path.join(output, CURRENT))
    elif objects.is_s3(version.output):
        check_lease(version)
        pointer = FileSystems.join(version.output, POINTER_OBJECT)
        try:
            objects.put(pointer, version.run_id.encode("utf-8"), if_absent=not version.pointer_tag, if_match=version.pointer_tag)
        except objects.PreconditionFailed:
            raise DatasetError(
                f"another run committed to {version.output} after run {version.run_id} began: not committed"
            ) from None
    else:
        name = version.run_id.encode("utf-8")
        write_atomically(FileSystems.join(version.output, POINTER_OBJECT), lambda sink: sink.write(name))


def _ensure_links(output: str) -> None:
    """The fixed links from the visible names to the pointer; refuses to replace a real folder."""
    for name in VISIBLE:
        link = os.path.join(output, name)
        if os.path.islink(link):
            continue
        if os.path.exists(link):
            raise DatasetError(f"{link} is a real file or folder, not this dataset's link: move it away first")
        os.symlink(os.path.join(CURRENT, name), link)
