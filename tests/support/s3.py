"""A local S3 API (moto's server) on 127.0.0.1, and the settings that point Beam, boto3 and the command at
it. Credentials are dummies and the instance metadata service is switched off, so nothing but the local
server is ever asked."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator

from tests.support.services import VENV_BIN, free_port, service

DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",  # boto3 never reaches 169.254.169.254
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@dataclasses.dataclass(frozen=True)
class LocalS3:
    endpoint: str

    def flags(self) -> list[str]:
        """The command's options that point Beam's S3 filesystem at this server."""
        return [
            f"--s3_endpoint_url={self.endpoint}",
            "--s3_access_key_id=testing",
            "--s3_secret_access_key=testing",
            "--s3_region_name=us-east-1",
        ]

    def options(self):
        from apache_beam.options.pipeline_options import PipelineOptions

        return PipelineOptions(self.flags())

    def client(self):
        import boto3

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )

    def bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return f"s3://{name}"

    def keys(self, prefix: str) -> list[str]:
        bucket, _, key = prefix[len("s3://") :].partition("/")
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


@contextlib.contextmanager
def local_s3(log: str | None = None) -> Iterator[LocalS3]:
    """moto's S3 server on a free port of 127.0.0.1, stopped after; the AWS variables set to dummies.
    ``log``: a file for the server's request log (one line per request: ``bench.sink_bench`` counts them)."""
    port = free_port()
    saved = {name: os.environ.get(name) for name in DUMMY_ENV}
    os.environ.update(DUMMY_ENV)
    try:
        with service(os.path.join(VENV_BIN, "moto_server"), "-H", "127.0.0.1", "-p", str(port), port=port, log=log):
            yield LocalS3(f"http://127.0.0.1:{port}")
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
