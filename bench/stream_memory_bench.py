"""Streaming dedupe's state per article: the logic of ``across_time._BucketMemory.process`` in one process,
with its state cells held as the runner holds them (encoded with the DoFn's ``PickleCoder``, decoded on
each visit and written back), over N articles all inside the horizon.

    python -m bench.stream_memory_bench [--sizes 1000 10000] [--last 500]

Each article visits its state keys (its exact-text key and one per LSH band) in order; the cost per article
is timed (CPU time) over the last ``--last`` articles, when N are remembered, in all and in the state
cells' decoding and encoding; the remembered articles each is compared with are counted (they grow with N
where unrelated stories share stock phrases, as the synthetic corpus's do: that is the LSH's work, not the
state's). Corpus: synthetic stories (tests/support/corpus.py), 30% syndicated copies.
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


def examined(memory, band_key: str) -> int:
    """Entries remembered under the band key visited: the candidates the newcomer is compared with."""
    return len(memory.get(band_key, [])) if isinstance(memory, dict) else len(memory.entries.get(band_key, []))


def run(n: int, last: int, settings: DedupeSettings) -> dict:
    """Over the last ``last`` articles: CPU seconds per article in all and in the state's decoding and
    encoding, candidates compared per article; duplicates found; bytes of state at the end."""
    coder, cells = PickleCoder(), {}
    prepared = []
    for i, text in enumerate(texts(n, seed=n)):
        remembered = Remembered(f"a{i:06d}", 1_000_000.0 + i, sketch(text, settings))
        prepared.append((remembered, memory_keys(content_hash(text), remembered.sketch.signature, settings)))
    duplicates, started, coding, compared = 0, None, 0.0, 0
    for i, (remembered, keys) in enumerate(prepared):
        timed = i >= n - last
        if i == n - last:
            started = time.process_time()
        found = False
        for state_key, band_key in keys:
            before = time.process_time()
            encoded = cells.get(state_key)
            memory = coder.decode(encoded) if encoded is not None else empty_memory()
            decoded = time.process_time()
            compared += timed * examined(memory, band_key)
            found |= match_and_remember(memory, band_key, remembered, settings) is not None
            matched = time.process_time()
            cells[state_key] = coder.encode(memory)
            _ = latest(memory) + settings.horizon  # the timer's time
            coding += timed * ((decoded - before) + (time.process_time() - matched))
        duplicates += found
    return {
        "all": (time.process_time() - started) / last,
        "state": coding / last,
        "compared": compared / last,
        "duplicates": duplicates,
        "bytes": sum(len(c) for c in cells.values()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--last", type=int, default=500)
    args = parser.parse_args()
    settings, costs = DedupeSettings(), {}
    for n in args.sizes:
        r = costs[n] = run(n, args.last, settings)
        print(
            f"N={n:>7} in the horizon: {r['all'] * 1000:7.2f} ms per article (last {args.last}), of which state "
            f"decoding and encoding {r['state'] * 1000:6.2f} ms; {r['compared']:5.1f} remembered articles compared "
            f"per article; {r['duplicates']} duplicates found, state {r['bytes'] / 2**20:.1f} MiB"
        )
    sizes = sorted(costs)
    for small, large in zip(sizes, sizes[1:]):
        a, b = costs[small], costs[large]
        print(
            f"N={large} / N={small}: per article {b['all'] / a['all']:.2f}, state handling {b['state'] / a['state']:.2f}, "
            f"compared {b['compared'] / max(a['compared'], 1e-9):.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
