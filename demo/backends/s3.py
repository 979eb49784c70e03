"""Demo backend: plain S3 checkpoints (S3CheckpointSaver) on an embedded moto server the demo starts and stops."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from demo.backends.dynamodb import _bindable
from langgraph_checkpoint_aws import S3CheckpointSaver


class S3Demo:
    """An S3CheckpointSaver on a fresh bucket, with a look inside the bucket for the storage table."""

    def __init__(self, endpoint: str) -> None:
        session = boto3.session.Session(aws_access_key_id="demo", aws_secret_access_key="demo", region_name="us-east-1")
        self.endpoint = endpoint
        self.bucket = f"demo-checkpoints-{uuid.uuid4().hex[:8]}"
        self.client = session.client(
            "s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"}, connect_timeout=2, read_timeout=30)
        )
        self.client.create_bucket(Bucket=self.bucket)
        self.saver: Any = S3CheckpointSaver(self.bucket, prefix="demo/", s3_client=self.client)

    def describe_storage(self) -> list[tuple[str, str]]:
        counts: dict[str, list[int]] = {"checkpoints": [0, 0], "writes": [0, 0], "blobs": [0, 0]}
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.saver.prefix):
            for obj in page.get("Contents", []):
                tree = obj["Key"][len(self.saver.prefix) :].split("/", 1)[0]
                entry = counts.setdefault(tree, [0, 0])
                entry[0] += 1
                entry[1] += obj["Size"]
        where = f"s3://{self.bucket}/{self.saver.prefix}"
        return [
            ("checkpoint headers", f"{counts['checkpoints'][0]} objects ({counts['checkpoints'][1]:,} bytes) in {where}checkpoints/"),
            ("channel blobs", f"{counts['blobs'][0]} objects ({counts['blobs'][1]:,} bytes), one per changed channel version"),
            ("pending writes", f"{counts['writes'][0]} objects ({counts['writes'][1]:,} bytes), one per task's writes"),
            ("server", f"embedded moto at {self.endpoint} (in memory: gone when the demo exits)"),
        ]

    def close(self) -> None:
        self.saver.close()
        self.client.close()


@contextmanager
def open_backend(data_dir: Path, port: Optional[int]) -> Iterator[S3Demo]:
    """Start moto on 127.0.0.1 (``port`` or one the OS picks), yield the demo saver, stop moto."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    if port and not _bindable(port):
        raise RuntimeError(
            f"the moto server cannot listen on 127.0.0.1:{port}: address in use "
            f"(another process holds port {port}; choose another port)"
        )
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port or 0, verbose=False)
    server.start()
    try:
        host, bound = server.get_host_and_port()
        demo = S3Demo(f"http://{host}:{bound}")
        try:
            yield demo
        finally:
            demo.close()
    finally:
        server.stop()
