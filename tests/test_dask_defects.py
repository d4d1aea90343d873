"""Minimal reproductions of the Beam 2.78 DaskRunner defects the pipeline is built around.

Each test asserts the defect as it stands. If one fails, Beam has fixed that defect and the workaround
named in its docstring can go.
"""

from __future__ import annotations

import uuid

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

DASK = "apache_beam.runners.dask.dask_runner.DaskRunner"


def run_on_dask(build, address: str) -> None:
    options = PipelineOptions([f"--runner={DASK}", f"--dask_client_address={address}"])
    pipeline = beam.Pipeline(options=options)
    build(pipeline)
    result = pipeline.run()
    result.wait_until_finish()
    result.client.close()


def writer(folder):
    def write(element):
        (folder / f"{element}").write_text("")
        return element

    return write


def test_tagged_outputs_are_delivered_into_the_main_output(tmp_path, dask_scheduler):
    """Side outputs (``with_outputs``) end up in the main output too (``apply_dofn_to_bundle`` keeps one
    receiver for every tag). Workaround: ``pipelines.adapter`` runs such a ParDo as one emitting (tag, value) pairs, on the DaskRunner only."""

    def split(n):
        yield beam.pvalue.TaggedOutput("odd", n) if n % 2 else n

    def build(pipeline):
        outputs = pipeline | beam.Create([1, 2, 3, 4]) | beam.ParDo(split).with_outputs("odd", main="even")
        _ = outputs.even | "WriteEven" >> beam.Map(writer(tmp_path))

    run_on_dask(build, dask_scheduler)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1", "2", "3", "4"]  # correct would be ["2", "4"]


def test_only_the_lineage_of_the_last_transform_runs(tmp_path, dask_scheduler):
    """``DaskRunner.run_pipeline`` computes ``dask.optimize(<the last bag>)``: a branch that does not lead
    to the last transform never runs. Workaround: ``pipelines.adapter`` flattens every PCollection nothing
    reads into one last transform, on the DaskRunner only."""

    def build(pipeline):
        _ = pipeline | "First" >> beam.Create(["first"]) | "WriteFirst" >> beam.Map(writer(tmp_path))
        _ = pipeline | "Last" >> beam.Create(["last"]) | "WriteLast" >> beam.Map(writer(tmp_path))

    run_on_dask(build, dask_scheduler)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last"]  # correct would be ["first", "last"]


def test_a_side_input_beside_its_own_lineage_holds_elements_several_times(tmp_path, dask_scheduler):
    """A ``ParDo`` whose side input is its own main input, downstream of a ``GroupByKey``, sees each
    element of the side input several times. Workaround: the run-wide label vote
    (``transforms.entities.corpus.VoteLabelsAcrossRun``) joins its decisions to the articles instead of
    reading them as a side input."""

    def build(pipeline):
        numbers = (
            pipeline
            | beam.Create(range(8))
            | beam.Map(lambda n: (n % 2, n))
            | beam.GroupByKey()
            | beam.FlatMap(lambda group: group[1])
        )
        _ = (
            numbers
            | "Seen" >> beam.Map(lambda n, side: f"{n}-{len(side)}", side=beam.pvalue.AsList(numbers))
            | "Write" >> beam.Map(writer(tmp_path))
        )

    run_on_dask(build, dask_scheduler)
    seen = [p.name for p in tmp_path.iterdir()]
    assert len(seen) == 8 and {name.split("-")[1] for name in seen} != {"8"}  # correct: each of the 8 sees 8


def test_metrics_are_not_collected(dask_scheduler):
    """``DaskRunnerResult.metrics()`` raises: the run summary reads its counts back from the written files."""
    import pytest

    options = PipelineOptions([f"--runner={DASK}", f"--dask_client_address={dask_scheduler}"])
    pipeline = beam.Pipeline(options=options)
    _ = pipeline | beam.Create([1]) | beam.Map(lambda x: x)
    result = pipeline.run()
    result.wait_until_finish()
    with pytest.raises(NotImplementedError):
        result.metrics()
    result.client.close()


def test_a_transform_upstream_of_a_side_input_runs_more_than_once(tmp_path, dask_scheduler):
    """A ``ParDo`` whose output is read both as a main input and, downstream of a ``GroupByKey``, as a side
    input runs more than once per element: the side input's lineage is computed again, apart from the main
    graph (``DaskSideInputIterator`` computes it from inside a worker); the same graph with a ``Flatten`` in
    place of the side input runs it once. Found by the runners' corpus: ``transforms.read._ReadFiles`` ran a second time after
    ``RememberFiles`` had written this very run's file keys, saw every file as already ingested and skipped
    it, so the read stage's error rows were lost (``tests/test_runners.py::test_dask_runner``). Guard: no
    stage reads a side input, and the adapted DaskRunner refuses a graph that does
    (``pipelines.adapter._refuse_side_inputs``)."""

    def once(n):
        (tmp_path / f"{n}-{uuid.uuid4().hex}").write_text("")
        return n

    def build(pipeline):
        numbers = pipeline | beam.Create(range(4)) | "Once" >> beam.Map(once)
        grouped = numbers | beam.Map(lambda n: (n % 2, n)) | beam.GroupByKey() | beam.FlatMap(lambda g: g[1])
        _ = numbers | "Seen" >> beam.Map(lambda n, side: (n, len(side)), side=beam.pvalue.AsList(grouped))

    run_on_dask(build, dask_scheduler)
    runs = sorted(p.name.split("-")[0] for p in tmp_path.iterdir())
    assert len(runs) > 4  # on 2.78 each element twice; correct would be each of the 4 once


class _Bundles(beam.DoFn):
    """Writes one file per bundle: on the DaskRunner, a bundle is a partition of the bag."""

    def __init__(self, folder):
        self.folder = folder

    def start_bundle(self):
        (self.folder / uuid.uuid4().hex).write_text("")

    def process(self, element):
        yield element


def test_a_reshuffle_keeps_the_partitions_of_its_input(tmp_path, dask_scheduler):
    """The DaskRunner cuts a ``Create`` into partitions of ~128 elements, runs a ``Reshuffle`` as the
    identity and a ``GroupByKey`` as a Dask bag's task shuffle, which keeps its input's partitions: a job
    that starts from a few elements (file patterns) runs every stage in one partition, one worker at a
    time, however many elements a step fans out to and however many workers there are. Workaround:
    ``pipelines.adapter`` spreads the output of each over the cluster's worker threads, on the DaskRunner
    only."""

    def build(pipeline):
        _ = (
            pipeline
            | beam.Create(["pattern"])
            | beam.FlatMap(lambda _: range(1000))
            | beam.Reshuffle()
            | beam.ParDo(_Bundles(tmp_path))
        )

    run_on_dask(build, dask_scheduler)
    assert len(list(tmp_path.iterdir())) == 1  # one partition; spread over 2 workers would be 2 or more
