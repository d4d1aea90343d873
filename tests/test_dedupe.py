import collections
import dataclasses
import datetime as dt
import random

import apache_beam as beam
import numpy as np
from apache_beam.testing.util import assert_that, equal_to

from pipelines.summary import counters, stage_counts
from tests.support.corpus import teaser
from transforms.dedupe import DedupeSettings, DeduplicateArticles
from transforms.dedupe.clusters import (
    MAX_ANCHORS,
    ConnectedComponents,
    bucket_pairs,
    candidate_pairs,
    cluster_decisions,
    copy_edges,
    fewest_candidates,
    similar_pairs,
)
from transforms.dedupe.fingerprints import (
    Fingerprint,
    Overlap,
    Sketch,
    band_keys,
    bucket,
    bucketed_band_keys,
    candidate_probability,
    content_hash,
    jaccard,
    normalise_words,
    outline,
    overlap,
    own_passage,
    shared_bands,
    shingles,
    sketch,
    verify,
)
from transforms.schema import DEDUPE, Article

SETTINGS = DedupeSettings()
STORY = (
    "The central bank raised its main interest rate by half a point on Thursday, the largest increase in two "
    "decades, saying that inflation had spread from energy and food to services and wages across the economy. "
    "The governor told reporters that further rises were likely in the coming months unless prices cooled, "
    "and that the bank would watch the labour market closely. Markets had expected a smaller move, and the "
    "currency rose sharply against the dollar after the announcement, while shares in house builders fell."
)
OTHER = (
    "Heavy rain flooded dozens of streets in the river town overnight, forcing the closure of two schools and "
    "the main bridge, and the fire service said it had rescued several drivers whose cars were stranded. The "
    "weather office warned that more rain was expected at the weekend and asked residents to avoid travel."
)


def article(article_id, text, published=None):
    return Article(
        article_id, f"{article_id}.txt", None, None, None, (), published, "en", text, "text", word_count=len(text.split())
    )


def test_normalisation_folds_case_punctuation_and_acronyms():
    assert normalise_words("The U.S. said: \u201cYes!\u201d") == ["the", "us", "said", "yes"]
    assert content_hash("The U.S. said yes.") == content_hash("the US  said YES")
    assert content_hash("a b c") != content_hash("a b d")


def test_minhash_jaccard_tracks_the_shingle_sets():
    edited = STORY.replace("on Thursday", "on Thursday afternoon").replace("sharply", "strongly")
    assert jaccard(sketch(STORY).signature, sketch(STORY).signature) == 1.0
    assert 0.6 < jaccard(sketch(STORY).signature, sketch(edited).signature) < 1.0
    assert jaccard(sketch(STORY).signature, sketch(OTHER).signature) < 0.1
    assert jaccard(sketch(STORY).signature, b"") == 0.0
    assert len(band_keys(sketch(STORY).signature, SETTINGS)) == SETTINGS.bands == 24


def test_shingles_run_across_paragraph_breaks():
    assert shingles(["a", "b", "c", "d"], 3) == {"a b c", "b c d"}
    assert shingles(["a", "b"], 3) == {"a b"} and shingles([], 3) == set()
    resplit = STORY.replace(". ", ".\n\n")
    assert sketch(resplit) == sketch(STORY) and sketch(STORY).shingles == len(shingles(normalise_words(STORY), 3))


def test_trimmed_copy_is_a_duplicate_and_a_follow_up_is_not():
    sentences = STORY.split(". ")
    trimmed = ". ".join(sentences[:-1])
    found = overlap(sketch(STORY), sketch(trimmed))
    assert found.containment > 0.9 and verify(sketch(STORY), sketch(trimmed)) == round(found.coverage, 4)
    follow_up = OTHER + " " + sentences[-1]  # a new story reusing one background sentence
    assert verify(sketch(STORY), sketch(follow_up)) is None
    assert verify(sketch(STORY), sketch(OTHER)) is None
    assert verify(sketch(""), sketch("")) is None


def words_(prefix: str, n: int) -> str:
    return " ".join(f"{prefix}{i}" for i in range(n))


def test_a_passage_is_the_longest_stretch_the_other_text_lacks():
    shared, own = words_("s", 40).split(), words_("a", 30).split()
    a = outline(shingles_in_order(shared[:20] + own[:15] + shared[20:24] + own[15:] + shared[24:]))
    b = outline(shingles_in_order(shared))
    assert own_passage(b, a) <= 6  # the shingles across the two places the passage went in, bridged
    assert own_passage(a, b) >= 34  # a stock phrase inside (two shared shingles) does not cut it in two
    assert own_passage(b, b) == 0


def shingles_in_order(tokens: list[str]) -> list[str]:
    return [" ".join(tokens[i : i + 3]) for i in range(len(tokens) - 2)]


def test_two_follow_ups_that_reuse_one_story_are_not_copies_but_a_copy_with_chrome_is():
    story = words_("s", 400)
    first, second = f"{story} {words_('a', 70)}", f"{story} {words_('b', 70)}"  # each adds its own paragraphs
    assert overlap(sketch(first), sketch(second)).coverage >= SETTINGS.min_coverage
    assert verify(sketch(first), sketch(second)) is None
    unknown = Sketch(sketch(second).signature, sketch(second).shingles)  # an index row from before outlines
    assert verify(sketch(first), unknown) is not None
    trimmed_with_chrome = f"{words_('s', 360)} {words_('menu', 70)}"  # chrome on one side only, a tail cut
    assert verify(sketch(story), sketch(trimmed_with_chrome)) is not None


def test_overlap_follows_the_set_sizes():
    same = bytes(480)
    assert overlap(Sketch(same, 100), Sketch(same, 100)) == Overlap(1.0, 1.0, 1.0)
    half = bytes(240) + bytes([1]) * 240  # Jaccard 0.5 with sizes 100 and 50: 50 shared
    found = overlap(Sketch(same, 100), Sketch(half, 50))
    assert (found.jaccard, round(found.containment, 6), round(found.coverage, 6)) == (0.5, 1.0, 0.5)
    assert overlap(Sketch(same, 0), Sketch(same, 10)) == Overlap(0.0, 0.0, 0.0)


def test_candidate_probability_is_the_lsh_curve():
    # Sharing 2 band keys: a trimmed copy the rule accepts (Jaccard >= 0.7, its coverage) is almost always a
    # candidate; at the least Jaccard the rule can accept (0.6: containment 0.8 and coverage 0.7) half are;
    # unrelated stories sharing stock phrases (Jaccard 0.14) practically never, where one shared key made 1 in
    # 800 of their pairs candidates.
    assert candidate_probability(0.7) > 0.92 and 0.5 < candidate_probability(0.6) < 0.6 and candidate_probability(0.14) < 1e-6
    one_key = dataclasses.replace(SETTINGS, min_shared_bands=1)
    assert candidate_probability(0.7, one_key) > 0.98 and candidate_probability(0.14, one_key) > 0.001


def sketches_sharing_one_band() -> tuple[Sketch, Sketch]:
    """Equal in 97 of their 120 values (Jaccard 0.81: copies by the rule), but in every row of the first band only."""
    values = np.arange(120, dtype="<u4")
    edited = values.copy()
    edited[5::5] += 1000  # the first row of every band but the first
    return Sketch(values.tobytes(), 100), Sketch(edited.tobytes(), 100)


def test_shared_bands_counts_the_band_keys_two_signatures_share():
    a, b = sketches_sharing_one_band()
    assert shared_bands(a.signature, b.signature) == 1 == len(set(band_keys(a.signature)) & set(band_keys(b.signature)))
    assert shared_bands(a.signature, a.signature) == SETTINGS.bands
    assert shared_bands(a.signature, b"") == 0


def packed(*values: int) -> bytes:
    return np.asarray(values, dtype="<u4").tobytes()


def test_only_copies_become_edges():
    b = Sketch(packed(1, 2, 3, 9), 100)
    pairs = [("a", "b", None, Sketch(packed(1, 2, 3, 4), 100), b), ("c", "b", None, Sketch(packed(7, 8, 9, 9), 100), b)]
    similar = [found for pair in pairs for found in similar_pairs(pair, SETTINGS)]
    assert similar == [("a", ("b", 0.8571))]  # J 0.75: 85.7 of 100 shared
    story = np.arange(300, dtype="<u2")
    other = np.concatenate((story[:100], np.arange(1000, 1300, dtype="<u2")))  # shares a passage, has its own
    assert list(copy_edges(("a", "b", 0.8571, story.tobytes(), story.tobytes()), SETTINGS)) == [("a", "b", 0.8571)]
    assert list(copy_edges(("a", "b", 0.8571, story.tobytes(), other.tobytes()), SETTINGS)) == []
    assert list(copy_edges(("a", "b", 0.8571, b"", b"x"), SETTINGS)) == [("a", "b", 0.8571)]  # outline unknown: a copy


def test_candidate_pairs_of_large_buckets_pair_with_anchors_only(monkeypatch):
    assert list(candidate_pairs(["c", "a", "b", "a"])) == [("a", "b"), ("a", "c"), ("b", "c")]
    monkeypatch.setattr("transforms.dedupe.clusters.MAX_ANCHORS", 2)
    pairs = list(candidate_pairs([f"m{i}" for i in range(5)]))
    assert len(pairs) == 1 + 2 * 3  # the anchors' pair, and each other member with both anchors
    assert all("m0" in pair or "m1" in pair for pair in pairs)


def test_a_flood_of_near_identical_teasers_costs_a_few_candidates_per_document():
    # Issue 22, item 10: 5,000 templated teasers peaked at 4.5 GB, against 0.69 GB for 5,000 distinct
    # documents: the candidates grew as n x anchors x bands inside one band key.
    rng = random.Random(3)
    by_bucket = collections.defaultdict(list)
    for i in range(2000):
        for bucket_key, band_key in bucketed_band_keys(sketch(teaser(i, rng)).signature, SETTINGS):
            by_bucket[bucket_key].append((band_key, f"t{i:05d}"))
    emitted = [pair for group in by_bucket.values() for pair in bucket_pairs(group)]
    assert len(emitted) / 2000 <= 8 * SETTINGS.bands  # ids only: its band keys x 8 at most (64 anchors: 870)
    firsts = collections.defaultdict(list)
    for first, second in emitted:
        firsts[second].append(first)
    verified = [pair for second, ids in firsts.items() for pair in fewest_candidates(second, ids, SETTINGS.min_shared_bands)]
    assert len(verified) / 2000 <= 8  # each carries two sketches to verification (64 anchors: 173)


def test_an_article_keeps_the_candidates_that_share_the_most_band_keys():
    """A copy shares most band keys, an unrelated story one through a stock phrase: the copy stays within
    the cap however many stock-phrase neighbours have smaller ids (ranked by id, recall fell with N)."""
    stock_phrase_neighbours = [f"a{i:02d}" for i in range(3 * MAX_ANCHORS)]  # one key each, all smaller ids
    kept = [first for first, _ in fewest_candidates("zz", stock_phrase_neighbours + ["copy"] * 20, 1)]
    assert kept == ["copy", *stock_phrase_neighbours[: MAX_ANCHORS - 1]]


def test_a_partner_sharing_fewer_band_keys_than_the_least_is_no_candidate():
    """One shared key is what unrelated stories get through a stock phrase, more of them as a corpus grows;
    with ``--lsh_min_shared 1`` it is a candidate again."""
    partners = ["one-key", "copy", "copy", "copy"]
    assert [first for first, _ in fewest_candidates("zz", partners, min_shared=2)] == ["copy"]
    assert [first for first, _ in fewest_candidates("zz", partners, min_shared=1)] == ["copy", "one-key"]


def test_a_flood_of_near_identical_teasers_is_one_cluster(test_pipeline, tmp_path):
    rng = random.Random(5)
    articles = [article(f"t{i:04d}", teaser(i, rng)) for i in range(300)]
    with test_pipeline as p:
        out = p | beam.Create(articles) | DeduplicateArticles(SETTINGS, str(tmp_path))
        assert_that(out.articles | beam.Map(lambda a: (a.article_id, a.duplicate_count)), equal_to([("t0000", 299)]))


def test_a_bucket_pairs_only_members_that_share_a_band_key():
    keys = band_keys(sketch(STORY).signature, SETTINGS)
    assert {bucket(k) for k in keys} == {f"{band}:{k.split(':')[1][:2]}" for band, k in enumerate(keys)}
    members = [("3:ab01", "b"), ("3:ab02", "c"), ("3:ab01", "a"), ("3:ab02", "d"), ("3:ab03", "e")]
    assert sorted(bucket_pairs(members)) == [("a", "b"), ("c", "d")]


def test_connected_components_merge_partial_forests():
    fn = ConnectedComponents()
    left = fn.add_input(fn.add_input(fn.create_accumulator(), ("a", "b")), ("x", "y"))
    right = fn.add_input(fn.add_input(fn.create_accumulator(), ("b", "c")), ("y", "z"))
    components = fn.extract_output(fn.merge_accumulators([left, right]))
    assert components == {"a": "a", "b": "a", "c": "a", "x": "x", "y": "x", "z": "x"}


def test_canonical_is_earliest_then_longest_then_smallest_id():
    early = dt.datetime(2021, 8, 16, tzinfo=dt.UTC)
    late = early + dt.timedelta(days=1)
    members = [
        Fingerprint("z", "h", late, 500, Sketch(packed(1), 10)),
        Fingerprint("y", "h", early, 100, Sketch(packed(1), 10)),
        Fingerprint("x", "h", early, 100, Sketch(packed(1), 10)),
        Fingerprint("w", "h", None, 900, Sketch(packed(1), 10)),
    ]
    decisions = {d.article_id: d for d in cluster_decisions(members)}
    assert {d.canonical_article_id for d in decisions.values()} == {"x"}
    assert decisions["x"].duplicate_count == 3 and decisions["z"].duplicate_count == 0
    undated = cluster_decisions(
        [Fingerprint("b", "h", None, 50, Sketch(packed(1), 10)), Fingerprint("a", "h", None, 40, Sketch(packed(1), 10))]
    )
    assert undated[0].article_id == "b"  # the longer text when none is dated


def test_dedupe_transform_clusters_exact_near_and_transitive_copies(test_pipeline, tmp_path):
    early = dt.datetime(2021, 8, 16, tzinfo=dt.UTC)
    words = STORY.split()
    near = " ".join(words[:-6] + ["officials", "said", "late", "on", "Thursday", "evening."])
    nearer = " ".join(["BERLIN", "(Wire)", "-"] + near.split())
    articles = [
        article("original", STORY, early),
        article("exact", STORY.upper().replace(".", " .")),
        article("near", near),
        article("chain", nearer),
        article("other", OTHER),
    ]
    with test_pipeline as p:
        out = p | beam.Create(articles) | DeduplicateArticles(SETTINGS, str(tmp_path))
        assert_that(
            out.articles | beam.Map(lambda a: (a.article_id, a.cluster_id, a.duplicate_count)),
            equal_to([("original", "original", 3), ("other", "other", 0)]),
            label="kept",
        )
        assert_that(
            out.duplicates | beam.Map(lambda d: (d.article_id, d.canonical_article_id, d.cluster_id, d.similarity >= 0.7)),
            equal_to(
                [
                    ("exact", "original", "original", True),
                    ("near", "original", "original", True),
                    ("chain", "original", "original", True),
                ]
            ),
            label="duplicates",
        )


def test_the_stage_counts_its_candidate_and_verified_pairs(test_pipeline, tmp_path):
    # Issue 24, item 3: candidates per document tell whether the search stays linear in N; the run stats
    # carry both counts. Expected: the representatives' pairs that share enough band keys, and those verified.
    words = STORY.split()
    near = " ".join(words[:-6] + ["officials", "said", "late", "on", "Thursday", "evening."])
    texts = {"a": STORY, "b": STORY.upper(), "c": near, "d": "BERLIN (Wire) - " + near, "e": OTHER}
    sketches = {i: sketch(t, SETTINGS) for i, t in texts.items() if i != "b"}  # b is a's exact copy
    expected_candidates = [
        (x, y)
        for x in sketches
        for y in sketches
        if x < y and shared_bands(sketches[x].signature, sketches[y].signature) >= SETTINGS.min_shared_bands
    ]
    expected_verified = [(x, y) for x, y in expected_candidates if verify(sketches[x], sketches[y], SETTINGS) is not None]
    assert expected_candidates and expected_verified
    _ = test_pipeline | beam.Create([article(i, t) for i, t in texts.items()]) | DeduplicateArticles(SETTINGS, str(tmp_path))
    result = test_pipeline.run()
    result.wait_until_finish()
    counts = stage_counts(counters(result), DEDUPE)
    assert counts["candidate_pairs"] == len(expected_candidates)
    assert counts["verified_pairs"] == len(expected_verified)
    assert (counts["in"], counts["out"], counts["duplicates"]) == (5, 2, 3)
