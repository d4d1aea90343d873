"""WARC benchmark: which library reads archives (speed, survival of broken files), whether memory stays
flat in the file's size, and what a second worker gives on one big archive.

    python -m bench.warc_bench libraries [--records 4000]     warcio vs FastWARC: records/s, broken files
    python -m bench.warc_bench memory [--gigabytes 1]         peak RSS reading ~10 MB vs ~1 GB
    python -m bench.warc_bench workers [--records 20000]      read+parse+clean, 1 vs 2 workers

Archives are generated (kept under --folder) from the extraction dev pages (../shared/eval/extraction-dev)
or, without them, the seed pages: response and request records, one gzip member each. Results go to
docs/formats.md by hand, with the machine's load (the machine is shared).
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEV = Path(os.environ.get("NEWS_SHARED", ROOT.parent / "shared")) / "eval" / "extraction-dev" / "html"


def pages() -> list[bytes]:
    if DEV.is_dir():
        return [gzip.decompress(p.read_bytes()) for p in sorted(DEV.glob("*.html.gz"))]
    from tests.support.warcs import seed_pages

    return [body for _, body in seed_pages()]


def generate(path: Path, target_bytes: int = 0, records: int = 0, small_pages: bool = False, gzipped: bool = True) -> Path:
    """An archive of response + request pairs until ``target_bytes`` are written or ``records`` records."""
    from tests.support.warcs import Builder, seed_pages

    if path.exists():
        return path
    bodies = [body for _, body in seed_pages()] if small_pages else pages()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with open(partial, "wb") as out:
        n = 0
        while (target_bytes and out.tell() < target_bytes) or (records and n < records):
            b = Builder(gzipped)
            url = f"https://site{n % 97}.example.com/2024/01/{n}.html"
            b.response(url, bodies[n % len(bodies)]).request(url)
            out.write(b.build().data)
            n += 2
    partial.rename(path)
    return path


def read_all_ours(path: Path) -> int:
    from transforms.read import read_file

    with open(path, "rb") as stream:
        return sum(1 for _ in read_file(str(path), stream))


def read_all_warcio(path: Path) -> int:
    from warcio.archiveiterator import ArchiveIterator

    n = 0
    with open(path, "rb") as stream:
        for record in ArchiveIterator(stream):
            record.content_stream().read()
            n += 1
    return n


def read_all_fastwarc(path: Path, quirks: bool = False) -> int:
    from fastwarc.warc import ArchiveIterator

    n = 0
    with open(path, "rb") as stream:
        for record in ArchiveIterator(stream, quirks_mode=quirks):
            record.reader.read()
            n += 1
    return n


READERS = {
    "warcio": read_all_warcio,
    "fastwarc": read_all_fastwarc,
    "fastwarc (quirks)": lambda p: read_all_fastwarc(p, True),
    "ours (warcio + own gzip, to documents)": read_all_ours,
}


def survive(reader, path: Path) -> str:
    """Records read, and how the reader ended."""
    try:
        return f"{reader(path)} records"
    except Exception as e:  # noqa: BLE001 - what a library does with a broken file is the measurement
        return f"stopped: {type(e).__name__}: {' '.join(str(e).split())[:60]}"


def broken_files(folder: Path) -> dict[str, Path]:
    from tests.support import warcs

    plain, gz = warcs.crawl(gzipped=False), warcs.crawl()
    made = {
        "truncated.warc": warcs.truncated(plain),
        "bad-content-length.warc": warcs.with_bad_length(plain),
        "bad-chunking.warc": warcs.with_bad_chunking(plain),
        "corrupt-gzip-member.warc.gz": warcs.with_corrupt_member(gz),
        "gzipped-whole.warc.gz": warcs.gzipped_whole(plain),
    }
    files = {}
    for name, archive in made.items():
        (folder / name).write_bytes(archive.data)
        files[f"{name} ({archive.records} records)"] = folder / name
    return files


def libraries(folder: Path, records: int) -> None:
    path = generate(folder / f"speed-{records}.warc.gz", records=records)
    import transforms.read  # noqa: F401 - imported before the clock starts (Beam's imports take seconds)

    print(f"# {path.name}: {path.stat().st_size / 2**20:.1f} MiB, load {os.getloadavg()[0]:.1f}")
    for name, reader in READERS.items():
        started = time.perf_counter()
        n = reader(path)
        best = time.perf_counter() - started
        print(f"{name:<42} {n:>7} records  {n / best:>9.0f} records/s  {path.stat().st_size / 2**20 / best:>6.1f} MiB/s")
    print("\n# broken files")
    for label, path in broken_files(folder).items():
        print(label)
        for name, reader in READERS.items():
            print(f"    {name:<42} {survive(reader, path)}")


def peak_rss(path: Path) -> tuple[float, float, int, float]:
    """Peak RSS (MiB) of a fresh process that only imports, of one that reads every record, the records
    and the seconds it took."""
    code = (
        "import resource, sys, time; from bench.warc_bench import read_all_ours; from pathlib import Path; "
        "import transforms.read; "
        "t = time.perf_counter(); n = read_all_ours(Path(sys.argv[1])) if sys.argv[2] == '1' else 0; "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, time.perf_counter() - t, n)"
    )
    runs = []
    for read in ("0", "1"):
        out = subprocess.run([sys.executable, "-c", code, str(path), read], capture_output=True, text=True, cwd=ROOT, check=True)
        runs.append(out.stdout.split())
    return float(runs[0][0]), float(runs[1][0]), int(runs[1][2]), float(runs[1][1])


def memory(folder: Path, gigabytes: float) -> None:
    print(f"# load {os.getloadavg()[0]:.1f}")
    for label, size in (("10 MB", 10 * 2**20), (f"{gigabytes:g} GB", int(gigabytes * 2**30))):
        path = generate(folder / f"memory-{size}.warc", target_bytes=size, gzipped=False)
        base, peak, n, seconds = peak_rss(path)
        print(
            f"{label:<6} {path.stat().st_size / 2**20:>8.0f} MiB  {n:>7} records in {seconds:6.1f} s  peak RSS {peak:6.0f} MiB (imports alone {base:.0f})"
        )


def workers(folder: Path, records: int) -> None:
    path = generate(folder / f"workers-{records}.warc.gz", records=records, small_pages=True)
    print(f"# {path.name}: {records} records, load before {os.getloadavg()[0]:.1f} (2 cores, shared)")
    times = {}
    for n in (1, 2):
        code = (
            "import sys, time, apache_beam as beam; from apache_beam.options.pipeline_options import PipelineOptions; "
            "from pipelines.adapter import adapted_runner; from transforms.read import ReadDocuments; "
            "from transforms.parse import ParseDocuments; from transforms.clean import CleanArticles; "
            "n = int(sys.argv[2]); mode = 'multi_processing' if n > 1 else 'in_memory'; "
            "o = PipelineOptions(direct_num_workers=n, direct_running_mode=mode); t = time.perf_counter(); "
            "p = beam.Pipeline(runner=adapted_runner(o), options=o); "
            "r = p | ReadDocuments([sys.argv[1]]); c = r.documents | ParseDocuments(); "
            "a = c.articles | CleanArticles(); p.run().wait_until_finish(); print(time.perf_counter() - t)"
        )
        out = subprocess.run([sys.executable, "-c", code, str(path), str(n)], capture_output=True, text=True, cwd=ROOT)
        if out.returncode:
            print(out.stderr[-2000:])
            return
        times[n] = float(out.stdout.split()[-1])
        print(f"{n} worker(s): {times[n]:.1f} s, load after {os.getloadavg()[0]:.1f}")
    print(f"2 workers / 1 worker: {times[1] / times[2]:.2f}x")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["libraries", "memory", "workers"])
    parser.add_argument("--records", type=int, default=0)
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--folder", default=str(Path(tempfile.gettempdir()) / "news-warc-bench"))
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    if args.what == "libraries":
        libraries(folder, args.records or 4000)
    elif args.what == "memory":
        memory(folder, args.gigabytes)
    else:
        workers(folder, args.records or 20000)


if __name__ == "__main__":
    main()
