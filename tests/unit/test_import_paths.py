"""Every module path of the published ``langgraph-checkpoint-aws`` 1.2.6 imports, with the same components.

A component built here is the same class on every path that held it in 1.2.6;
one not built yet raises an ImportError that says so and what to use instead.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings

import pytest

import langgraph_checkpoint_aws

PUBLISHED: dict[str, list[str]] = {
    "": [
        "AgentCoreMemorySaver", "AgentCoreMemoryStore", "AgentCoreValkeySaver", "AsyncBatchFlushable",
        "AsyncBedrockAgentRuntimeSessionClient", "AsyncBedrockSessionSaver", "AsyncValkeySaver", "AsyncValkeyStore",
        "BedrockAgentRuntimeSessionClient", "BedrockSessionSaver", "DeferredCheckpointSaver", "DynamoDBSaver",
        "DynamoDBStore", "PendingWrite", "SDK_USER_AGENT", "SyncBatchFlushable", "ValkeyCache",
        "ValkeyConnectionError", "ValkeyDocumentParsingError", "ValkeyEmbeddingGenerationError", "ValkeyIndexConfig",
        "ValkeySaver", "ValkeySearchIndexError", "ValkeyStore", "ValkeyStoreError", "ValkeyTTLConfigurationError",
        "ValkeyValidationError", "valkey_available",
    ],
    "checkpoint": ["AgentCoreValkeySaver", "AsyncValkeySaver", "ValkeySaver"],
    "checkpoint.valkey": ["AgentCoreValkeySaver", "AsyncValkeySaver", "ValkeySaver"],
    "checkpoint.valkey.agentcore": ["AgentCoreValkeySaver"],
    "checkpoint.dynamodb": ["DynamoDBSaver"],
    "checkpoint.agentcore": ["AgentCoreMemorySaver"],
    "checkpoint.bedrock_sessions": ["AsyncBedrockSessionSaver", "BedrockSessionSaver"],
    "checkpoint.deferred_saver": ["AsyncBatchFlushable", "DeferredCheckpointSaver", "PendingWrite", "SyncBatchFlushable"],
    "store": ["AgentCoreMemoryStore", "AsyncValkeyStore", "DynamoDBStore", "ValkeyIndexConfig", "ValkeyStore"],
    "store.valkey": ["AsyncValkeyStore", "ValkeyIndexConfig", "ValkeyStore"],
    "store.agentcore": ["AgentCoreMemoryStore"],
    "store.dynamodb": ["DynamoDBStore"],
    "cache": ["ValkeyCache"],
    "cache.valkey": ["ValkeyCache"],
    "saver": ["BedrockSessionSaver"],
    "async_saver": ["AsyncBedrockSessionSaver"],
    "session": ["BedrockAgentRuntimeSessionClient"],
    "async_session": ["AsyncBedrockAgentRuntimeSessionClient"],
    # Seed-only path, kept.
    "agentcore.valkey": ["AgentCoreValkeySaver"],
}
"""Module path (under the package) -> the names it exported in 1.2.6 (read from the published package)."""

BUILT = {
    "ValkeySaver", "AsyncValkeySaver", "AgentCoreValkeySaver", "DynamoDBSaver", "ValkeyCache",
    "ValkeyStore", "AsyncValkeyStore", "ValkeyIndexConfig", "AgentCoreMemorySaver", "AgentCoreMemoryStore",
    "BedrockSessionSaver", "AsyncBedrockSessionSaver", "BedrockAgentRuntimeSessionClient",
    "AsyncBedrockAgentRuntimeSessionClient",
}  # fmt: skip
DEPRECATED = {"saver", "async_saver", "session", "async_session"}

CASES = [(path, name) for path, names in PUBLISHED.items() for name in names]


def _module(path: str):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return importlib.import_module("langgraph_checkpoint_aws" + (f".{path}" if path else ""))


@pytest.mark.parametrize("path", sorted(PUBLISHED))
def test_every_published_path_imports(path: str) -> None:
    module = _module(path)
    built = set(PUBLISHED[path]) & BUILT
    # __all__ names what is built, so ``import *`` works; the root has its own names besides.
    assert built <= set(module.__all__) and not (set(PUBLISHED[path]) - BUILT) & set(module.__all__)
    if path:
        assert set(module.__all__) == built


@pytest.mark.parametrize("path,name", [c for c in CASES if c[1] in BUILT], ids=lambda v: v)
def test_a_built_component_is_the_same_class_on_every_path(path: str, name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from {_module(path).__name__} import {name} as imported", namespace)  # the statement users write
    assert namespace["imported"] is getattr(langgraph_checkpoint_aws, name)


@pytest.mark.parametrize("path,name", [c for c in CASES if c[1] not in BUILT], ids=lambda v: v)
def test_a_planned_component_says_it_is_not_available(path: str, name: str) -> None:
    module = _module(path)
    with pytest.raises(ImportError) as info:
        exec(f"from {module.__name__} import {name}", {})
    message = str(info.value)
    assert message.startswith(f"{name} is not available in this version of langgraph-checkpoint-aws-hex (planned); ")
    assert "use " in message or "catch " in message or "set " in message or "pass " in message
    assert info.value.name == name


def test_the_planned_store_names_the_store_to_use() -> None:
    with pytest.raises(ImportError, match=r'DynamoDBStore is not available .*use ValkeyStore or create_store'):
        from langgraph_checkpoint_aws.store.dynamodb import DynamoDBStore  # noqa: F401


def test_unknown_names_are_still_plain_import_errors() -> None:
    with pytest.raises(ImportError, match="cannot import name 'NoSuchSaver'"):
        from langgraph_checkpoint_aws.checkpoint.valkey import NoSuchSaver  # type: ignore[attr-defined]  # noqa: F401
    assert not hasattr(_module("checkpoint"), "NoSuchSaver")


@pytest.mark.parametrize("path", sorted(DEPRECATED))
def test_deprecated_paths_warn_like_the_published_package(path: str) -> None:
    # A fresh interpreter: the warning fires when the module is first imported.
    code = (
        "import warnings; warnings.simplefilter('error', DeprecationWarning)\n"
        f"import langgraph_checkpoint_aws.{path}\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "is deprecated" in result.stderr and f"langgraph_checkpoint_aws.{path}" in result.stderr


PROBES = {
    "valkey without boto3": (
        "import sys; sys.modules['boto3'] = None; sys.modules['botocore'] = None\n"
        "from langgraph_checkpoint_aws.checkpoint import ValkeySaver, AsyncValkeySaver, AgentCoreValkeySaver\n"
        "from langgraph_checkpoint_aws.checkpoint.valkey import ValkeySaver as A, AgentCoreValkeySaver as B\n"
        "from langgraph_checkpoint_aws.checkpoint.valkey.agentcore import AgentCoreValkeySaver as C\n"
        "assert A is ValkeySaver and B is C is AgentCoreValkeySaver\n"
        "import langgraph_checkpoint_aws.store.valkey, langgraph_checkpoint_aws.cache.valkey\n"
        "import langgraph_checkpoint_aws.checkpoint.agentcore, langgraph_checkpoint_aws.checkpoint.deferred_saver\n"
    ),
    "aws without valkey": (
        "import sys; sys.modules['valkey'] = None\n"
        "import langgraph_checkpoint_aws.checkpoint\n"
        "from langgraph_checkpoint_aws.checkpoint.dynamodb import DynamoDBSaver\n"
        "import langgraph_checkpoint_aws.store.dynamodb, langgraph_checkpoint_aws.checkpoint.bedrock_sessions\n"
        "assert 'langgraph_checkpoint_aws.langgraph_bindings.valkey' not in sys.modules\n"
    ),
    "importing a path loads no backend": (
        "import sys\n"
        "import langgraph_checkpoint_aws.checkpoint, langgraph_checkpoint_aws.checkpoint.valkey\n"
        "import langgraph_checkpoint_aws.store, langgraph_checkpoint_aws.cache\n"
        "loaded = [m for m in ('valkey', 'boto3', 'langgraph_checkpoint_aws.langgraph_bindings.valkey') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    ),
}


@pytest.mark.parametrize("name", sorted(PROBES))
def test_paths_stay_lazy_about_optional_sdks(name: str) -> None:
    result = subprocess.run([sys.executable, "-c", PROBES[name]], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
