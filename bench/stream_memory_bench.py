"""Streaming dedupe's state per article: the logic of ``across_time._BucketMemory.process`` in one process,
with its state cells held as the runner holds them (encoded with the DoFn's ``PickleCoder``, decoded on
each visit and written back), over N articles all inside the horizon.

    python -m bench.stream_memory_bench [--sizes 1000 10000] [--last 500]

Each article visits its state keys (its exact-text key and one per LSH band) in order; the cost per article
is timed (CPU time) over the last ``--last`` articles, when N are remembered. Corpus: synthetic stories
(tests/support/corpus.py), 30% syndicated copies. The cost must not grow with N (issue 24, item 7).
"""

from __future__ import annotations

import argparse
import random
import time

from apache_beam.coders import PickleCoder

from tests.support.corpus import story, syndicate
from transforms.dedupe import across_time
from transforms.dedupe.across_time import Remembered, match_and_remember, memory_keys
from transforms.dedupe.fingerprints import DedupeSettings, content_hash, sketch


def texts(n: int, seed: int) -> list[str]:
    rng, out, originals = random.Random(seed), [], []
    for _ in range(n):
        if originals and rng.random() < 0.3:
            out.append("\n\n".join(syndicate(rng, rng.choice(originals))))
        else:
            _, paragraphs = story(rng)
            originals.append(paragraphs)
            out.append("\n\n".join(paragraphs))
    return out


def empty_memory():
    return across_time.Memory() if hasattr(across_time, "Memory") else {}  # (the code before issue 24: a dict)


def latest(memory) -> float:
    if hasattr(memory, "latest"):
        return memory.latest
    return max(m.at for members in memory.values() for m in members)


def run(n: int, last: int, settings: DedupeSettings) -> tuple[float, int, int]:
    """Seconds per article over the last ``last`` articles; duplicates found; bytes of state at the end."""
    coder, cells = PickleCoder(), {}
    prepared = []
    for i, text in enumerate(texts(n, seed=n)):
        remembered = Remembered(f"a{i:06d}", 1_000_000.0 + i, sketch(text, settings))
        prepared.append((remembered, memory_keys(content_hash(text), remembered.sketch.signature, settings)))
    duplicates, started = 0, None
    for i, (remembered, keys) in enumerate(prepared):
        if i == n - last:
            started = time.process_time()
        found = False
        for state_key, band_key in keys:
            encoded = cells.get(state_key)
            memory = coder.decode(encoded) if encoded is not None else empty_memory()
            found |= match_and_remember(memory, band_key, remembered, settings) is not None
            cells[state_key] = coder.encode(memory)
            _ = latest(memory) + settings.horizon  # the timer's time
        duplicates += found
    return (time.process_time() - started) / last, duplicates, sum(len(c) for c in cells.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--last", type=int, default=500)
    args = parser.parse_args()
    settings, costs = DedupeSettings(), {}
    for n in args.sizes:
        costs[n], duplicates, state = run(n, args.last, settings)
        print(
            f"N={n:>7} in the horizon: {costs[n] * 1000:7.2f} ms per article (last {args.last}), "
            f"{duplicates} duplicates found, state {state / 2**20:.1f} MiB"
        )
    sizes = sorted(costs)
    for small, large in zip(sizes, sizes[1:]):
        print(f"cost per article N={large} / N={small}: {costs[large] / costs[small]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
