"""The CloudFormation template matches the table layout the adapter uses."""

from __future__ import annotations

from pathlib import Path

import yaml

from langgraph_checkpoint_aws.adapters.dynamodb._table import KEY_SCHEMA

TEMPLATE = Path(__file__).resolve().parents[2] / "cfn" / "langgraph-ddb-cfn-template.yaml"


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_multi_constructor("!", lambda loader, suffix, node: {suffix: None})


def test_template_parameters_outputs_and_key_schema() -> None:
    doc = yaml.load(TEMPLATE.read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    assert set(doc["Parameters"]) == {"CheckpointTableName", "EnableTTL", "CreateS3Bucket", "S3BucketName"}
    assert doc["Parameters"]["CheckpointTableName"]["Default"] == "langgraph-checkpoints-dynamodb"
    assert set(doc["Outputs"]) == {"CheckpointTableName", "S3BucketName"}
    table = doc["Resources"]["CheckpointTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}]
    assert {a["AttributeType"] for a in table["AttributeDefinitions"]} == {"S"}
    # The same schema setup() creates and verify() demands.
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert tuple((k["AttributeName"], types[k["AttributeName"]], k["KeyType"]) for k in table["KeySchema"]) == KEY_SCHEMA
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TimeToLiveSpecification"]["AttributeName"] == "ttl"
