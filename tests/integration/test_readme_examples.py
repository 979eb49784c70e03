"""The README's Python blocks run as written, in order, against local servers.

Like a notebook: one namespace for every block, seeded with the names the
README leaves to the reader (``builder``, ``inputs``, ``config``, ``my_embed``,
``my_repository``, ``my_boto3_client``). Server addresses are swapped for the
local ones: ``valkey://localhost:6379`` (and the TLS example's URL) for an
embedded valkey-server with RediSearch, AWS endpoints through the standard
``AWS_ENDPOINT_URL`` variables (moto for DynamoDB and S3, the project's
emulator for AgentCore and Bedrock sessions). Top-level ``await`` and
``async with`` run on one event loop.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import zlib
from pathlib import Path
from typing import Any

import boto3
import pytest
from langgraph.graph import StateGraph

from langgraph_checkpoint_aws.adapters.memory import InMemoryCheckpointRepository
from langgraph_checkpoint_aws.adapters.valkey.embedded import EmbeddedValkey

README = Path(__file__).resolve().parents[2] / "README.md"


def my_embed(texts: list[str]) -> list[list[float]]:
    vectors = []
    for text in texts:
        vector = [0.0] * 64
        for word in text.lower().split():
            vector[zlib.crc32(word.encode()) % 64] += 1.0
        vectors.append(vector)
    return vectors


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_readme_python_blocks_run(
    valkey_search: EmbeddedValkey,
    valkey_search_sync: Any,
    moto_endpoint: str,
    agentcore_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE": agentcore_endpoint,
        "AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME": agentcore_endpoint,
    }.items():
        monkeypatch.setenv(name, value)
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="my-bucket")
    url = f"valkey://127.0.0.1:{valkey_search.port}"
    builder = StateGraph(int)
    builder.add_node("add_one", lambda x: x + 1)
    builder.set_entry_point("add_one")
    builder.set_finish_point("add_one")
    namespace: dict[str, Any] = {
        "builder": builder,
        "inputs": 1,
        "config": {"configurable": {"thread_id": "readme-async"}},
        "my_embed": my_embed,
        "my_repository": InMemoryCheckpointRepository(),
        "my_boto3_client": boto3.client("dynamodb", region_name="us-east-1"),
        "boto3": boto3,
    }
    blocks = _blocks()
    assert len(blocks) >= 10, "the README's Python examples went missing"

    async def run_all() -> None:
        for index, block in enumerate(blocks):
            source = block.replace("valkey://localhost:6379", url)
            source = re.sub(r"valkeys://[^\"']+", url, source)
            code = compile(source, f"README.md python block {index}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            result = eval(code, namespace)  # noqa: S307 - the README's own examples
            if inspect.iscoroutine(result):
                await result

    asyncio.run(run_all())
    assert namespace["graph"] is not None
    # Every quick start ran: names each one defines.
    for defined in ("checkpointer", "agent_graph", "session_id", "any_ids", "hits", "container"):
        assert defined in namespace, defined
    assert [h.key for h in namespace["hits"]] == ["pref"]
    for name in ("saver", "store", "cache", "session_saver", "any_ids", "async_saver"):
        close = getattr(namespace.get(name), "close", None)
        if callable(close):
            close()
