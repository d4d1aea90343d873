"""Streaming benchmark: freshness and throughput of a streaming job polling feeds that grow as it runs.

    python -m bench.streaming_bench [--feeds 4] [--every 2] [--per-tick 5] [--seconds 60] [--poll 1]

A local server (127.0.0.1) serves ``--feeds`` RSS feeds; every ``--every`` seconds each gains ``--per-tick``
new stories (tests/support/corpus.py), 30% of them syndicated copies of a story another feed carried (at least
``--lag`` seconds earlier).
Each feed lists its latest 50 entries and answers 304 when unchanged. ``python -m pipelines.run
--streaming`` polls them for ``--seconds``. Printed: entries published and ingested, duplicates found
against the copies planted, freshness (a row's file written minus the entry's first appearance in its
feed: p50, p95, max), documents per second, and peak RSS of the job's process tree.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
from bench.scale_bench import tree_rss  # noqa: E402
from tests.support.corpus import story, syndicate  # noqa: E402


class GrowingFeeds:
    def __init__(self, feeds: int, per_tick: int, lag: float, seed: int = 1):
        self.rng, self.per_tick, self.lag = random.Random(seed), per_tick, lag
        self.entries: list[list[dict]] = [[] for _ in range(feeds)]
        self.appeared: dict[str, float] = {}  # guid -> when it was first listed
        self.copies: dict[str, str] = {}  # syndicated copy's guid -> its original's
        self.lock = threading.Lock()

    def grow(self) -> None:
        with self.lock:
            now = time.time()
            for feed, entries in enumerate(self.entries):
                for _ in range(self.per_tick):
                    guid = f"f{feed}-{len(entries)}"
                    others = [
                        e
                        for f, es in enumerate(self.entries)
                        if f != feed
                        for e in es[-20:]
                        if e["guid"] not in self.copies and e["published"] <= now - self.lag
                    ]
                    if others and self.rng.random() < 0.3:
                        original = self.rng.choice(others)
                        title, paragraphs = original["title"], syndicate(self.rng, original["paragraphs"])
                        self.copies[guid] = original["guid"]
                    else:
                        title, paragraphs = story(self.rng)
                    entries.append({"guid": guid, "title": title, "paragraphs": paragraphs, "published": now})
                    self.appeared[guid] = now

    def rss(self, feed: int) -> tuple[str, bytes]:
        with self.lock:
            latest = self.entries[feed][-50:]
        items = "".join(
            f'<item><guid isPermaLink="false">{e["guid"]}</guid><link>http://127.0.0.1/f{feed}/{e["guid"]}</link>'
            f"<title>{e['title']}</title><pubDate>{formatdate(e['published'], usegmt=True)}</pubDate>"
            f"<description><![CDATA[{''.join(f'<p>{p}</p>' for p in e['paragraphs'])}]]></description></item>"
            for e in latest
        )
        etag = f'"{feed}-{len(self.entries[feed])}"'
        return (
            etag,
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {feed}</title>{items}</channel></rss>'.encode(),
        )


def serve(feeds: GrowingFeeds) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            etag, body = feeds.rss(int(self.path.strip("/").split(".")[0].removeprefix("feed-")))
            status = 304 if self.headers.get("If-None-Match") == etag else 200
            self.send_response(status)
            self.send_header("ETag", etag)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", "0" if status == 304 else str(len(body)))
            self.end_headers()
            if status == 200:
                self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def written_at(output: Path) -> dict[str, float]:
    """entry id -> when the file holding its row (article or duplicate) was renamed into place."""
    times = {}
    for table in ("articles", "duplicates"):
        for path in (output / table).rglob("part-*.parquet"):
            for entry_id in pq.read_table(path, columns=["entry_id"]).column("entry_id").to_pylist():
                times[entry_id] = path.stat().st_mtime
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=4)
    parser.add_argument("--every", type=float, default=2.0)
    parser.add_argument("--per-tick", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument(
        "--lag",
        type=float,
        default=0.0,
        help="copies are made of stories at least this many seconds old (0: also of the same instant's)",
    )
    args = parser.parse_args()

    feeds = GrowingFeeds(args.feeds, args.per_tick, args.lag)
    server = serve(feeds)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    stop = threading.Event()

    def grow():
        while not stop.is_set():
            feeds.grow()
            stop.wait(args.every)

    with tempfile.TemporaryDirectory() as output:
        command = [
            sys.executable,
            "-m",
            "pipelines.run",
            "--runner=DirectRunner",
            "--streaming",
            "--allow-private-hosts",
            "--poll-interval",
            f"{args.poll}s",
            "--window",
            "10s",
            "--run-for",
            f"{args.seconds}s",
            "--output",
            output,
            *(arg for i in range(args.feeds) for arg in ("--feed", f"{base}/feed-{i}.xml")),
        ]
        grower = threading.Thread(target=grow)
        started = time.time()
        job = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        grower.start()
        peak = 0
        while job.poll() is None:
            peak = max(peak, tree_rss(job.pid))
            time.sleep(0.2)
            if time.time() - started > args.seconds:
                stop.set()  # no entry appears after polling ends: every one published can be ingested
        stop.set()
        grower.join()
        elapsed = time.time() - started
        stdout = job.stdout.read()
        times = written_at(Path(output))
        duplicates = {
            r
            for path in (Path(output) / "duplicates").rglob("part-*.parquet")
            for r in pq.read_table(path, columns=["entry_id"]).column("entry_id").to_pylist()
        }
    server.shutdown()
    published = {g: t for g, t in feeds.appeared.items() if t <= started + args.seconds - args.poll}
    fresh = sorted(times[g] - t for g, t in published.items() if g in times)
    print(
        f"{args.feeds} feeds, {args.per_tick} new entries each every {args.every:g} s, polled every {args.poll:g} s for {args.seconds:g} s"
    )
    print(
        f"entries published {len(published)}, ingested {len(fresh)} ({len(times)} rows in all), job {elapsed:.1f} s, exit {job.returncode}"
    )
    planted = {copy: original for copy, original in feeds.copies.items() if copy in published}
    caught = {copy for copy, original in planted.items() if copy in duplicates or original in duplicates}
    print(
        f"syndicated copies planted {len(planted)}: caught {len(caught)} ({len(caught & duplicates)} copy as the duplicate, "
        f"{len(caught - duplicates)} the original, stamped the same instant), missed {len(planted) - len(caught)}; "
        f"unplanted duplicates {len(duplicates - planted.keys() - set(planted.values()))}"
    )
    if fresh:
        p95 = fresh[min(len(fresh) - 1, int(0.95 * len(fresh)))]
        print(
            f"freshness (file written - entry first listed): p50 {statistics.median(fresh):.2f} s, p95 {p95:.2f} s, max {fresh[-1]:.2f} s"
        )
    print(
        f"throughput {len(times) / elapsed:.1f} docs/s over the whole job (model load included), peak RSS {peak / 2**20:.0f} MiB"
    )
    print(stdout.strip().splitlines()[-1] if stdout.strip() else "(no summary)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
