"""What a run's start costs with a large state: the work that depends on ``STATE/`` before a 10-file run
reads its files, in a fresh process each, against an empty state.

    python -m bench.state_bench [--digests 1000000] [--feeds 100] [--entries 10000]

The state is generated, not grown by a year of runs: ``--digests`` file digests (as ``RememberFiles``
writes them: partitioned by key, ``keyed_sets``; and, for comparison, as before issue 24: one flat key
file, loaded whole), and ``feeds.json`` with ``--feeds`` x ``--entries`` seen entry keys. Each child
process times ``files.check_state_files`` (every run's check of the committed state) and the reader's
``setup`` plus the 10 files' lookups, and reports its peak RSS (``VmHWM``); the parent prints each
layout against the empty state.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def keys(n: int) -> list[str]:
    return [f"{hashlib.blake2b(str(i).encode(), digest_size=16).hexdigest()} /data/in/{i:08d}.html" for i in range(n)]


def generate(work: Path, digests: int, feeds: int, entries: int) -> dict[str, Path]:
    from transforms.keyed_sets import add_keys

    layouts = {"empty": work / "empty", "keyed": work / "keyed", "flat (before)": work / "flat"}
    for folder in layouts.values():
        (folder / "files").mkdir(parents=True)
    every = keys(digests)
    add_keys(str(layouts["keyed"] / "files"), every)
    (layouts["flat (before)"] / "files" / "all.txt").write_text("\n".join(every))
    if feeds and entries:
        seen = [f"https://feed{f}.example/story/{e}" for f in range(feeds) for e in range(entries)]
        state = json.dumps({"validators": {}, "seen": seen}, indent=1)
        for name in ("keyed", "flat (before)"):
            (layouts[name] / "feeds.json").write_text(state)
    return layouts


def child(state: str) -> None:
    """Start-up work of a 10-file run over ``state``; prints seconds and peak RSS as JSON."""
    from transforms.files import check_state_files
    from transforms.read import _ReadFiles

    probe = keys(5) + [f"{'0' * 32} /data/in/new{i}.html" for i in range(5)]  # 5 seen before, 5 new
    started = time.perf_counter()
    check_state_files(state)
    checked = time.perf_counter()
    reader = _ReadFiles(os.path.join(state, "files"))
    reader.setup()
    found = sum(key in reader.ingested for key in probe)
    done = time.perf_counter()
    rss = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM"))
    print(json.dumps({"check": checked - started, "lookup": done - checked, "found": found, "rss_kib": rss}))


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
    print(f"state: {args.digests:,} file digests; feeds.json with {args.feeds} x {args.entries:,} seen entries")
    for name, r in results.items():
        total = r["check"] + r["lookup"]
        print(
            f"{name:<14} check_state_files {r['check']:7.3f} s, reader setup + 10 lookups {r['lookup']:7.3f} s "
            f"(found {r['found']}), start {total / (base['check'] + base['lookup']):6.1f}x empty; "
            f"peak RSS {r['rss_kib'] / 1024:6.0f} MiB ({(r['rss_kib'] - base['rss_kib']) / 1024:+.0f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
