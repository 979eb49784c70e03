"""Creating the checkpoint table (on-demand, TTL on ``ttl``) for local development and tests."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ._errors import error_code, translate_errors

__all__ = ["create_table"]


def create_table(client: Any, table_name: str, *, enable_ttl: bool = True, wait: bool = True) -> bool:
    """Create the table if it does not exist; returns True when it was created.

    The table has a string partition key ``PK`` and sort key ``SK``, is billed
    per request, and (``enable_ttl``) expires items by their ``ttl`` attribute.
    Production tables are better created by the CloudFormation template.
    """
    endpoint = getattr(client.meta, "endpoint_url", None)
    with translate_errors(table_name, endpoint, "create_table"):
        try:
            client.create_table(
                TableName=table_name,
                AttributeDefinitions=[
                    {"AttributeName": "PK", "AttributeType": "S"},
                    {"AttributeName": "SK", "AttributeType": "S"},
                ],
                KeySchema=[
                    {"AttributeName": "PK", "KeyType": "HASH"},
                    {"AttributeName": "SK", "KeyType": "RANGE"},
                ],
                BillingMode="PAY_PER_REQUEST",
            )
            created = True
        except ClientError as exc:
            if error_code(exc) != "ResourceInUseException":
                raise
            created = False
        if wait:
            client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        if enable_ttl:
            status = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
            if status.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
                client.update_time_to_live(
                    TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
                )
    return created
