"""What an hourly append's commit costs on S3 as the dataset's history grows, in each table format:
``python -m bench.sink_bench [--runs 10 100 1000] [--files-per-run 24] [--formats parquet delta iceberg]``,
against moto's S3 server on 127.0.0.1 (started and stopped here).

For each history length N it generates N committed earlier runs (each: its ``_SUCCESS``, one file-digest
key file in its partition, and ``files_per_run`` table and index files named in the newest version's ``_files.json``; the
Parquet files every check opens are real, the others are listed only) and, for ``delta`` and ``iceberg``,
the format's tables holding exactly those files, one commit (Delta log entry, Iceberg snapshot) per earlier
run: written directly (Delta: the JSON commits, and a checkpoint at the last multiple of 100 as delta-rs
makes every 100 commits; Iceberg: one merge-append snapshot per run, copies of one real data file's entry,
committed 100 to a transaction, through pyiceberg's own snapshot producers and catalog; each staged
update applied once, ``staged_once``, and the writes sent to a local folder uploaded to the server in one
pass at the end, ``mirror_io``: 1,000 runs in minutes, not hours). Then it times one append's sink
protocol: lease, pointer, ``begin`` (dead versions cleared, a stream's unsealed base sealed, base named,
schema and state checks), the run's own file per table, ``seal``, the
format's commit of every table (``tables.publish``: this run's files copied into the table, their footers
read, one commit each) and the conditional pointer. It counts the requests the S3 server received, by kind
(LIST, GET, HEAD, PUT, DELETE: from the server's request log, so delta-rs's and pyarrow's requests count
too; COPY from boto3, the only client that copies). The pipeline's own work (parse, dedupe lookups in the
index) is not in it: that grows with the index, not with the commit protocol.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import copy
import datetime as dt
import io
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RUN_ID = "append000001"
FOLDERS = ("articles/published_month=2026-01", "entities/published_month=2026-01", "duplicates", "errors", "feeds",
           "_state/dedupe/bands/part=00", "_state/dedupe/sketches/part=00")  # fmt: skip


def generate(s3, output: str, runs: int, files_per_run: int) -> dict[str, list[str]]:
    """N committed runs' worth of state; returns each run's files (paths in the version), oldest first."""
    import pyarrow.parquet as pq

    from transforms.write.parquet import TABLES

    client = s3.client()
    bucket, _, prefix = output[len("s3://") :].partition("/")
    files: dict[str, list[str]] = {}
    run_ids = [f"r{i:011d}" for i in range(runs)]
    for n, run in enumerate(run_ids):
        base = f"{prefix}/_versions/{run}"
        client.put_object(Bucket=bucket, Key=f"{base}/_SUCCESS", Body=b"")
        digests = f"_state/files/part={n % 256:02x}/{run}.txt"  # keyed, as ``keyed_sets.add_keys`` writes them
        client.put_object(Bucket=bucket, Key=f"{base}/{digests}", Body=f"{run} seeds/{run}.txt".encode())
        rels = [digests]
        rels += [f"{FOLDERS[i % len(FOLDERS)]}/part-{run}-{i:05d}.parquet" for i in range(files_per_run)]
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
    return files


def _table_files(rels: list[str], table: str) -> list[str]:
    return [r[len(table) + 1 :] for r in rels if r.startswith(table + "/") and r.endswith(".parquet")]


def generate_delta(s3, output: str, files: dict[str, list[str]]) -> None:
    """Each table's Delta log: the table made by the pipeline's own first commit (no file), then one JSON
    commit per earlier run adding its files, a checkpoint at the last multiple of 100."""
    from deltalake import DeltaTable

    from transforms.sink import objects
    from transforms.write.parquet import TABLES
    from transforms.write.tables import DELTA, Published, delta
    from transforms.write.tables import RUN_ID as RUN_KEY

    where = Published(output, DELTA)
    delta.publish(where, {table: {} for table in TABLES}, "init")
    client = s3.client()
    bucket, _, prefix = output[len("s3://") :].partition("/")
    now = int(time.time() * 1000)
    for table in TABLES:
        for n, (run, rels) in enumerate(files.items(), start=1):
            lines = [
                {
                    "add": {
                        "path": path,
                        "size": 1000,
                        "partitionValues": {},
                        "modificationTime": now,
                        "dataChange": True,
                        "stats": json.dumps({"numRecords": 10}),
                    }
                }  # fmt: skip
                for path in _table_files(rels, table)
            ]
            lines.append({"commitInfo": {"timestamp": now, "operation": "WRITE", RUN_KEY: run}})
            body = "\n".join(json.dumps(line) for line in lines).encode()
            client.put_object(Bucket=bucket, Key=f"{prefix}/_delta/{table}/_delta_log/{n:020d}.json", Body=body)
        last = len(files) // 100 * 100
        if last:
            uri = delta.table_uri(output, table)
            DeltaTable(uri, version=last, storage_options=objects.delta_storage_options()).create_checkpoint()
    _marker(s3, output, {"format": DELTA, "catalog": None, "namespace": "news"})


MIRROR = "bench.mirror-root"  # MirrorIO's property: the local folder that stands in for the server


def mirror_io():
    """pyiceberg's FileIO for generating history (``py-io-impl``): a file it writes under ``s3://`` goes to
    a local folder, under the same path, and keeps its ``s3://`` name in every manifest, manifest list and
    metadata file; a file it reads comes from that folder when written there, else from the server. One
    snapshot's writes and reads (its manifest, its manifest list, the parent's list, the manifests a merge
    rewrites) thus cost a local file each instead of a request to moto; ``upload`` then puts the folder's
    files to the server, so the state the timed append reads is the one those requests would have made."""
    from pyarrow.fs import LocalFileSystem
    from pyiceberg.io.pyarrow import PyArrowFile, PyArrowFileIO

    class MirrorIO(PyArrowFileIO):
        def __init__(self, properties):
            super().__init__(properties)
            self.root, self.local = properties[MIRROR], LocalFileSystem()

        def _mirrored(self, location: str) -> str:
            return os.path.join(self.root, location.removeprefix("s3://"))

        def new_input(self, location: str):
            local = self._mirrored(location)
            if location.startswith("s3://") and os.path.exists(local):
                return PyArrowFile(location=location, path=local, fs=self.local)
            return super().new_input(location)

        def new_output(self, location: str):
            if not location.startswith("s3://"):
                return super().new_output(location)
            local = self._mirrored(location)
            os.makedirs(os.path.dirname(local), exist_ok=True)
            return PyArrowFile(location=location, path=local, fs=self.local)

    return MirrorIO


def upload(s3, root: str) -> int:
    """Every file under ``root`` (``<bucket>/<key>``) put to the server; returns how many."""
    from concurrent.futures import ThreadPoolExecutor

    client = s3.client()
    paths = [os.path.join(folder, name) for folder, _, names in os.walk(root) for name in names]

    def put(path: str) -> None:
        bucket, _, key = os.path.relpath(path, root).partition(os.sep)
        with open(path, "rb") as handle:
            client.put_object(Bucket=bucket, Key=key.replace(os.sep, "/"), Body=handle.read())

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, paths))
    return len(paths)


@contextlib.contextmanager
def staged_once():
    """While generating: a pyiceberg ``Transaction``'s staged updates applied once each, to the metadata
    the earlier ones gave, without a deep copy. pyiceberg's ``Transaction.table_metadata`` re-applies every
    staged update to a deep copy of the table's metadata each time it is read (about 14 times a snapshot),
    so staging N snapshots costs O(N^2) copies of a metadata that itself grows with N: 17 of 30 s for 60
    runs of one table, and the 700 s of 500 runs of five tables. The metadata the catalog commits is
    unchanged (the commit applies the updates itself, with pyiceberg's own ``update_table_metadata``)."""
    from pyiceberg.table import Transaction
    from pyiceberg.table.update import _apply_table_update, _TableMetadataUpdateContext

    def table_metadata(self):
        base, applied = self.__dict__.get("_staged_once") or (self._table.metadata, 0)
        if applied < len(self._updates):
            context = _TableMetadataUpdateContext()
            for update in self._updates[applied:]:
                base = _apply_table_update(update, base, context)
            self.__dict__["_staged_once"] = (base, len(self._updates))
        return base

    original = Transaction.table_metadata
    Transaction.table_metadata = property(table_metadata)
    try:
        yield
    finally:
        Transaction.table_metadata = original


def generate_iceberg(s3, output: str, files: dict[str, list[str]], catalog_uri: str) -> None:
    """Each table in the SQL catalog, then one merge-append snapshot per earlier run (as the pipeline's
    commits, ``commit.manifest-merge.enabled``), its data files copies of one real file's entry; written
    through ``mirror_io`` and uploaded at the end."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.table import _parquet_files_to_data_files

    from transforms.sink import objects
    from transforms.write.parquet import DATE_COLUMN, TABLES
    from transforms.write.tables import ICEBERG, Published, iceberg
    from transforms.write.tables import RUN_ID as RUN_KEY

    where = Published(output, ICEBERG, catalog_uri)
    iceberg.catalog(where)  # the namespace
    mirror = tempfile.mkdtemp(prefix="iceberg-mirror-")
    MirrorIO = mirror_io()
    sys.modules[__name__].MirrorIO = MirrorIO  # where ``py-io-impl`` finds it
    properties = {**objects.iceberg_properties(), "py-io-impl": f"{__name__}.MirrorIO", MIRROR: mirror}
    found = SqlCatalog(iceberg.CATALOG_NAME, uri=catalog_uri, **properties)
    client = s3.client()
    bucket, _, prefix = output[len("s3://") :].partition("/")
    for table, schema in TABLES.items():
        template_path = f"{output}/_iceberg/{table}/data/template.parquet"
        row = {DATE_COLUMN: dt.date(2026, 1, 1)} if DATE_COLUMN in schema.names else {}
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pylist([row], schema=schema), buffer)
        client.put_object(Bucket=bucket, Key=f"{prefix}/_iceberg/{table}/data/template.parquet", Body=buffer.getvalue())
        iceberg.publish(where, {table: {}}, "init")
        tbl = found.load_table((where.namespace, table))
        (template,) = _parquet_files_to_data_files(tbl.metadata, [template_path], tbl.io)
        runs = list(files.items())
        for start in range(0, len(runs), 100):
            with staged_once(), tbl.transaction() as tx:
                for run, rels in runs[start : start + 100]:
                    with tx.update_snapshot(snapshot_properties={RUN_KEY: run}).merge_append() as append:
                        for path in _table_files(rels, table):
                            entry = copy.copy(template)
                            entry._data = list(template._data)
                            entry._data[1] = f"{output}/_iceberg/{table}/data/{path}"
                            append.append_data_file(entry)
            tbl = found.load_table((where.namespace, table))
    upload(s3, mirror)
    _marker(s3, output, {"format": ICEBERG, "catalog": catalog_uri, "namespace": "news"})


def _marker(s3, output: str, data: dict) -> None:
    bucket, _, prefix = output[len("s3://") :].partition("/")
    s3.client().put_object(Bucket=bucket, Key=f"{prefix}/_table_format.json", Body=json.dumps(data).encode())


def append(output: str) -> None:
    """One append's sink protocol, with a run that writes one file per table and one key set, then the
    table format's commits (none for plain Parquet) and the pointer."""
    from transforms.keyed_sets import add_keys
    from transforms.write import commit, tables
    from transforms.write.parquet import TABLES, table_folder, write_parquet

    with commit.exclusive(output):
        version = commit.begin(output, RUN_ID, append=True)
        for table, schema in TABLES.items():
            partition = "2026-01" if table in ("articles", "entities") else None
            write_parquet(f"{table_folder(version.root, table, partition)}/part-{RUN_ID}-00000.parquet", [], schema)
        add_keys(f"{version.state}/files", ["digest seeds/new.txt"])
        commit.seal(version, {"run_id": version.run_id, "previous_version": version.previous})
        tables.publish(tables.resolve(output), version.root, version.run_id)
        commit.publish(version)


_REQUEST = re.compile(r'"(?:\x1b\[[0-9;]*m)*(GET|PUT|HEAD|DELETE|POST) (\S+) HTTP')


def server_requests(text: str) -> collections.Counter:
    """The requests in moto's log, by kind: a GET of a bucket (``/bucket?list-type=2...``) is a listing."""
    found: collections.Counter = collections.Counter()
    for method, target in _REQUEST.findall(text):
        path, _, query = target.partition("?")
        if method == "GET":
            found["listed" if path.strip("/").count("/") == 0 else "read"] += 1
        elif method == "POST" and "delete" in query:
            found["deleted"] += 1
        else:
            found[{"PUT": "written", "HEAD": "head", "DELETE": "deleted", "POST": "written"}[method]] += 1
    return found


def measure(s3, log: str, fmt: str, runs: int, files_per_run: int) -> dict:
    from apache_beam.io.filesystems import FileSystems

    from transforms.sink import objects, view

    output = s3.bucket(f"bench-{fmt}-{runs}") + "/news"
    FileSystems.set_options(s3.options())
    started = time.perf_counter()
    files = generate(s3, output, runs, files_per_run)
    if fmt == "delta":
        generate_delta(s3, output, files)
    elif fmt == "iceberg":
        generate_iceberg(s3, output, files, f"sqlite:///{tempfile.mkdtemp()}/catalog.db")
    generated = time.perf_counter() - started
    view._sealed.clear()
    view._bases.clear()
    copies = collections.Counter()

    def count(model, **_):
        copies["copied"] += 1

    client = objects.client()
    client.meta.events.register("before-call.s3.CopyObject", count)
    offset = os.path.getsize(log)
    started = time.perf_counter()
    append(output)
    seconds = time.perf_counter() - started
    client.meta.events.unregister("before-call.s3.CopyObject", count)
    time.sleep(0.5)  # the server's last log lines
    with open(log, "rb") as handle:
        handle.seek(offset)
        calls = server_requests(handle.read().decode("utf-8", errors="replace"))
    calls["written"] -= copies["copied"]  # a copy is a PUT with a source header
    calls.update(copies)
    files_in_version = len(view.sealed_files(f"{output}/_versions/{RUN_ID}"))
    return {"format": fmt, "earlier_runs": runs, "files_in_version": files_in_version, "seconds": round(seconds, 2),
            "generate_seconds": round(generated, 1), **dict(sorted(calls.items()))}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sink_bench", description=__doc__)
    parser.add_argument("--runs", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--files-per-run", type=int, default=24)
    parser.add_argument("--formats", nargs="+", default=["parquet", "delta", "iceberg"])
    args = parser.parse_args(argv)
    from tests.support.s3 import local_s3

    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "requests.log")
        with local_s3(log=log) as s3:
            for fmt in args.formats:
                for runs in args.runs:
                    print(json.dumps(measure(s3, log, fmt, runs, args.files_per_run)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
