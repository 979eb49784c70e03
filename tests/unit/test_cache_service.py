"""CacheService use cases over the in-memory cache repository."""

from __future__ import annotations

import pytest

from langgraph_checkpoint_aws.adapters.memory import InMemoryCacheRepository
from langgraph_checkpoint_aws.application.cache import CacheService
from langgraph_checkpoint_aws.domain.errors import InvalidInputError, TransientBackendError
from langgraph_checkpoint_aws.domain.models import Payload
from langgraph_checkpoint_aws.domain.policies import RetryPolicy
from tests.clock import FakeClock

A = (("node", "a"), "k1")
B = (("node", "a"), "k2")
C = (("node", "b"), "k1")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def repository(clock: FakeClock) -> InMemoryCacheRepository:
    return InMemoryCacheRepository(clock=clock)


@pytest.fixture
def service(repository: InMemoryCacheRepository, clock: FakeClock) -> CacheService:
    return CacheService(repository=repository, clock=clock)


def payload(text: str) -> Payload:
    return Payload("json", text.encode())


def test_set_then_get_many(service: CacheService) -> None:
    service.set_many({A: (payload("1"), None), C: (payload("3"), 60)})
    assert service.get_many([A, B, C]) == {A: payload("1"), C: payload("3")}
    assert service.get_many([]) == {}


def test_set_replaces(service: CacheService) -> None:
    service.set_many({A: (payload("1"), None)})
    service.set_many({A: (payload("2"), None)})
    assert service.get_many([A]) == {A: payload("2")}


def test_ttl_in_seconds(service: CacheService, repository: InMemoryCacheRepository, clock: FakeClock) -> None:
    service.set_many({A: (payload("1"), 10), B: (payload("2"), None)})
    assert repository.get_entries([A])[A].expires_at == clock.now + 10
    clock.advance(9.5)
    assert set(service.get_many([A, B])) == {A, B}
    clock.advance(0.5)
    assert set(service.get_many([A, B])) == {B}


def test_default_ttl_applies_when_none_is_given(repository: InMemoryCacheRepository, clock: FakeClock) -> None:
    service = CacheService(repository=repository, default_ttl_seconds=60, clock=clock)
    service.set_many({A: (payload("1"), None), B: (payload("2"), 600)})
    clock.advance(61)
    assert set(service.get_many([A, B])) == {B}


def test_clear_namespaces(service: CacheService) -> None:
    service.set_many({A: (payload("1"), None), B: (payload("2"), None), C: (payload("3"), None)})
    service.clear([("node", "a")])
    assert set(service.get_many([A, B, C])) == {C}
    service.clear([])
    assert set(service.get_many([A, B, C])) == {C}
    service.clear(None)
    assert service.get_many([A, B, C]) == {}


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("bare-string", "must be \\(namespace, key\\) pairs"),
        ((("ns",), "k", "extra"), "must be \\(namespace, key\\) pairs"),
        (("ns", "k"), "namespace must be a tuple of strings"),
        ((["ns"], "k"), "namespace must be a tuple of strings"),
        (((1,), "k"), "namespace must be a tuple of strings"),
        ((("ns",), 7), "key must be a str"),
    ],
)
def test_bad_key_shapes_are_rejected(service: CacheService, key: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        service.get_many([key])  # type: ignore[list-item]


def test_bad_key_shape_on_set(service: CacheService) -> None:
    with pytest.raises(InvalidInputError, match="namespace must be a tuple"):
        service.set_many({("ns", "k"): (payload("1"), None)})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ((b"raw", None), "must be a \\(Payload, ttl\\) pair"),
        (payload("1"), "must be a \\(Payload, ttl\\) pair"),
        ((payload("1"), -5), "positive number of seconds"),
        ((payload("1"), "soon"), "positive number of seconds"),
    ],
)
def test_bad_values_are_rejected(service: CacheService, value: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        service.set_many({A: value})  # type: ignore[dict-item]
    assert service.get_many([A]) == {}


def test_clear_rejects_bad_namespaces(service: CacheService) -> None:
    with pytest.raises(InvalidInputError, match="tuple of strings"):
        service.clear(("node", "a"))  # type: ignore[arg-type]


def test_bad_default_ttl(repository: InMemoryCacheRepository) -> None:
    with pytest.raises(InvalidInputError, match="default_ttl_seconds"):
        CacheService(repository=repository, default_ttl_seconds=-1)


class FlakyCacheRepository(InMemoryCacheRepository):
    """The in-memory repository, failing its first ``failures`` calls the way a lost connection does."""

    def __init__(self, failures: int, clock: FakeClock) -> None:
        super().__init__(clock=clock)
        self.failures = failures

    def _maybe_fail(self) -> None:
        if self.failures:
            self.failures -= 1
            raise TransientBackendError("connection lost")

    def get_entries(self, keys):  # type: ignore[no-untyped-def]
        self._maybe_fail()
        return super().get_entries(keys)

    def set_entries(self, entries):  # type: ignore[no-untyped-def]
        self._maybe_fail()
        super().set_entries(entries)


def test_the_retry_policy_is_applied_once_around_each_call(clock: FakeClock) -> None:
    sleeps: list[float] = []
    service = CacheService(
        repository=FlakyCacheRepository(2, clock), clock=clock, retry=RetryPolicy(attempts=3, sleep=sleeps.append)
    )
    service.set_many({A: (Payload("json", b"1"), None)})  # two failures, third try succeeds
    assert service.get_many([A]) == {A: Payload("json", b"1")}
    assert len(sleeps) == 2
    no_retry = CacheService(repository=FlakyCacheRepository(1, clock), clock=clock)
    with pytest.raises(TransientBackendError):
        no_retry.get_many([A])
