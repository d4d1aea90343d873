"""The runner adapter's workarounds leave every result as it would be without them."""

import datetime as dt
import os
import pickle
import platform

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from pipelines.adapter import _PackedCoGroupByKey, _PackedFlatten, _PackedGroupByKey, adapted_runner, pack, unpack
from pipelines.allocator import cap_arenas
from pipelines.checks import DASK_RUNNER
from tests.test_dask_defects import writer
from transforms.schema import Article, Entity, ErrorRecord

UTC = dt.UTC


def an_article(i: int) -> Article:
    text = " ".join(f"Officials in Kabul said on Monday that the airport would reopen ({i})." for _ in range(40))
    entities = tuple(Entity("Kabul", "GPE", k * 70, k * 70 + 5, "Kabul") for k in range(40))
    return Article(
        f"a{i}",
        f"{i}.txt",
        None,
        "E",
        "T",
        ("A B",),
        dt.datetime(2021, 8, 16, tzinfo=UTC),
        "en",
        text,
        "text",
        word_count=400,
        entities=entities,
    )


def test_a_packed_record_comes_back_equal_and_much_smaller():
    article = an_article(1)
    packed = pack(article)
    assert unpack(packed) == article
    assert len(packed) < len(pickle.dumps(article)) / 3  # text and entities compressed
    pair = ("bucket-key", "article-id")
    assert unpack(pack(pair)) == pair and len(pack(pair)) == 4 + len(pickle.dumps(pair, pickle.HIGHEST_PROTOCOL))


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the cap is glibc's")
def test_the_local_runner_caps_malloc_arenas_for_itself_and_the_workers_it_starts(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    adapted_runner(PipelineOptions([]))
    assert os.environ["MALLOC_ARENA_MAX"] == "2"  # what multi-process workers inherit
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert not cap_arenas() and os.environ["MALLOC_ARENA_MAX"] == "4"  # the operator's setting is kept


def direct_pipeline() -> beam.Pipeline:
    """A DirectRunner job as the command runs it (a TestPipeline would hand the runner a copy of the graph)."""
    options = PipelineOptions([])
    return beam.Pipeline(runner=adapted_runner(options), options=options)


def packed_groups(pipeline, kind: type = _PackedGroupByKey) -> int:
    """How many of the job's groupings (or flattens) the adapter packed (``assert_that``'s own left out)."""
    found = []

    class Visitor(beam.pipeline.PipelineVisitor):
        def enter_composite_transform(self, node):
            if isinstance(node.transform, kind) and not node.full_label.startswith("assert_that"):
                found.append(node)

    pipeline.visit(Visitor())
    return len(found)


def test_packed_grouping_gives_what_group_by_key_gives():
    test_pipeline = direct_pipeline()
    pairs = [(i % 3, an_article(i)) for i in range(10)] + [("errors", ErrorRecord("x.txt", "parse", "bad"))]
    with test_pipeline as p:
        grouped = (
            p | beam.Create(pairs) | beam.GroupByKey() | beam.MapTuple(lambda key, values: (key, sorted(repr(v) for v in values)))
        )
        expected = {}
        for key, value in pairs:
            expected.setdefault(key, []).append(repr(value))
        assert_that(grouped, equal_to([(k, sorted(v)) for k, v in expected.items()]))
    assert packed_groups(test_pipeline) == 1


def test_packed_join_gives_what_co_group_by_key_gives():
    test_pipeline = direct_pipeline()
    articles = [(f"a{i}", an_article(i)) for i in range(4)]
    decisions = [("a1", "duplicate of a0"), ("a1", "second verdict"), ("only-decision", "x")]
    with test_pipeline as p:
        joined = (
            {"article": p | "Articles" >> beam.Create(articles), "decision": p | "Decisions" >> beam.Create(decisions)}
            | beam.CoGroupByKey()
            | beam.MapTuple(lambda key, grouped: (key, sorted(grouped["decision"]), [a.article_id for a in grouped["article"]]))
        )
        assert_that(
            joined,
            equal_to(
                [
                    ("a0", [], ["a0"]),
                    ("a1", ["duplicate of a0", "second verdict"], ["a1"]),
                    ("a2", [], ["a2"]),
                    ("a3", [], ["a3"]),
                    ("only-decision", ["x"], []),
                ]
            ),
        )
    # the join packed whole, each value once: not its flatten and grouping again
    assert packed_groups(test_pipeline, _PackedCoGroupByKey) == 1
    assert packed_groups(test_pipeline) == 0 and packed_groups(test_pipeline, _PackedFlatten) == 0


def test_packed_flatten_gives_what_flatten_gives_and_leaves_one_input_alone():
    test_pipeline = direct_pipeline()
    articles, errors = [an_article(i) for i in range(3)], [ErrorRecord("x.txt", "parse", "bad")]
    with test_pipeline as p:
        both = (p | "Articles" >> beam.Create(articles), p | "Errors" >> beam.Create(errors)) | "Both" >> beam.Flatten()
        alone = (p | "Alone" >> beam.Create([1, 2]),) | "One" >> beam.Flatten()
        assert_that(both, equal_to(articles + errors))
        assert_that(alone, equal_to([1, 2]), label="assert_that_alone")
    assert packed_groups(test_pipeline, _PackedFlatten) == 1


def run_on_adapted_dask(build, address: str) -> None:
    options = PipelineOptions([f"--runner={DASK_RUNNER}", f"--dask_client_address={address}"])
    pipeline = beam.Pipeline(runner=adapted_runner(options), options=options)
    build(pipeline)
    result = pipeline.run()
    result.wait_until_finish()
    result.client.close()


def test_tagged_outputs_are_apart_on_the_adapted_dask_runner(tmp_path, dask_scheduler):
    """The canary's graph (tests/test_dask_defects.py) on the adapted DaskRunner: each output has its own."""

    def split(n):
        yield beam.pvalue.TaggedOutput("odd", n) if n % 2 else n

    def build(pipeline):  # one last transform: the DaskRunner runs only its lineage (the other canary)
        outputs = pipeline | beam.Create([1, 2, 3, 4]) | beam.ParDo(split).with_outputs("odd", main="even")
        even = outputs.even | "NameEven" >> beam.Map(lambda n: f"even{n}")
        odd = outputs.odd | "NameOdd" >> beam.Map(lambda n: f"odd{n}")
        _ = (even, odd) | beam.Flatten() | "Write" >> beam.Map(writer(tmp_path))

    run_on_adapted_dask(build, dask_scheduler)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["even2", "even4", "odd1", "odd3"]


def test_the_adapted_dask_runner_refuses_a_side_input():
    """A side input's lineage runs twice on the DaskRunner (the canary in tests/test_dask_defects.py):
    refused before the job starts, a CombineGlobally's default included."""
    options = PipelineOptions([f"--runner={DASK_RUNNER}"])
    pipeline = beam.Pipeline(runner=adapted_runner(options), options=options)
    numbers = pipeline | beam.Create([1, 2])
    _ = numbers | "Count" >> beam.combiners.Count.Globally()
    with pytest.raises(ValueError, match="side inputs on the DaskRunner.*Count"):
        pipeline.run()


def test_a_grouping_is_spread_over_the_workers_on_the_adapted_dask_runner(tmp_path, dask_scheduler):
    """The canary's graph (tests/test_dask_defects.py) on the adapted DaskRunner: a bundle per worker
    thread after the grouping, every element once."""
    from tests.test_dask_defects import _Bundles

    def build(pipeline):
        numbers = pipeline | beam.Create(["pattern"]) | beam.FlatMap(lambda _: range(1000)) | beam.Reshuffle()
        _ = numbers | beam.ParDo(_Bundles(tmp_path / "bundles")) | "Write" >> beam.Map(writer(tmp_path / "elements"))

    (tmp_path / "bundles").mkdir()
    (tmp_path / "elements").mkdir()
    run_on_adapted_dask(build, dask_scheduler)
    assert len(list((tmp_path / "bundles").iterdir())) == 2  # the fixture's cluster: two single-threaded workers
    assert sorted(int(p.name) for p in (tmp_path / "elements").iterdir()) == list(range(1000))
