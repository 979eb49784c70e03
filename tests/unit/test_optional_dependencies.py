"""A Valkey user needs no boto3, an AWS user needs no valkey (extras are optional)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBES = {
    "valkey without boto3": (
        "import sys; sys.modules['boto3'] = None; sys.modules['botocore'] = None\n"
        "from langgraph_checkpoint_aws import create_saver, ValkeySaver, AsyncValkeySaver, AgentCoreValkeySaver\n"
        "from langgraph_checkpoint_aws.checkpoint.valkey import ValkeySaver as A\n"
        "from langgraph_checkpoint_aws.agentcore.valkey import AgentCoreValkeySaver as B\n"
        "create_saver({'backend': 'memory'})\n"
    ),
    "aws without valkey": (
        "import sys; sys.modules['valkey'] = None\n"
        "from langgraph_checkpoint_aws import create_saver, DynamoDBSaver\n"
        "from langgraph_checkpoint_aws.checkpoint.dynamodb import DynamoDBSaver as A\n"
        "create_saver({'backend': 'memory'})\n"
    ),
}


@pytest.mark.parametrize("name", sorted(PROBES))
def test_imports_without_the_other_backends_sdk(name: str) -> None:
    result = subprocess.run([sys.executable, "-c", PROBES[name]], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
