"""What a run's start costs with a large state: the work that depends on ``STATE/`` before a 10-file run
reads its files, in a fresh process each, against an empty state.

    python -m bench.state_bench [--digests 1000000] [--feeds 100] [--entries 10000]

The state is generated, not grown by a year of runs: ``--digests`` file digests (as ``RememberFiles``
writes them: partitioned by key, ``keyed_sets``; and, for comparison, as before issue 24: one flat key
file, loaded whole), and ``--feeds`` x ``--entries`` seen entry keys, as the feed state keeps them now (one
file per feed, ``feeds/state.py``) and as before (``feeds.json``, every feed's keys in one file). Each
child process times ``files.check_state_files`` (every run's check of the committed state), the reader's
``setup`` plus the 10 files' lookups, and one feed's state as its reader loads it (now: that feed's file;
before: ``feeds.json`` whole, as ``FeedState.load`` read it), and reports its peak RSS (``VmHWM``); the
parent prints each layout against the empty state.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def keys(n: int) -> list[str]:
    return [f"{hashlib.blake2b(str(i).encode(), digest_size=16).hexdigest()} /data/in/{i:08d}.html" for i in range(n)]


def generate(work: Path, digests: int, feeds: int, entries: int) -> dict[str, Path]:
    from transforms.feeds.state import FeedState, save
    from transforms.keyed_sets import add_keys

    layouts = {
        "empty": work / "empty",
        "digests flat + feeds.json (before)": work / "flat",
        "digests keyed + feeds.json (before)": work / "keyed-json",
        "digests keyed + feed files (now)": work / "keyed-feeds",
    }
    for folder in layouts.values():
        (folder / "files").mkdir(parents=True)
    every = keys(digests)
    add_keys(str(layouts["digests keyed + feeds.json (before)"] / "files"), every)
    os.rmdir(layouts["digests keyed + feed files (now)"] / "files")
    shutil.copytree(
        layouts["digests keyed + feeds.json (before)"] / "files", layouts["digests keyed + feed files (now)"] / "files"
    )
    (layouts["digests flat + feeds.json (before)"] / "files" / "all.txt").write_text("\n".join(every))
    if feeds and entries:
        seen = [entry(f, e) for f in range(feeds) for e in range(entries)]
        state = json.dumps({"validators": {}, "seen": seen}, indent=1)
        for name in ("digests flat + feeds.json (before)", "digests keyed + feeds.json (before)"):
            (layouts[name] / "feeds.json").write_text(state)
        now = time.time()
        for f in range(feeds):
            listed = {entry(f, e): (now, 100) for e in range(entries)}
            save(str(layouts["digests keyed + feed files (now)"]), FeedState(feed(f), {"etag": '"x"'}, 100, listed))
    return layouts


def feed(f: int) -> str:
    return f"https://feed{f}.example/rss"


def entry(f: int, e: int) -> str:
    return f"url:https://feed{f}.example/story/{e}"


def child(state: str) -> None:
    """Start-up work of a 10-file run over ``state``, and one feed's state loaded by its reader; prints
    seconds and peak RSS as JSON."""
    from transforms.feeds.state import LEGACY_FILE, load
    from transforms.files import check_state_files, read_state_json
    from transforms.read import _ReadFiles

    probe = keys(5) + [f"{'0' * 32} /data/in/new{i}.html" for i in range(5)]  # 5 seen before, 5 new
    started = time.perf_counter()
    check_state_files(state)
    checked = time.perf_counter()
    reader = _ReadFiles(os.path.join(state, "files"))
    reader.setup()
    found = sum(key in reader.ingested for key in probe)
    done = time.perf_counter()
    rss = peak_rss_kib()
    legacy = os.path.join(state, LEGACY_FILE)
    if os.path.exists(legacy):  # what FeedState.load did before: every feed's keys, whole
        seen = set(read_state_json(legacy)["seen"])
    else:
        seen = load(state, feed(0))[0].seen
    loaded = time.perf_counter()
    print(
        json.dumps(
            {
                "check": checked - started,
                "lookup": done - checked,
                "found": found,
                "rss_kib": rss,
                "feed": loaded - done,
                "feed_keys": len(seen),
                "feed_rss_kib": peak_rss_kib(),
            }
        )
    )


def peak_rss_kib() -> int:
    return next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM"))


def measure(state: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(state)], capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--digests", type=int, default=1_000_000)
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    with tempfile.TemporaryDirectory() as work:
        layouts = generate(Path(work), args.digests, args.feeds, args.entries)
        results = {name: measure(folder) for name, folder in layouts.items()}
    base = results["empty"]
    print(f"state: {args.digests:,} file digests; {args.feeds} feeds x {args.entries:,} seen entries")
    for name, r in results.items():
        total = r["check"] + r["lookup"]
        print(
            f"{name:<36} check_state_files {r['check']:7.3f} s, reader setup + 10 lookups {r['lookup']:7.3f} s "
            f"(found {r['found']}), start {total / (base['check'] + base['lookup']):6.1f}x empty; "
            f"peak RSS {r['rss_kib'] / 1024:6.0f} MiB ({(r['rss_kib'] - base['rss_kib']) / 1024:+.0f}); "
            f"one feed's state: {r['feed']:.3f} s, {r['feed_keys']:,} keys, peak RSS then "
            f"{(r['feed_rss_kib'] - base['feed_rss_kib']) / 1024:+.0f} MiB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
