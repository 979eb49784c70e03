"""The composition root: config from dict, YAML and environment; errors name the option path."""

from __future__ import annotations

from pathlib import Path

import pytest
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

from langgraph_checkpoint_aws import ConfigurationError, create_saver
from langgraph_checkpoint_aws.container import config_from_env, create_container


def test_memory_saver_from_dict_round_trips() -> None:
    saver = create_saver({"backend": "memory"})
    cfg = {"configurable": {"thread_id": "x", "checkpoint_ns": ""}}
    from langgraph.checkpoint.base import empty_checkpoint

    stored = saver.put(cfg, empty_checkpoint(), {"source": "input", "step": -1}, {})
    assert saver.get_tuple(stored).metadata["step"] == -1


@pytest.mark.parametrize(
    "config,message",
    [
        ({}, "missing option backend"),
        ({"backend": "cassandra"}, "unknown backend 'cassandra' at option backend"),
        ({"backend": "memory", "ttl_secs": 3}, "unknown option ttl_secs"),
        ({"backend": "memory", "memory": {"offlaod": True}}, "unknown option memory.offlaod"),
        ({"backend": "memory", "ttl_seconds": -1}, "ttl_seconds must be positive"),
        ({"backend": "memory", "compression": "yes"}, "option compression has the wrong type"),
        ({"backend": "memory", "cache": {"ttl_seconds": "soon"}}, "option cache.ttl_seconds"),
    ],
)
def test_bad_config_names_the_option(config: dict, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        create_saver(config)


def test_yaml_file_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "persistence.yaml"
    path.write_text("backend: memory\nttl_seconds: 60\ncompression: true\n")
    container = create_container(str(path))
    assert container.options().ttl_seconds == 60 and container.options().compression is True
    env = {"LANGGRAPH_AWS_BACKEND": "memory", "LANGGRAPH_AWS_MEMORY__OFFLOAD": "true", "OTHER": "x"}
    assert config_from_env(env) == {"backend": "memory", "memory": {"offload": True}}
    with pytest.raises(ConfigurationError, match="does not exist"):
        create_container(str(tmp_path / "missing.yaml"))


def test_container_overrides_and_one_container_per_use() -> None:
    a = create_container({"backend": "memory"})
    b = create_container({"backend": "memory"})
    assert a.checkpoint_repository() is a.checkpoint_repository()
    assert a.checkpoint_repository() is not b.checkpoint_repository()
    from langgraph_checkpoint_aws.adapters.memory import InMemoryCheckpointRepository

    mine = InMemoryCheckpointRepository()
    a.memory.checkpoint_repository.override(mine)
    from langgraph_checkpoint_aws import RepositorySaver

    assert RepositorySaver.from_container(a).service.repository is mine


def test_custom_serde_is_used() -> None:
    serde = EncryptedSerializer.from_pycryptodome_aes(key=b"0" * 16) if _has_crypto() else None
    if serde is None:
        from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

        serde = JsonPlusSerializer()
    saver = create_saver({"backend": "memory"}, serde=serde)
    assert saver.serde is not None
    cfg = {"configurable": {"thread_id": "enc", "checkpoint_ns": ""}}
    from langgraph.checkpoint.base import empty_checkpoint

    cp = empty_checkpoint()
    cp["channel_values"] = {"secret": "value"}
    cp["channel_versions"] = {"secret": "1"}
    saver.put(cfg, cp, {}, {"secret": "1"})
    stored = saver.service.repository._blobs
    assert saver.get_tuple(cfg).checkpoint["channel_values"] == {"secret": "value"}
    if _has_crypto():
        raw = next(iter(next(iter(stored.values())).values())).payload
        assert b"value" not in raw.data and raw.type_tag.endswith("+aes")


def _has_crypto() -> bool:
    try:
        import Crypto  # noqa: F401
    except ImportError:
        return False
    return True


def test_store_and_cache_from_the_container() -> None:
    from langgraph_checkpoint_aws import create_cache, create_store

    def embed(texts: list[str]) -> list[list[float]]:
        return [[float(t.count(c)) for c in "abcdefgh"] for t in texts]

    store = create_store({"backend": "memory", "store": {"index": {"dims": 8, "embed": embed, "fields": ["text"]}}})
    store.put(("docs",), "1", {"text": "aaaa bbb"})
    store.put(("docs",), "2", {"text": "hhhh ggg"})
    hits = store.search(("docs",), query="aab")
    assert [h.key for h in hits] == ["1", "2"] and hits[0].score > hits[1].score
    cache = create_cache({"backend": "memory", "cache": {"ttl_seconds": 60}})
    cache.set({(("ns",), "k"): ({"v": 1}, None)})
    assert cache.get([(("ns",), "k")]) == {(("ns",), "k"): {"v": 1}}
    cache.clear([("ns",)])
    assert cache.get([(("ns",), "k")]) == {}
