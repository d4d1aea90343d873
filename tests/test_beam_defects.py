"""Minimal reproductions of the Beam 2.78 FnApiRunner (the local DirectRunner) defects the streaming
graph and ``pipelines.adapter`` are built around.

Each test asserts the defect as it stands. If one fails, Beam has fixed that defect and the workaround
named in its docstring can go.
"""

from __future__ import annotations

import time

import apache_beam as beam
import pytest
from apache_beam.coders import PickleCoder
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import fn_runner
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import userstate
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.transforms.periodicsequence import PeriodicImpulse
from apache_beam.utils.timestamp import Duration, Timestamp

from pipelines.adapter import adapted_runner


def run_streaming(build) -> None:
    with beam.Pipeline(runner=fn_runner.FnApiRunner(), options=PipelineOptions(["--streaming"])) as pipeline:
        build(pipeline)


def ticks(pipeline, seconds: int = 3):
    start = time.time()
    return pipeline | PeriodicImpulse(start_timestamp=start, stop_timestamp=start + seconds, fire_interval=1)


def log_to(folder, name):
    """A function that notes when an element passed (DoFns are pickled: a list would be a copy)."""

    def record(element):
        with open(folder / name, "a") as handle:
            handle.write(f"{time.time()}\n")
        return element

    return record


def times(folder, name) -> list[float]:
    path = folder / name
    return [float(line) for line in path.read_text().split()] if path.exists() else []


def test_event_time_timers_fire_before_the_watermark_reaches_them(tmp_path):
    """A timer set a day ahead fires at once. Workaround: ``dedupe._BucketMemory.expire`` ignores a
    timer whose time is still in the future (the source's watermark never passes the wall clock) and
    state is pruned on each visit instead."""
    early = log_to(tmp_path, "fired_early")

    class SetTimerADayAhead(beam.DoFn):
        TIMER = userstate.TimerSpec("t", userstate.TimeDomain.WATERMARK)
        SEEN = userstate.BagStateSpec("s", PickleCoder())

        def process(
            self, kv, timestamp=beam.DoFn.TimestampParam, timer=beam.DoFn.TimerParam(TIMER), seen=beam.DoFn.StateParam(SEEN)
        ):
            seen.add(1)
            timer.set(Timestamp(float(timestamp) + 86400))

        @userstate.on_timer(TIMER)
        def fire(self, fired=beam.DoFn.TimestampParam):
            if float(fired) > time.time():
                early(fired)

    run_streaming(lambda p: ticks(p) | beam.Map(lambda t: ("k", t)) | beam.ParDo(SetTimerADayAhead()))
    assert times(tmp_path, "fired_early")


def test_a_flatten_holds_its_consumer_back_until_the_job_ends(tmp_path):
    """Elements that pass a Flatten reach the next step only when the source is done, so nothing after it
    runs while a stream lives. Workaround: the streaming graph has no Flatten (and no GroupByKey, whose
    windows likewise fire only at the end): dedupe is one keyed chain, and each stream is written on its own."""

    def build(pipeline):
        source = ticks(pipeline)
        direct = source | "Direct" >> beam.Map(log_to(tmp_path, "direct"))
        other = source | "Other" >> beam.Map(lambda t: t)
        (direct, other) | beam.Flatten() | "AfterFlatten" >> beam.Map(log_to(tmp_path, "after_flatten"))

    run_streaming(build)
    direct, after_flatten = times(tmp_path, "direct"), times(tmp_path, "after_flatten")
    assert max(direct) - min(direct) >= 1.5  # the ticks came one a second
    assert len(after_flatten) == 2 * len(direct) and min(after_flatten) >= max(direct)  # and passed the Flatten only at the end


class _Resumes(RestrictionProvider):
    def initial_restriction(self, count):
        return OffsetRange(0, count)

    def create_tracker(self, restriction):
        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, count, restriction):
        return restriction.size()


class _OnePerBundle(beam.DoFn):
    """Claims one position per call and defers the rest: one bundle per position, as a poller's ticks."""

    def process(self, count, tracker=beam.DoFn.RestrictionParam(_Resumes())):
        position = tracker.current_restriction().start
        if tracker.try_claim(position):
            yield position
            tracker.defer_remainder()


def many_bundles(pipeline):
    return pipeline | beam.Create([1500]) | beam.ParDo(_OnePerBundle()) | beam.combiners.Count.Globally()


def test_metrics_of_many_bundles_overflow_the_stack_when_read():
    """Each bundle's metrics are merged into a lazy chain of generators, one level per bundle, evaluated when
    the finished job's metrics are read: after 1,500 bundles (a streaming job's ticks after some minutes)
    reading them raises RecursionError. Workaround: ``pipelines.adapter.adapted_runner`` merges at every bundle."""
    pipeline = beam.Pipeline(runner=fn_runner.FnApiRunner())
    many_bundles(pipeline)
    result = pipeline.run()
    with pytest.raises(RecursionError):
        result.metrics().query()
    options = PipelineOptions([])
    pipeline = beam.Pipeline(runner=adapted_runner(options), options=options)
    assert_that(many_bundles(pipeline), equal_to([1500]))
    assert pipeline.run().metrics().query()["counters"] is not None


def test_the_grouping_buffer_holds_values_decoded():
    """The FnApiRunner's grouping buffer decodes each grouped value and keeps the Python object until the group
    is read: a record's whole object graph (a tagged article: ~19 KB) per value, all in the runner's process.
    Workaround: ``pipelines.adapter`` packs every grouped value (one compressed pickle each) on that runner."""
    from apache_beam import coders
    from apache_beam.runners.portability.fn_api_runner.execution import GroupingBuffer
    from apache_beam.transforms.core import Windowing
    from apache_beam.transforms.window import GlobalWindow, GlobalWindows
    from apache_beam.utils.windowed_value import WindowedValue

    kv = coders.TupleCoder([coders.StrUtf8Coder(), coders.PickleCoder()])
    buffer = GroupingBuffer(
        coders.WindowedValueCoder(kv),
        coders.WindowedValueCoder(coders.TupleCoder([coders.StrUtf8Coder(), coders.IterableCoder(coders.PickleCoder())])),
        Windowing(GlobalWindows()),
    )
    record = {"text": "x" * 1000}
    windowed = WindowedValue(("k", record), 0, [GlobalWindow()])
    buffer.append(coders.WindowedValueCoder(kv).get_impl().encode_nested(windowed))
    [held] = buffer._table.values()
    assert held == [record] and not isinstance(held[0], bytes)  # the object itself, not its encoded bytes


def test_a_flatten_of_several_inputs_is_held_in_a_runner_buffer():
    """The FnApiRunner does not fuse a ``Flatten`` of two or more inputs into its consumer: each input's stage
    writes its values, encoded, to one buffer the runner holds until the consuming stage reads it.
    Workaround: ``pipelines.adapter`` packs each value of such a flatten on that runner."""
    from apache_beam.runners.worker.bundle_processor import DATA_OUTPUT_URN

    pipeline = beam.Pipeline()
    _ = (pipeline | "A" >> beam.Create([1]), pipeline | "B" >> beam.Create([2])) | "Both" >> beam.Flatten() | beam.Map(str)
    _, stages = fn_runner.FnApiRunner().create_stages(pipeline.to_runner_api())
    writes = [t for stage in stages for t in stage.transforms if t.unique_name.startswith("Both/Write/")]
    assert len(writes) == 2 and all(t.spec.urn == DATA_OUTPUT_URN for t in writes)


class _DeferOnce(beam.DoFn):
    """Emits the time of each call: position 0 at once, then the rest deferred by three seconds."""

    def process(self, count, tracker=beam.DoFn.RestrictionParam(_Resumes())):
        position = tracker.current_restriction().start
        if tracker.try_claim(position):
            yield time.time()
            if position == 0:
                tracker.defer_remainder(Duration(seconds=3))


def test_a_deferred_remainder_resumes_at_once_whatever_its_delay():
    """A splittable DoFn's remainder deferred by three seconds is resumed at once. Workaround: the feed poller's
    ticks (``feeds.poll._Ticks``) wait for the next due tick, at most a second, before deferring, so a
    stream does not spin through thousands of bundles a minute."""
    with beam.Pipeline(runner=fn_runner.FnApiRunner()) as pipeline:
        calls = pipeline | beam.Create([2]) | beam.ParDo(_DeferOnce()) | beam.combiners.ToList()
        assert_that(calls | beam.Map(lambda ts: max(ts) - min(ts) < 1.5), equal_to([True]))


def test_beam_s3_makes_a_client_per_operation():
    """Beam's S3 filesystem builds a new boto3 session and client for every operation (``S3IO`` per call,
    ``boto3_client.Client`` per ``S3IO``): about 0.9 s per ``exists`` on a busy machine where the request
    takes 30 ms. Workaround: ``transforms.sink.objects._share_beams_clients``. Beam's own constructor,
    kept aside by it, still makes two clients for the same options."""
    from apache_beam.io.aws.clients.s3 import boto3_client

    import transforms.sink.objects  # noqa: F401  (applies the workaround, keeping Beam's constructor)

    options = PipelineOptions(["--s3_region_name=us-east-1", "--s3_access_key_id=x", "--s3_secret_access_key=y"])
    first, second = object.__new__(boto3_client.Client), object.__new__(boto3_client.Client)
    boto3_client.Client._beam_init(first, options)
    boto3_client.Client._beam_init(second, options)
    assert first.client is not second.client


def test_beam_s3_cannot_write_an_empty_object(s3):
    """An empty file written through ``FileSystems.create`` on S3 fails: Beam's uploader completes a
    multipart upload with no part (``MalformedXML``). Workaround: ``files.write_atomically`` uploads an
    S3 object in one ``put_object`` (``transforms.sink.objects.put``)."""
    from apache_beam.io.filesystems import FileSystems

    bucket = s3.bucket("empty-object")
    FileSystems.set_options(s3.options())
    with pytest.raises(Exception, match="MalformedXML"), FileSystems.create(f"{bucket}/empty"):
        pass


class _Stateless(beam.DoFn):
    def process(self, element):
        yield element


def test_a_dofns_state_specs_are_derived_again_at_every_call(monkeypatch):
    """``userstate.get_dofn_specs`` takes every method of a DoFn apart each time it is asked, and it is asked
    about eight times per ``ParDo`` while a graph is built. Workaround: ``pipelines.construction`` keeps the
    answer per DoFn."""
    from apache_beam.runners import common

    from pipelines import construction

    wrapped = []
    original = common.MethodWrapper
    monkeypatch.setattr(common, "MethodWrapper", lambda *args: wrapped.append(args[1]) or original(*args))
    dofn = _Stateless()
    construction._ORIGINAL_SPECS(dofn)
    once = len(wrapped)
    construction._ORIGINAL_SPECS(dofn)
    assert once > 0 and len(wrapped) == 2 * once
    assert construction.get_dofn_specs(dofn) == construction.get_dofn_specs(dofn) == (set(), set())
    assert len(wrapped) == 3 * once  # the kept answer is derived once

    class ByValue(beam.DoFn):  # equal to any other ByValue: never taken for another's answer
        __eq__, __hash__ = (lambda self, other: isinstance(other, ByValue)), (lambda self: 0)

    class Stateful(ByValue):
        def process(self, element, bag=beam.DoFn.StateParam(userstate.BagStateSpec("bag", PickleCoder()))):
            yield element

    assert construction.get_dofn_specs(ByValue()) == (set(), set())
    assert len(construction.get_dofn_specs(Stateful())[0]) == 1


def test_every_type_check_parses_the_options_again(monkeypatch):
    """``typehints.is_consistent_with`` asks the pipeline's options for a ``TypeOptions`` view at every check,
    and ``view_as`` builds a parser and parses the flags each time: 1,700 parses for the batch graph.
    Workaround: ``pipelines.construction`` keeps each view per options object."""
    from apache_beam.options.pipeline_options import TypeOptions
    from apache_beam.options.pipeline_options_context import scoped_pipeline_options
    from apache_beam.typehints.typehints import is_consistent_with

    from pipelines import construction

    parsed = []
    original = TypeOptions._add_argparse_args.__func__
    monkeypatch.setattr(TypeOptions, "_add_argparse_args", classmethod(lambda cls, parser: parsed.append(cls) or original(cls, parser)))
    monkeypatch.setattr(PipelineOptions, "view_as", construction._ORIGINAL_VIEW_AS)
    options = PipelineOptions(["--disable_beartype"])
    with scoped_pipeline_options(options):
        assert is_consistent_with(int, int) and is_consistent_with(str, str)
    assert len(parsed) == 2
    monkeypatch.setattr(PipelineOptions, "view_as", construction.view_as)
    view = options.view_as(TypeOptions)
    assert options.view_as(TypeOptions) is view and view.disable_beartype and len(parsed) == 3
    view.disable_beartype = False  # a view writes through to the options, and a view kept reads it
    assert options.view_as(TypeOptions).disable_beartype is False and len(parsed) == 3
