"""Sub-container for the Valkey backend (imports valkey only when a provider is used).

Options (section ``valkey`` of the root configuration)::

    valkey:
      url: valkey://user:password@host:6379/0   # or valkeys://, redis://, rediss://
      pool_size: 10
      cluster: null          # null: ask the server; true/false to force
      layout: plain          # or agentcore (AgentCoreValkeySaver's keys, actor_id required)
      retry_attempts: 1      # >1: retry transient errors with exponential backoff

The root ``ttl_seconds`` applies to every key of a thread, refreshed on write.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Optional

from dependency_injector import containers, providers

from ..domain.errors import ConfigurationError, TransientBackendError

__all__ = ["ValkeyBackend", "retry_policy", "LAYOUTS", "OPTIONS"]

LAYOUTS = ("plain", "agentcore")

OPTIONS: dict[str, tuple[Any, bool]] = {
    "url": (str, False),
    "pool_size": (int, False),
    "cluster": ((bool, type(None)), False),
    "layout": (str, False),
    "retry_attempts": (int, False),
}
"""Options of the ``valkey`` section: name -> (types, required)."""


def _options(valkey: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    opts = {"url": None, "pool_size": 10, "cluster": None, "layout": "plain", "retry_attempts": 1}
    opts.update(dict(valkey or {}))
    if opts["layout"] not in LAYOUTS:
        raise ConfigurationError(f"option valkey.layout must be one of {LAYOUTS}, got {opts['layout']!r}")
    if not isinstance(opts["retry_attempts"], int) or opts["retry_attempts"] < 1:
        raise ConfigurationError(f"option valkey.retry_attempts must be >= 1, got {opts['retry_attempts']!r}")
    return opts


def retry_policy(attempts: int, *, sleep: Any = None) -> Any:
    """A tenacity policy: ``attempts`` tries, exponential backoff, TransientBackendError only.

    Returns None for a single attempt (no retry layer at all).
    """
    if attempts <= 1:
        return None
    import tenacity

    kwargs: dict[str, Any] = {}
    if sleep is not None:
        kwargs["sleep"] = sleep
    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(attempts),
        wait=tenacity.wait_exponential(multiplier=0.05, min=0.05, max=2.0),
        retry=tenacity.retry_if_exception_type(TransientBackendError),
        reraise=True,
        **kwargs,
    )


def _client(valkey: Optional[Mapping[str, Any]]) -> Iterator[Any]:
    opts = _options(valkey)
    if not opts["url"]:
        raise ConfigurationError("missing option valkey.url (e.g. valkey://localhost:6379)")
    from ..adapters.valkey.clients import client_from_url

    client = client_from_url(opts["url"], pool_size=opts["pool_size"], cluster=opts["cluster"])
    try:
        yield client
    finally:
        client.close()


def _retry(valkey: Optional[Mapping[str, Any]]) -> Any:
    return retry_policy(_options(valkey)["retry_attempts"])


def _repository(client: Any, valkey: Optional[Mapping[str, Any]], ttl_seconds: Optional[float], retry: Any) -> Any:
    from ..adapters.valkey import (
        AGENTCORE_LAYOUT,
        PLAIN_LAYOUT,
        ValkeyCheckpointRepository,
    )

    layout = AGENTCORE_LAYOUT if _options(valkey)["layout"] == "agentcore" else PLAIN_LAYOUT
    return ValkeyCheckpointRepository(client, layout=layout, ttl_seconds=ttl_seconds, retry=retry)


def requires_actor_id(backend: Any, valkey: Optional[Mapping[str, Any]]) -> bool:
    """Whether the configured saver needs ``configurable.actor_id`` (the AgentCore layout)."""
    return backend == "valkey" and _options(valkey)["layout"] == "agentcore"


def _unsupported(what: str) -> Any:
    raise ConfigurationError(f"backend valkey does not provide a {what} yet (use backend memory for it)")


class ValkeyBackend(containers.DeclarativeContainer):
    """Repositories on a Valkey server or cluster.

    Override ``client`` to inject your own client (the bindings do), or
    ``retry_policy`` to inject a tenacity policy (tests inject ``sleep=``).
    """

    config = providers.Configuration()
    """The root configuration (this backend reads ``ttl_seconds`` and ``valkey.*``)."""

    client = providers.Resource(_client, valkey=config.valkey)
    retry_policy = providers.Singleton(_retry, valkey=config.valkey)
    checkpoint_repository = providers.Singleton(
        _repository, client=client, valkey=config.valkey, ttl_seconds=config.ttl_seconds, retry=retry_policy
    )
    blob_store = providers.Object(None)
    max_inline_bytes = providers.Object(None)
    item_repository = providers.Callable(_unsupported, "store item repository")
    vector_index = providers.Callable(_unsupported, "vector index")
    cache_repository = providers.Callable(_unsupported, "cache repository")
