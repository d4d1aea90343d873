"""A version committed by hand, as a run's end does it (seal, then publish) without a table format: for
tests that build a dataset's history without running the pipeline."""

from __future__ import annotations

from transforms.write.commit import Version, publish, seal


def commit(version: Version, manifest: dict) -> None:
    seal(version, manifest)
    publish(version)
