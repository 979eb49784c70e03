"""Test-wide plugins: every module in tests/backends/ registers one backend's fixtures.

A backend module defines fixtures and declares which variants it offers:

- ``CHECKPOINT_REPOSITORIES``: names ``v`` with a fixture ``checkpoint_repository_<v>``
  returning a fresh, empty CheckpointRepository (the contract suite runs on each);
- ``SAVER_FACTORIES``: names ``v`` with a fixture ``saver_factory_<v>`` returning a
  zero-argument callable that builds a fresh saver (conformance runs on each);
- ``BLOB_STORES``: names ``v`` with a fixture ``blob_store_<v>``;
- ``STORE_FACTORIES``: names ``v`` with a fixture ``store_factory_<v>`` returning
  ``make(clock, *, index=None, ttl=None, **kwargs)`` -> a fresh, empty RepositoryStore
  whose use cases read ``clock`` (the store contract suite runs on each);
- ``VECTOR_STORE_FACTORIES``: the variants among those whose stores search by vector;
- ``CACHE_FACTORIES``: names ``v`` with a fixture ``cache_factory_<v>`` returning a
  zero-argument callable that builds a fresh, empty LangGraph cache.

Adding a backend is adding a file; no shared list to edit.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

_BACKEND_DIR = Path(__file__).parent / "backends"
_MODULES = sorted(m.name for m in pkgutil.iter_modules([str(_BACKEND_DIR)]) if not m.name.startswith("_"))
pytest_plugins = [f"tests.backends.{name}" for name in _MODULES]


def _variants(attribute: str) -> list[str]:
    names: list[str] = []
    for name in _MODULES:
        module = importlib.import_module(f"tests.backends.{name}")
        names.extend(getattr(module, attribute, ()))
    return names


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for fixture, attribute in (
        ("checkpoint_repository", "CHECKPOINT_REPOSITORIES"),
        ("saver_factory", "SAVER_FACTORIES"),
        ("blob_store", "BLOB_STORES"),
        ("store_factory", "STORE_FACTORIES"),
        ("vector_store_factory", "VECTOR_STORE_FACTORIES"),
        ("cache_factory", "CACHE_FACTORIES"),
    ):
        if fixture in metafunc.fixturenames:
            variants = _variants(attribute)
            metafunc.parametrize(fixture, variants, indirect=True, ids=variants)


@pytest.fixture
def checkpoint_repository(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A fresh repository of the variant under test."""
    return request.getfixturevalue(f"checkpoint_repository_{request.param}")


@pytest.fixture
def saver_factory(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A callable building fresh savers of the variant under test."""
    return request.getfixturevalue(f"saver_factory_{request.param}")


@pytest.fixture
def blob_store(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A fresh blob store of the variant under test."""
    return request.getfixturevalue(f"blob_store_{request.param}")


@pytest.fixture
def store_factory(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """``make(clock, index=..., ttl=...)`` building fresh stores of the variant under test."""
    return request.getfixturevalue(f"store_factory_{request.param}")


@pytest.fixture
def vector_store_factory(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """``store_factory`` restricted to the variants that search by vector."""
    return request.getfixturevalue(f"store_factory_{request.param}")


@pytest.fixture
def cache_factory(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A callable building fresh caches of the variant under test."""
    return request.getfixturevalue(f"cache_factory_{request.param}")
