"""Feed throughput: parsing the dev feeds, and fetching article pages from a local server.

    python -m bench.feeds_bench [--dev ../shared/eval/feeds-dev] [--pages 60]

1. Parsing: our ``feed_records`` (feedparser + entity check + canonical URLs + raw documents) against
   feedparser alone in a plain loop over the same bytes; entries/s, MB/s and the ratio.
2. Fetching: the command line with ``--fetch-articles`` against a feed of N entries on a local HTTP server
   (127.0.0.1; one host, so per-host politeness is what bounds it), at the default politeness and relaxed;
   pages/s of the whole run, and of the fetch stage alone (the same code path, no Beam).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
from tests.support.feed_server import FeedServer  # noqa: E402
from transforms.feeds import feed_records  # noqa: E402
from transforms.fetch import HostThrottle, HttpSettings, fetch, new_session  # noqa: E402

DEFAULT_DEV = ROOT.parent / "shared" / "eval" / "feeds-dev"


def best_of(runs: int, work) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return min(timings)


def parsing(dev: Path) -> None:
    import feedparser

    feeds = [(p.name, p.read_bytes()) for p in sorted(dev.iterdir()) if p.suffix in (".rss", ".atom", ".xml", ".rdf")]
    entries = sum(len(feed_records(name, data)[0]) for name, data in feeds)
    megabytes = sum(len(data) for _, data in feeds) / 1e6
    ours = best_of(3, lambda: [feed_records(name, data) for name, data in feeds])
    alone = best_of(3, lambda: [feedparser.parse(data) for _, data in feeds])
    print(f"parsing {len(feeds)} dev feeds: {entries} entries, {megabytes:.2f} MB")
    print(f"  ours              {entries / ours:8.0f} entries/s {megabytes / ours:6.2f} MB/s")
    print(
        f"  feedparser alone  {entries / alone:8.0f} entries/s {megabytes / alone:6.2f} MB/s  (ours / alone = {alone / ours:.2f})"
    )


def fetch_stage(server: FeedServer, pages: int, settings: HttpSettings) -> float:
    session, throttle = new_session(settings), HostThrottle(settings.host_concurrency, settings.host_delay)

    def one(n: int) -> int:
        with throttle:
            return len(fetch(session, server.url(f"/article/{n}.html"), settings).body)

    started = time.perf_counter()
    with ThreadPoolExecutor(settings.host_concurrency) as pool:
        list(pool.map(one, range(pages)))
    return pages / (time.perf_counter() - started)


def fetching(pages: int) -> None:
    with FeedServer(articles=pages) as server:
        print(f"fetching {pages} article pages from one local host")
        for label, concurrency, delay in (("default politeness", 2, 0.5), ("relaxed", 4, 0.0)):
            settings = HttpSettings(allowed_hosts=("private",), host_concurrency=concurrency, host_delay=delay)
            stage = fetch_stage(server, pages, settings)
            with tempfile.TemporaryDirectory() as output:
                started = time.perf_counter()
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "pipelines.run",
                        "--feed",
                        server.url("/links.xml"),
                        "--fetch-articles",
                        "--allow-private-hosts",
                        "--output",
                        output,
                        "--host-concurrency",
                        str(concurrency),
                        "--host-delay",
                        str(delay),
                    ],
                    cwd=ROOT,
                    check=True,
                    capture_output=True,
                )
                seconds = time.perf_counter() - started
            print(
                f"  {label:18} (concurrency {concurrency}, delay {delay:.1f} s): fetch stage {stage:7.1f} pages/s, "
                f"whole run {pages / seconds:5.1f} pages/s ({seconds:.1f} s, model load included)"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    parser.add_argument("--pages", type=int, default=60)
    args = parser.parse_args()
    if args.dev.is_dir():
        parsing(args.dev)
    else:
        print(f"no dev feeds at {args.dev}: parsing skipped")
    fetching(args.pages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
