"""The interfaces every backend container implements, and the pieces they share.

A backend container provides, from the root options:

- ``checkpoint_repository``: a sync ``CheckpointRepository`` (plus any capability ports);
- ``blob_store``: a ``BlobStore`` for offloaded payloads, or None;
- ``max_inline_bytes``: the largest payload stored inline (None: no limit);
- ``retry_policy``: the ``RetryPolicy`` its use cases apply;
- ``executor``: where the async API runs calls of the sync adapters (a Resource,
  shut down with the container).

Backends that also hold the store or the cache implement ``StoreBackend`` or
``CacheBackend``; the root container checks for them, never for a name.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

from dependency_injector import containers, providers, resources

from ..domain.policies import RetryPolicy
from .options import PersistenceOptions

__all__ = ["BackendContainer", "StoreBackend", "CacheBackend", "ExecutorResource", "retry_policy", "is_async_section"]


class ExecutorResource(resources.Resource[ThreadPoolExecutor]):
    """A thread pool owned by the container: shut down by ``shutdown_resources()``, never by GC."""

    def init(self, max_workers: int, name: str) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=name)

    def shutdown(self, executor: Optional[ThreadPoolExecutor]) -> None:
        if executor is not None:
            executor.shutdown(wait=True)


def is_async_section(section: Any) -> bool:
    """Whether an options section's ``session`` is an aioboto3/aiobotocore session (the native
    async repository); imports the AWS toolkit only when a session is given."""
    if getattr(section, "session", None) is None:
        return False
    from ..adapters.aws.clients import is_async_session

    return is_async_session(section.session)


def retry_policy(attempts: int, sleep: Any = None) -> RetryPolicy:
    """The backend's RetryPolicy: ``attempts`` tries, default backoff."""
    return RetryPolicy(attempts=attempts, sleep=sleep)


class BackendContainer(containers.DeclarativeContainer):
    """What every backend container provides (see the module docstring)."""

    options: providers.Provider[PersistenceOptions] = providers.Dependency(instance_of=PersistenceOptions)
    checkpoint_repository: providers.Provider[Any] = providers.Dependency()
    blob_store: providers.Provider[Any] = providers.Dependency()
    max_inline_bytes: providers.Provider[Any] = providers.Dependency()
    retry_policy: providers.Provider[RetryPolicy] = providers.Dependency(instance_of=RetryPolicy)
    executor: providers.Provider[Any] = providers.Dependency()


class StoreBackend(containers.DeclarativeContainer):
    """A backend that also holds the long-term memory store."""

    item_repository: providers.Provider[Any] = providers.Dependency()
    vector_index: providers.Provider[Any] = providers.Dependency()


class CacheBackend(containers.DeclarativeContainer):
    """A backend that also holds the cache."""

    cache_repository: providers.Provider[Any] = providers.Dependency()
