"""Creating the checkpoint table (on-demand, TTL on ``ttl``) for local development and tests."""

from __future__ import annotations

from typing import Any

from ...domain.policies import RetryPolicy
from ._table import DynamoDBTable

__all__ = ["create_table"]


def create_table(client: Any, table_name: str, *, enable_ttl: bool = True, wait: bool = True) -> bool:
    """Create the table if it does not exist; returns True when it was created.

    The same as ``DynamoDBCheckpointRepository.setup()`` without a repository:
    string partition key ``PK`` and sort key ``SK``, billed per request, and
    (``enable_ttl``) items expired by their ``ttl`` attribute. Production
    tables are better created by the CloudFormation template.
    """
    table = DynamoDBTable(client=client, table_name=table_name, backoff=RetryPolicy(), clock=lambda: 0.0)
    return table.create(enable_ttl=enable_ttl, wait=wait)
