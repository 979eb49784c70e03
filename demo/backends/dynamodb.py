"""Demo backend: DynamoDB+S3 served by an embedded moto server the demo starts and stops."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from langgraph_checkpoint_aws import DynamoDBSaver


def _bindable(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:``port``."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers do not count
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class DynamoDBDemo:
    """A DynamoDBSaver on a fresh table and bucket, with a look inside both for the storage table."""

    def __init__(self, endpoint: str) -> None:
        session = boto3.session.Session(aws_access_key_id="demo", aws_secret_access_key="demo", region_name="us-east-1")
        suffix = uuid.uuid4().hex[:8]
        self.endpoint = endpoint
        self.saver: Any = DynamoDBSaver(
            f"demo-checkpoints-{suffix}",
            session=session,
            endpoint_url=endpoint,
            boto_config=Config(connect_timeout=2, read_timeout=30),
            # The demo lowers the offload threshold from 350 KB to 16 KB, so the
            # 20 KB handbook (which never changes) goes to S3 once and shows up
            # there; compression is off so the handbook stays over the threshold.
            enable_checkpoint_compression=False,
            s3_offload_config={
                "bucket_name": f"demo-offload-{suffix}",
                "endpoint_url": endpoint,
                "offload_threshold_bytes": 16 * 1024,
            },
        )
        self.saver.setup()

    def describe_storage(self) -> list[tuple[str, str]]:
        client = self.saver.repository.client
        counts: dict[str, list[int]] = {"h": [0, 0], "b": [0, 0], "w": [0, 0]}
        params: dict[str, Any] = {"TableName": self.saver.table_name}
        while True:
            page = client.scan(**params)
            for item in page["Items"]:
                kind = item.get("k", {}).get("S", "?")
                entry = counts.setdefault(kind, [0, 0])
                entry[0] += 1
                entry[1] += sum(len(v.get("B", b"")) + len(v.get("S", "")) for v in item.values())
            if "LastEvaluatedKey" not in page:
                break
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        store = self.saver.blob_store
        objects = store.client.list_objects_v2(Bucket=store.bucket_name).get("Contents", [])
        table = f"table {self.saver.table_name!r}"
        return [
            ("checkpoint headers", f"{counts['h'][0]} items (~{counts['h'][1]:,} bytes) in {table}"),
            ("channel blobs", f"{counts['b'][0]} items (~{counts['b'][1]:,} bytes), one per changed channel version"),
            ("pending writes", f"{counts['w'][0]} items (~{counts['w'][1]:,} bytes), one per task and checkpoint"),
            ("offloaded payloads", f"{len(objects)} objects ({sum(o['Size'] for o in objects):,} bytes) in bucket {store.bucket_name!r}"),
            ("server", f"embedded moto at {self.endpoint} (in memory: gone when the demo exits)"),
        ]


@contextmanager
def open_backend(data_dir: Path, port: Optional[int]) -> Iterator[DynamoDBDemo]:
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
        yield DynamoDBDemo(f"http://{host}:{bound}")
    finally:
        server.stop()
