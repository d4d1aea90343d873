"""What an hourly append's commit costs on S3 as the dataset's history grows: ``python -m bench.sink_bench
[--runs 10 100 1000] [--files-per-run 24]``, against moto's S3 server on 127.0.0.1 (started and stopped
here).

For each history length N it generates N committed earlier runs (each: its ``_SUCCESS``, one file-digest
key set, and ``files_per_run`` table and index files named in the newest version's ``_files.json``; the
Parquet files every check opens are real, the others are listed only), then times one append's sink
protocol: lease, pointer, ``begin`` (dead versions cleared, base named, schema and state checks), the
run's own few files, ``seal`` and the conditional commit. It counts the S3 requests by kind (LIST, GET,
HEAD, PUT, COPY, DELETE) on the shared client. The pipeline's own work (parse, dedupe lookups in the
index) is not in it: that grows with the index, not with the commit protocol.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def generate(s3, output: str, runs: int, files_per_run: int) -> str:
    """N committed runs' worth of state; returns the newest run id."""
    import io

    import pyarrow.parquet as pq

    from transforms.write.parquet import TABLES

    client = s3.client()
    bucket, _, prefix = output[len("s3://") :].partition("/")
    files: dict[str, list[str]] = {}
    run_ids = [f"r{i:011d}" for i in range(runs)]
    for n, run in enumerate(run_ids):
        base = f"{prefix}/_versions/{run}"
        client.put_object(Bucket=bucket, Key=f"{base}/_SUCCESS", Body=b"")
        client.put_object(Bucket=bucket, Key=f"{base}/_state/files/{run}.txt", Body=f"{run} seeds/{run}.txt".encode())
        rels = [f"_state/files/{run}.txt"]
        for i in range(files_per_run):
            table = ("articles/published_date=2026-01-01", "entities/published_date=2026-01-01", "duplicates", "errors",
                     "feeds", "_state/dedupe/bands/part=00", "_state/dedupe/sketches/part=00")[i % 7]  # fmt: skip
            rels.append(f"{table}/part-{run}-{i:05d}.parquet")
        if n == 0:  # the files the schema check opens: one per table, real
            for table, schema in TABLES.items():
                rel = next(r for r in rels if r.startswith(table + "/"))
                buffer = io.BytesIO()
                pq.write_table(schema.empty_table(), buffer)
                client.put_object(Bucket=bucket, Key=f"{base}/{rel}", Body=buffer.getvalue())
        files[run] = rels
    newest = run_ids[-1]
    body = json.dumps({"files": files}, separators=(",", ":")).encode()
    client.put_object(Bucket=bucket, Key=f"{prefix}/_versions/{newest}/_files.json", Body=body)
    client.put_object(Bucket=bucket, Key=f"{prefix}/_versions/{newest}/_base.json", Body=b'{"base": null}')
    client.put_object(Bucket=bucket, Key=f"{prefix}/_CURRENT", Body=newest.encode())
    return newest


def append(output: str) -> None:
    """One append's sink protocol, with a run that writes one file per table and one key set."""
    from transforms.files import write_key_set
    from transforms.write import commit
    from transforms.write.parquet import TABLES, table_folder, write_parquet

    with commit.exclusive(output):
        version = commit.begin(output, "append000001", append=True)
        for table, schema in TABLES.items():
            write_parquet(f"{table_folder(version.root, table, None)}/part-append000001-00000.parquet", [], schema)
        write_key_set(f"{version.state}/files", ["digest seeds/new.txt"])
        commit.commit(version, {"run_id": version.run_id})


def measure(s3, runs: int, files_per_run: int) -> dict:
    from apache_beam.io.filesystems import FileSystems

    from transforms.sink import objects, view

    output = s3.bucket(f"bench-{runs}") + "/news"
    started = time.perf_counter()
    generate(s3, output, runs, files_per_run)
    generated = time.perf_counter() - started
    FileSystems.set_options(s3.options())
    view._sealed.clear()
    view._bases.clear()
    calls: collections.Counter = collections.Counter()
    client = objects.client()
    kinds = {"ListObjectsV2": "listed", "GetObject": "read", "HeadObject": "head", "PutObject": "written",
             "CopyObject": "copied", "DeleteObject": "deleted", "DeleteObjects": "deleted",
             "CreateMultipartUpload": "written"}  # fmt: skip

    def count(model, **_):
        calls[kinds.get(model.name, model.name)] += 1

    client.meta.events.register("before-call.s3.*", count)
    started = time.perf_counter()
    append(output)
    seconds = time.perf_counter() - started
    client.meta.events.unregister("before-call.s3.*", count)
    files = view.sealed_files(f"{output}/_versions/append000001")
    return {"earlier_runs": runs, "files_in_version": len(files), "seconds": round(seconds, 2),
            "generate_seconds": round(generated, 1), **dict(sorted(calls.items()))}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sink_bench", description=__doc__)
    parser.add_argument("--runs", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--files-per-run", type=int, default=24)
    args = parser.parse_args(argv)
    from tests.support.s3 import local_s3

    with local_s3() as s3:
        for runs in args.runs:
            print(json.dumps(measure(s3, runs, args.files_per_run)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
