"""The runner adapter: every workaround a runner needs, chosen here for that runner only, so that the stages
read as if every runner were healthy.

``adapted_runner(options)`` is the runner instance a job runs on (None: let Beam pick the requested one).
Each workaround names its canary, a minimal reproduction of the defect that passes while the defect
stands; when a canary fails, Beam has fixed the defect, and the workaround (and its entry here) goes.

DirectRunner (the in-process FnApiRunner, one process or several):
- offline: Beam's DirectRunner first tries the Prism runner, whose binary it downloads from the internet,
  and only falls back to the FnApiRunner when that fails; jobs here go straight to the FnApiRunner (with
  the same ``--direct_num_workers`` and ``--direct_running_mode``), so a run is offline and starts at once.
- metrics merged at every bundle: the FnApiRunner merges each bundle's metrics into a lazy chain of
  generators, one level per bundle, evaluated when the finished job's metrics are read: after a streaming
  job of a few minutes the run summary failed with RecursionError. Canary:
  ``tests/test_beam_defects.py::test_metrics_of_many_bundles_overflow_the_stack_when_read``.
- grouped values packed: the FnApiRunner's grouping buffer decodes every value it groups and holds it as a
  Python object until the group is read (a tagged article: ~19 KB), all in the runner's one process; each
  value of a ``GroupByKey`` (and so of a ``CoGroupByKey``) crosses it as one zstd-compressed pickle (~2 KB),
  unpacked as the group is iterated. Canary:
  ``tests/test_beam_defects.py::test_the_grouping_buffer_holds_values_decoded``.
- flattened values packed: a ``Flatten`` of two or more inputs is not fused: each input is written whole to a
  buffer in the runner's process, with the value's own coder (a tagged article: ~7 KB, its text and entities
  uncompressed), and read back by the next stage; a ``CoGroupByKey`` flattens every side this way before it
  groups. Each value crosses it packed (~2.8 KB); a join (of a dict of inputs) is packed whole instead,
  each value once before its flatten and grouping. Canary:
  ``tests/test_beam_defects.py::test_a_flatten_of_several_inputs_is_held_in_a_runner_buffer``.
- malloc arenas capped: not a defect but a setting, so no canary. The runner and its worker processes
  allocate under two glibc arenas (``pipelines.allocator``), not one per thread.

DaskRunner (batch only):
- tagged outputs split apart: the DaskRunner hands every output of a ``ParDo`` (main and tagged) to every
  consumer of any of them. Such a ``ParDo`` runs as one that emits (tag, value) pairs, and each output is
  its tag's values. Canary: ``tests/test_dask_defects.py::test_tagged_outputs_are_delivered_into_the_main_output``.
- every branch computed: the DaskRunner computes only what leads to the last transform applied, so a branch
  that ends elsewhere (a side effect: files remembered, the dedupe index written) would never run. Every
  PCollection nothing reads is flattened into one last transform. Canary:
  ``tests/test_dask_defects.py::test_only_the_lineage_of_the_last_transform_runs``.
- reshuffles and groupings spread: the DaskRunner cuts a ``Create`` into partitions of ~128 elements,
  runs a ``Reshuffle`` as the identity and keeps a bag's partitions through every ``GroupByKey``, so a job
  that starts from a few file patterns ran its first stages in one partition, one worker at a time (and
  a ``Flatten`` adds its inputs' partitions up: 145 for a run of the seeds). The output of each is cut
  into one to four partitions per worker thread of the cluster. Canary:
  ``tests/test_dask_defects.py::test_a_reshuffle_keeps_the_partitions_of_its_input``.
- no side inputs, a guard rather than a workaround: the DaskRunner computes a side input's whole lineage a
  second time, apart from the main graph, so a side effect upstream of it (files remembered) ran twice and
  the second run read the first's keys: the read stage's error rows were lost. The stages join where they
  would read a side input (and combine ``without_defaults``, whose default is one); a graph with a side
  input is refused on this runner. Canary:
  ``tests/test_dask_defects.py::test_a_transform_upstream_of_a_side_input_runs_more_than_once``.

Any other runner is passed through untouched. On every runner, the graph is built without the lookups Beam
repeats (a DoFn's state specs, an options view): ``pipelines.construction``, with its canaries.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator
from typing import Any, Optional

import apache_beam as beam
import pyarrow as pa
from apache_beam.metrics import monitoring_infos
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions, WorkerOptions
from apache_beam.pipeline import PTransformOverride
from apache_beam.runners.portability.fn_api_runner import fn_runner
from apache_beam.transforms.util import ReshufflePerKey

from pipelines.allocator import cap_arenas
from pipelines.checks import DASK_RUNNER
from pipelines.construction import keep_repeated_lookups

DIRECT_NAMES = {None, "DirectRunner", "direct", "SwitchingDirectRunner"}


def adapted_runner(options: PipelineOptions):
    """The runner instance for a job under ``options``, with the workarounds its runner needs; None to let
    Beam pick the requested runner as it is. Every runner's graph is built without Beam's repeated lookups
    (``pipelines.construction``)."""
    keep_repeated_lookups()
    standard = options.view_as(StandardOptions)
    if standard.runner in DIRECT_NAMES:
        return _direct_runner(options)
    if str(standard.runner).lower() in {"daskrunner", DASK_RUNNER.lower()}:
        return _dask_runner()
    return None


# ------------------------------------------------------------------------------------------ DirectRunner


def _direct_runner(options: PipelineOptions) -> fn_runner.FnApiRunner:
    cap_arenas()
    from apache_beam.portability.api import beam_provision_api_pb2
    from apache_beam.runners.portability.portable_runner import JobServiceHandle

    encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
    provision = fn_runner.ExtendedProvisionInfo(beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded))
    return _FnApiRunner(provision_info=provision)


def _consolidate_now(metrics):
    return list(monitoring_infos.consolidate(metrics))


class _FnApiRunner(fn_runner.FnApiRunner):
    """The FnApiRunner with the DirectRunner's workarounds."""

    def run_pipeline(self, pipeline, options):
        pipeline.replace_all([_PackJoins(), _PackGroupedValues(), _PackFlattenedValues()])  # joins first: whole
        return super().run_pipeline(pipeline, options)

    def run_stages(self, stage_context, stages):
        """Metrics merged at every bundle: ``run_stages`` builds the lazy chain through the module's
        ``consolidate_monitoring_infos``, so that name is swapped for the run (the merge itself is unchanged)."""
        lazy = fn_runner.consolidate_monitoring_infos
        fn_runner.consolidate_monitoring_infos = _consolidate_now
        try:
            return super().run_stages(stage_context, stages)
        finally:
            fn_runner.consolidate_monitoring_infos = lazy


_CODEC = pa.Codec("zstd", compression_level=1)
_COMPRESSED_FROM = 256  # bytes of pickle: a band key or an id pair gains nothing from compression but its cost
_AS_IS = (0).to_bytes(4, "little")


def pack(record) -> bytes:
    """One pickle: compressed behind its size, or, when small, as it is behind a size of 0."""
    data = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
    if len(data) < _COMPRESSED_FROM:
        return _AS_IS + data
    return len(data).to_bytes(4, "little") + _CODEC.compress(data, asbytes=True)


def unpack(packed: bytes):
    size = int.from_bytes(packed[:4], "little")
    data = memoryview(packed)[4:]
    return pickle.loads(_CODEC.decompress(data, decompressed_size=size, asbytes=True) if size else data)


class _Unpacked:
    """A group's values, unpacked one at a time as they are iterated (a group can be large)."""

    def __init__(self, packed: Iterable[bytes]):
        self.packed = packed

    def __iter__(self) -> Iterator:
        return map(unpack, self.packed)


def _pack_value(key, value) -> tuple[Any, bytes]:
    return key, pack(value)


def _unpack_values(key, packed: Iterable[bytes]) -> tuple[Any, Iterable]:
    return key, _Unpacked(packed)


class _PackedGroupByKey(beam.PTransform):
    """``GroupByKey``: the same (key, values) out, each value across the grouping buffer packed."""

    def expand(self, pairs):
        return (
            pairs
            | "Pack" >> beam.MapTuple(_pack_value)
            | "Group" >> beam.GroupByKey()
            | "Unpack" >> beam.MapTuple(_unpack_values)
        )


class _PackedCoGroupByKey(beam.PTransform):
    """``CoGroupByKey`` of a dict of inputs: the same (key, {tag: values}) out, each value packed once before
    the join's own flatten and grouping (packing each of those unpacked and packed every value in between)."""

    def __init__(self, tags: list[str]):
        super().__init__()
        self.tags = tags

    def expand(self, pcolls):
        pcolls = (pcolls,) if isinstance(pcolls, beam.pvalue.PCollection) else tuple(pcolls)
        packed = {tag: pcoll | f"Pack[{tag}]" >> beam.MapTuple(_pack_value) for tag, pcoll in zip(self.tags, pcolls)}
        return packed | "Join" >> beam.CoGroupByKey() | "Unpack" >> beam.MapTuple(_unpack_joined)


def _unpack_joined(key, joined: dict) -> tuple[Any, dict]:
    return key, {tag: [unpack(v) for v in values] for tag, values in joined.items()}


def _join_tags(applied) -> Optional[list[str]]:
    """The tags of a join of a dict of short string tags, which Beam keeps on the join's inner step (a
    replacement is handed the inputs alone); None for any other join, which gives tuples back."""
    parts = {part.full_label.rsplit("/", 1)[-1]: part for part in applied.parts}
    impl = parts.get("CoGroupByKeyImpl")
    return None if impl is None or "RestoreTags" in parts else list(impl.main_inputs)


class _PackedFlatten(beam.PTransform):
    """``Flatten``: the same elements out, each packed while the runner holds it between stages."""

    def expand(self, pcolls):
        pcolls = (pcolls,) if isinstance(pcolls, beam.pvalue.PCollection) else tuple(pcolls)
        element_type = pcolls[0].element_type if len({p.element_type for p in pcolls}) == 1 else Any
        return (
            [pcoll | f"Pack{i}" >> beam.Map(pack) for i, pcoll in enumerate(pcolls)]
            | "Flatten" >> beam.Flatten()
            | "Unpack" >> beam.Map(unpack).with_output_types(element_type)
        )


# Inside these, values are packed already, or small (a combine, which the FnApiRunner lifts into partial
# combines before any grouping; a reshuffle: small values, spread).
_NOT_PACKED = (
    _PackedCoGroupByKey, _PackedGroupByKey, _PackedFlatten,
    beam.CombinePerKey, beam.CombineGlobally, beam.Reshuffle, ReshufflePerKey,
)  # fmt: skip


def _inside_packed(applied) -> bool:
    parent = applied.parent
    while parent is not None:
        if isinstance(parent.transform, _NOT_PACKED):
            return True
        parent = parent.parent
    return False


class _PackJoins(PTransformOverride):
    """Every ``CoGroupByKey`` of a dict of inputs packed whole."""

    def matches(self, applied) -> bool:
        return isinstance(applied.transform, beam.CoGroupByKey) and not _inside_packed(applied) and bool(_join_tags(applied))

    def get_replacement_transform_for_applied_ptransform(self, applied):
        return _PackedCoGroupByKey(_join_tags(applied))


class _PackGroupedValues(PTransformOverride):
    """Every other ``GroupByKey`` of the job packed (another join's too)."""

    def matches(self, applied) -> bool:
        return isinstance(applied.transform, beam.GroupByKey) and not _inside_packed(applied)

    def get_replacement_transform_for_applied_ptransform(self, applied):
        return _PackedGroupByKey()


class _PackFlattenedValues(PTransformOverride):
    """Every other ``Flatten`` the runner holds (of two or more inputs) packed."""

    def matches(self, applied) -> bool:
        return isinstance(applied.transform, beam.Flatten) and len(applied.inputs) > 1 and not _inside_packed(applied)

    def get_replacement_transform_for_applied_ptransform(self, applied):
        return _PackedFlatten()


# -------------------------------------------------------------------------------------------- DaskRunner


def _dask_runner():
    from apache_beam.runners.dask.dask_runner import DaskRunner

    class _DaskRunner(DaskRunner):
        """The DaskRunner with its workarounds."""

        def run_pipeline(self, pipeline, options):
            pipeline.replace_all([_SplitTaggedOutputs()])
            _refuse_side_inputs(pipeline)
            _flatten_leaves(pipeline)
            return super().run_pipeline(pipeline, options)

        def to_dask_bag_visitor(self, bag_kwargs=None, lazy_side_inputs=False):
            return _spread_groupings(DaskRunner.to_dask_bag_visitor(bag_kwargs, lazy_side_inputs))

    return _DaskRunner()


PARTITIONS_PER_THREAD = 4  # the most a reshuffle's or grouping's output is cut into, per worker thread


def _spread_groupings(visitor):
    """The runner's translation, each reshuffle's and grouping's bag then cut into at least as many
    partitions as the cluster (the client ``run_pipeline`` has just made) has worker threads, and at most
    ``PARTITIONS_PER_THREAD`` times as many: fewer left workers idle, more cost a bundle's set-up each, and
    each partition is held whole by the task that reads it."""
    from apache_beam.runners.dask.overrides import _GroupByKeyOnly, _Reshuffle
    from distributed import get_client

    threads = max(1, sum(get_client().nthreads().values()))  # none: workers still joining
    translate = visitor.visit_transform

    def visit_transform(node):
        translate(node)
        bag = visitor.bags[node]
        wanted = min(max(bag.npartitions, threads), PARTITIONS_PER_THREAD * threads)
        if isinstance(node.transform, (_Reshuffle, _GroupByKeyOnly)) and bag.npartitions != wanted:
            visitor.bags[node] = bag.repartition(npartitions=wanted)

    visitor.visit_transform = visit_transform
    return visitor


class _AsPairs(beam.DoFn):
    """A DoFn's outputs as (tag, value) pairs on its main output (None: the main output's tag)."""

    def __init__(self, fn: beam.DoFn):
        self.fn = fn

    def setup(self):
        self.fn.setup()

    def start_bundle(self):
        self.fn.start_bundle()

    def process(self, element, *args, **kwargs):
        for output in self.fn.process(element, *args, **kwargs) or ():
            yield (output.tag, output.value) if isinstance(output, beam.pvalue.TaggedOutput) else (None, output)

    def finish_bundle(self):
        if self.fn.finish_bundle():
            raise NotImplementedError(f"{type(self.fn).__name__}: outputs from finish_bundle, on the DaskRunner")

    def teardown(self):
        self.fn.teardown()


def _tagged(pair, tag):
    return [pair[1]] if pair[0] == tag else []


class _PairsSplit(beam.PTransform):
    """A multi-output ``ParDo`` as one emitting (tag, value) pairs and a filter per output."""

    def __init__(self, pardo: beam.ParDo, tags: list):
        super().__init__()
        self.pardo, self.tags = pardo, tags

    def expand(self, pcoll):
        pardo = self.pardo
        pairs = pcoll | "AsPairs" >> beam.ParDo(_AsPairs(pardo.fn), *pardo.args, **pardo.kwargs)
        return {tag: pairs | f"Only{tag or 'Main'}" >> beam.FlatMap(_tagged, tag) for tag in self.tags}


class _SplitTaggedOutputs(PTransformOverride):
    def matches(self, applied) -> bool:
        return isinstance(applied.transform, beam.ParDo) and len(applied.outputs) > 1

    def get_replacement_transform_for_applied_ptransform(self, applied):
        return _PairsSplit(applied.transform, list(applied.outputs))


def _refuse_side_inputs(pipeline: beam.Pipeline) -> None:
    """A graph that reads a side input refused, naming its readers (the canary: its lineage runs twice)."""
    readers = []

    class SideInputs(beam.pipeline.PipelineVisitor):
        def visit_transform(self, node):
            if node.side_inputs:
                readers.append(node.full_label)

    pipeline.visit(SideInputs())
    if readers:
        raise ValueError(
            f"side inputs on the DaskRunner, which computes their lineage twice: {', '.join(readers)} (join instead; "
            "a CombineGlobally with defaults reads one: use without_defaults)"
        )


def _flatten_leaves(pipeline: beam.Pipeline) -> None:
    """Every PCollection that no transform reads, flattened into the pipeline's last transform."""
    produced, read = [], set()

    class Leaves(beam.pipeline.PipelineVisitor):
        def visit_transform(self, node):
            produced.extend(o for o in node.outputs.values() if isinstance(o, beam.pvalue.PCollection))
            read.update(node.inputs)
            read.update(side.pvalue for side in node.side_inputs)

    pipeline.visit(Leaves())
    leaves = [p for p in produced if p not in read]
    if len(leaves) > 1:
        _ = tuple(leaves) | "EveryBranch" >> beam.Flatten()


# ------------------------------------------------------------------------------------ not workarounds

# Worker-side loggers whose set-up chatter (options the worker's Beam does not know, no persistent
# directory) says nothing about the job.
WORKER_CHATTER = {"__main__": "ERROR", "apache_beam.options.pipeline_options": "ERROR"}


def quiet_workers(options: PipelineOptions) -> None:
    """Multi-process DirectRunner workers log at INFO to the command's stderr: harness set-up, channels,
    exit, a dozen lines each. Unless the options already say, they log warnings and errors only (``-vv``
    leaves Beam's defaults alone). Other runners' workers log where their operators look: untouched."""
    if options.view_as(StandardOptions).runner not in DIRECT_NAMES:
        return
    harness = options.view_as(WorkerOptions)
    if harness.default_sdk_harness_log_level is None:
        harness.default_sdk_harness_log_level = "WARNING"
    if harness.sdk_harness_log_level_overrides is None:
        harness.sdk_harness_log_level_overrides = dict(WORKER_CHATTER)
