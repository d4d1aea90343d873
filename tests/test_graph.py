"""The batch and streaming graphs build under the installed Beam: its type checks run when a transform is
applied, so a release that tightens them (2.78 refused a bare ``tuple`` before a GroupByKey) fails here,
in a second, instead of in a user's first run."""

from __future__ import annotations

import apache_beam as beam
import pytest

from pipelines import batch, streaming
from pipelines.options import NewsPipelineOptions

SEEDS = "seeds/*"


@pytest.mark.parametrize(
    ("build", "args"),
    [
        (batch.build, ["--input", SEEDS]),
        (batch.build, ["--input", SEEDS, "--feed", "http://127.0.0.1:9/feed.xml", "--fetch-articles"]),
        (streaming.build, ["--streaming", "--feed", "http://127.0.0.1:9/feed.xml"]),
    ],
    ids=["batch-files", "batch-feeds", "streaming"],
)
def test_graph_builds_under_installed_beam(tmp_path, build, args):
    options = NewsPipelineOptions(args)
    pipeline = beam.Pipeline(options=options)
    build(pipeline, options, "test-run", str(tmp_path / "version"))
    transforms = pipeline.to_runner_api().components.transforms
    assert len(transforms) > 20
