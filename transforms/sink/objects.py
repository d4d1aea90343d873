"""What an object store offers beyond Beam's ``FileSystems``, through boto3 with Beam's own S3 settings
(``--s3_endpoint_url``, ``--s3_access_key_id``, ...): a conditional put (``If-None-Match: *`` creates only
what does not exist, ``If-Match: <etag>`` replaces only what was read), the folders under a prefix
(one delimiter listing, not every object), a prefix removed, and the lease that keeps two runs from writing
one dataset at once. S3 only (``s3://``); the commit protocol says what other stores get.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Optional

from apache_beam.io.filesystems import FileSystems

LEASE_SECONDS = 60.0  # a run that stops renewing its lease for this long is taken for dead


class PreconditionFailed(Exception):
    """A conditional put lost: the object exists (``If-None-Match``) or changed (``If-Match``)."""


def is_s3(path: str) -> bool:
    return path.startswith("s3://")


def split(path: str) -> tuple[str, str]:
    bucket, _, key = path[len("s3://") :].partition("/")
    return bucket, key


_clients: dict = {}


def shared_client(options):
    """One boto3 S3 client per process and settings (boto3 clients are thread-safe)."""
    from apache_beam.io.aws.clients import client_options
    from apache_beam.options.pipeline_options import S3Options

    kwargs = client_options.get_client_kwargs(options, S3Options)
    version = client_options.view_options(options, S3Options).s3_api_version
    key = repr((version, sorted(kwargs.items())))
    if key not in _clients:
        import boto3

        _clients[key] = boto3.session.Session().client(service_name="s3", api_version=version, **kwargs)
    return _clients[key]


def client():
    """The S3 client of the pipeline options Beam's filesystems were given."""
    from apache_beam.options.pipeline_options import PipelineOptions

    return shared_client(FileSystems._pipeline_options or PipelineOptions([]))


def _beam_settings() -> dict:
    """Beam's S3 settings (``--s3_endpoint_url``, ``--s3_access_key_id``, ``--s3_secret_access_key``,
    ``--s3_session_token``, ``--s3_region_name``, ``--s3_verify``, ``--s3_disable_ssl`` and their ``--aws_``
    defaults), as boto3 client arguments."""
    from apache_beam.io.aws.clients import client_options
    from apache_beam.options.pipeline_options import PipelineOptions, S3Options

    options = FileSystems._pipeline_options or PipelineOptions([])
    return client_options.get_client_kwargs(options, S3Options)


def delta_storage_options() -> dict[str, str]:
    """Beam's S3 settings as delta-rs ``storage_options`` (object_store's keys), so a Delta table on S3 is
    reached where Beam's files are. Commits are conditional puts (``If-None-Match: *`` on the log entry):
    of two writers at one table version one wins, with no locking provider (delta-rs 1.x on S3)."""
    found = _beam_settings()
    endpoint = found.get("endpoint_url")
    names = {
        "aws_access_key_id": "AWS_ACCESS_KEY_ID",
        "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY",
        "aws_session_token": "AWS_SESSION_TOKEN",
        "region_name": "AWS_REGION",
        "endpoint_url": "AWS_ENDPOINT_URL",
    }
    options = {name: str(found[key]) for key, name in names.items() if found.get(key)}
    if (endpoint and endpoint.startswith("http://")) or not found.get("use_ssl", True):
        options["AWS_ALLOW_HTTP"] = "true"
    if found.get("verify") is False:
        options["AWS_ALLOW_INVALID_CERTIFICATES"] = "true"
    options["conditional_put"] = "etag"
    return options


def iceberg_properties() -> dict[str, str]:
    """Beam's S3 settings as pyiceberg FileIO properties (pyarrow's S3 filesystem)."""
    found = _beam_settings()
    names = {
        "aws_access_key_id": "s3.access-key-id",
        "aws_secret_access_key": "s3.secret-access-key",
        "aws_session_token": "s3.session-token",
        "region_name": "s3.region",
        "endpoint_url": "s3.endpoint",
    }
    properties = {name: str(found[key]) for key, name in names.items() if found.get(key)}
    properties["py-io-impl"] = "pyiceberg.io.pyarrow.PyArrowFileIO"
    if "s3.region" not in properties:  # else pyiceberg asks amazonaws.com for the bucket's region, endpoint or not
        import boto3

        properties["s3.region"] = boto3.session.Session().region_name or "us-east-1"
    return properties


def _share_beams_clients() -> None:
    """Beam's S3 filesystem builds a new boto3 session and client for every operation (each ``exists``,
    ``match``, ``open``: about 0.9 s apiece on a busy machine, where the request itself takes 30 ms;
    ``tests/test_beam_defects.py::test_beam_s3_makes_a_client_per_operation``): its clients share one."""
    try:
        from apache_beam.io.aws.clients.s3 import boto3_client
    except ImportError:
        return
    if getattr(boto3_client.Client, "_beam_init", None) is not None:
        return

    def init(self, options):
        self.client = shared_client(options)
        self._download_request = None
        self._download_stream = None
        self._download_pos = 0

    boto3_client.Client._beam_init = boto3_client.Client.__init__
    boto3_client.Client.__init__ = init


_share_beams_clients()


def _code(error) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


def get(path: str) -> Optional[tuple[bytes, str]]:
    """(content, etag) of an object, or None when there is none."""
    bucket, key = split(path)
    try:
        answer = client().get_object(Bucket=bucket, Key=key)
    except Exception as e:
        if _code(e) in ("NoSuchKey", "404"):
            return None
        raise
    return answer["Body"].read(), answer["ETag"]


def put(path: str, data: bytes, *, if_absent: bool = False, if_match: Optional[str] = None) -> str:
    """Write an object whole; with ``if_absent`` only if none exists, with ``if_match`` only if it still has
    that etag (else ``PreconditionFailed``). Returns the new etag."""
    bucket, key = split(path)
    conditions = {"IfNoneMatch": "*"} if if_absent else {"IfMatch": if_match} if if_match else {}
    try:
        return client().put_object(Bucket=bucket, Key=key, Body=data, **conditions)["ETag"]
    except Exception as e:
        if _code(e) in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409", "NoSuchKey"):
            raise PreconditionFailed(path) from None
        raise


def delete(path: str) -> None:
    bucket, key = split(path)
    client().delete_object(Bucket=bucket, Key=key)


def keys(prefix: str) -> Iterator[str]:
    """Every object under a folder (``prefix/``), as full paths."""
    bucket, key = split(prefix.rstrip("/") + "/")
    for page in client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
        for item in page.get("Contents", []):
            yield f"s3://{bucket}/{item['Key']}"


def children(folder: str) -> list[str]:
    """The names of the folders directly under ``folder``: one listing per 1,000 folders, with a delimiter."""
    bucket, key = split(folder.rstrip("/") + "/")
    names = []
    for page in client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key, Delimiter="/"):
        names += [p["Prefix"][len(key) :].rstrip("/") for p in page.get("CommonPrefixes", [])]
    return sorted(names)


def remove_folder(folder: str) -> None:
    """Every object under ``folder``, removed in batches of 1,000."""
    bucket, _ = split(folder)
    found = [split(path)[1] for path in keys(folder)]
    for start in range(0, len(found), 1000):
        batch = [{"Key": k} for k in found[start : start + 1000]]
        client().delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})


@dataclasses.dataclass
class Lease:
    """A run's claim on a dataset: the object ``OUTPUT/_lock``, created only where none is (or the one
    there expired), renewed by a thread every third of its time, removed at the end. ``lost`` is set when a
    renewal finds another run's lease in its place (this run was stalled past its time)."""

    path: str
    seconds: float
    holder: str = dataclasses.field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")
    etag: str = ""
    lost: bool = False
    _renewing: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False, compare=False)

    def body(self) -> bytes:
        return json.dumps({"holder": self.holder, "expires": time.time() + self.seconds}).encode("utf-8")

    def take(self) -> None:
        """Create the lease, or take over an expired one; ``PreconditionFailed`` while another holds it."""
        try:
            self.etag = put(self.path, self.body(), if_absent=True)
            return
        except PreconditionFailed:
            pass
        found = get(self.path)
        if found is None:  # removed meanwhile: try once more
            self.etag = put(self.path, self.body(), if_absent=True)
            return
        data, etag = found
        try:
            expires = float(json.loads(data.decode("utf-8")).get("expires", 0))
        except (ValueError, AttributeError):
            expires = 0.0  # a damaged lease holds nothing
        if expires > time.time():
            raise PreconditionFailed(f"{self.path} held until {time.strftime('%H:%M:%S', time.gmtime(expires))} UTC")
        self.etag = put(self.path, self.body(), if_match=etag)

    def renew(self) -> bool:
        """Extend the lease; False (and ``lost``) when it is no longer ours. One renewal at a time: the
        lease thread and the commit both renew, and the second of two at once would carry the etag the
        first had just replaced, and take the lease for lost."""
        with self._renewing:
            if self.lost:
                return False
            try:
                self.etag = put(self.path, self.body(), if_match=self.etag)
            except PreconditionFailed:
                self.lost = True
            return not self.lost

    def release(self) -> None:
        found = get(self.path)
        if found and found[1] == self.etag:
            delete(self.path)


@contextlib.contextmanager
def leased(path: str, seconds: float = LEASE_SECONDS) -> Iterator[Lease]:
    """Hold a lease for the duration of the block (``PreconditionFailed`` when another run holds it)."""
    lease = Lease(path, seconds)
    lease.take()
    stop = threading.Event()

    def renew():
        """Every third of the lease; a failed request (not a lost lease) is retried at the next turn, and
        the lease counts as lost once it has expired unrenewed (another run may then take it)."""
        renewed = time.time()
        while not stop.wait(seconds / 3):
            try:
                if not lease.renew():
                    return
                renewed = time.time()
            except Exception:  # the store did not answer: the lease stands until it expires
                if time.time() - renewed >= seconds:
                    lease.lost = True
                    return

    thread = threading.Thread(target=renew, name="lease", daemon=True)
    thread.start()
    try:
        yield lease
    finally:
        stop.set()
        thread.join(timeout=5)
        with contextlib.suppress(Exception):
            lease.release()


_held: dict[str, Lease] = {}  # output -> the lease this process holds on it (checked before a commit)


def held(output: str) -> Optional[Lease]:
    return _held.get(output)
