"""Sources in the published packages' layouts, found at a container's backend (for ``langgraph-aws migrate``).

``legacy_services(container, format)`` builds read-only CheckpointServices over
``adapters.legacy`` on the clients the container already holds: for Valkey
both 1.2 layouts (ValkeySaver and AgentCoreValkeySaver), for DynamoDB the 1.2
table with its S3-offloaded payloads, for S3 the langgraph-checkpoint-s3 0.1
tree. With ``format=None`` the layout is detected first (cheap probes); an
empty list means no published layout is there.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional

from ..application.checkpoints import CheckpointService
from ..application.payloads import PayloadCodec
from ..domain.errors import ConfigurationError, PersistenceError
from ..domain.models import ThreadKey
from ..domain.policies import PayloadPolicy

__all__ = ["legacy_services", "FORMATS", "PublishedLayoutProbe", "layout_probe"]

FORMATS = ("langgraph-checkpoint-aws-1.2", "langgraph-checkpoint-s3-0.1")


def _service(repository: Any) -> CheckpointService:
    return CheckpointService(repository=repository, codec=PayloadCodec(policy=PayloadPolicy()))


def legacy_services(container: Any, fmt: Optional[str] = None) -> list[CheckpointService]:
    """Read-only services over the published layouts at the container's backend (none found: empty).

    Raises:
        ConfigurationError: ``fmt`` is not a known format, or names one this backend never held.
    """
    from ..adapters import legacy

    if fmt is not None and fmt not in FORMATS:
        raise ConfigurationError(f"unknown source format {fmt!r}: use one of {', '.join(FORMATS)}")
    options = container.options()
    backend = options.backend
    if backend == "valkey":
        if fmt == legacy.S3_FORMAT:
            raise ConfigurationError(f"{fmt} is an S3 layout: a valkey:// source cannot hold it")
        client = container.valkey.client()
        if (fmt or legacy.detect_valkey(client)) != legacy.AWS_FORMAT:
            return []
        return [_service(legacy.LegacyValkeyRepository(client)), _service(legacy.LegacyAgentCoreValkeyRepository(client))]
    if backend == "dynamodb":
        if fmt == legacy.S3_FORMAT:
            raise ConfigurationError(f"{fmt} is an S3 layout: a dynamodb:// source cannot hold it")
        section = options.dynamodb
        client = container.dynamodb.dynamodb_client()
        if (fmt or legacy.detect_dynamodb(client, section.table_name)) != legacy.AWS_FORMAT:
            return []
        offload = section.s3_offload
        return [
            _service(
                legacy.LegacyDynamoDBRepository(
                    client,
                    section.table_name,
                    s3_client=container.dynamodb.s3_client() if offload else None,
                    s3_bucket=offload.bucket_name if offload else None,
                    s3_key_prefix=offload.prefix if offload else None,
                )
            )
        ]
    if backend == "s3":
        if fmt == legacy.AWS_FORMAT:
            raise ConfigurationError(f"{fmt} has no plain-S3 layout: an s3:// source cannot hold it")
        section = options.s3
        client = container.s3.s3_client()
        if (fmt or legacy.detect_s3(client, section.bucket_name, section.prefix)) != legacy.S3_FORMAT:
            return []
        return [_service(legacy.LegacyS3Repository(client, section.bucket_name, prefix=section.prefix))]
    if fmt is not None:
        raise ConfigurationError(f"backend {backend!r} never held {fmt} data")
    return []


class PublishedLayoutProbe:
    """A LayoutProbe: one sample of the store on first use, an exact probe of an empty thread only if it found any.

    So a saver pointed at a store that holds no published data pays one cheap
    sample (once per saver), and one pointed at published data refuses to show
    a stored thread as empty.

    Args:
        detect: ``detect(None)`` samples the store; ``detect(thread)`` probes one
            thread exactly; each returns a format name or None.
    """

    def __init__(self, detect: Callable[[Optional[ThreadKey]], Optional[str]]) -> None:
        self._detect = detect
        self._found: Optional[bool] = None
        self._lock = threading.Lock()

    def foreign_layout(self, thread: ThreadKey) -> Optional[str]:
        with self._lock:
            if self._found is None:
                try:
                    self._found = self._detect(None) is not None
                except (PersistenceError, ConfigurationError):
                    self._found = False  # no sync client, or the probe cannot run: behave as before
        if not self._found:
            return None
        return self._detect(thread)


def layout_probe(backend: Any, options: Any) -> Optional[PublishedLayoutProbe]:
    """The probe for the selected backend's published predecessor (None where there is none)."""
    from ..adapters import legacy

    name = options.backend
    if name == "valkey":

        def detect_valkey(thread: Optional[ThreadKey]) -> Optional[str]:
            client = backend.client()
            if thread is None:
                return legacy.detect_valkey(client, scan_calls=3)
            return legacy.detect_valkey(client, thread_id=thread.thread_id, actor_id=thread.actor_id)

        return PublishedLayoutProbe(detect_valkey)
    if name == "dynamodb":
        table = options.dynamodb.table_name

        def detect_dynamodb(thread: Optional[ThreadKey]) -> Optional[str]:
            client = backend.dynamodb_client()
            return legacy.detect_dynamodb(client, table, thread_id=thread.thread_id if thread else None)

        return PublishedLayoutProbe(detect_dynamodb)
    return None
