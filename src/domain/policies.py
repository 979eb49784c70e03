"""Pure policies: payload thresholds, metadata and item filters, namespace rules."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from typing import Any, Callable, Optional

import attrs
import tenacity

from .errors import InvalidInputError, TransientBackendError
from .models import StoredCheckpoint

__all__ = [
    "PayloadPolicy",
    "metadata_matches",
    "is_plain_json",
    "validate_metadata_filter",
    "item_matches",
    "validate_item_filter",
    "validate_namespace",
    "validate_labels",
    "namespace_matches",
    "FILTER_OPERATORS",
    "plan_prune",
    "RetryPolicy",
]

FILTER_OPERATORS = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"})


@attrs.frozen
class PayloadPolicy:
    """How payloads are shaped before they reach a repository.

    Attributes:
        compress: gzip payloads (level ``compression_level``) larger than
            ``compress_min_bytes`` when that saves at least ``compress_min_saving``.
        offload_threshold_bytes: payloads larger than this go to the blob store
            when one is configured.
        max_inline_bytes: the largest payload the primary backend accepts
            inline; larger ones without a blob store raise PayloadTooLargeError.
    """

    compress: bool = False
    compression_level: int = 6
    compress_min_bytes: int = 1024
    compress_min_saving: float = 0.10
    offload_threshold_bytes: int = 350 * 1024
    max_inline_bytes: Optional[int] = None

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.compression_level <= 9:
            raise InvalidInputError(
                f"compression_level must be 0..9, got {self.compression_level!r}"
            )


def validate_metadata_filter(flt: Any) -> dict[str, Any]:
    """Check a ``list(filter=...)`` argument: a mapping with string keys."""
    if flt is None:
        return {}
    if not isinstance(flt, Mapping):
        raise InvalidInputError(f"filter must be a dict of metadata key -> value, got {type(flt).__name__}")
    for key, value in flt.items():
        if not isinstance(key, str) or not key:
            raise InvalidInputError(f"filter keys must be non-empty strings, got {key!r}")
        bad = _non_finite(value)
        if bad is not None:
            # Backends filter on a JSON projection where NaN and infinities are null:
            # such a filter could not mean the same thing everywhere, so it is refused.
            raise InvalidInputError(f"filter[{key!r}] holds {bad!r}: filter values must be finite numbers")
    return dict(flt)


def _non_finite(value: Any) -> Optional[float]:
    """The first NaN or infinite float inside ``value`` (dicts and lists searched), or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return value
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        for item in value:
            found = _non_finite(item)
            if found is not None:
                return found
    return None


def is_plain_json(value: Any) -> bool:
    """Whether ``value`` is exactly JSON: str, int, bool, None, finite float, lists and str-keyed
    dicts of those. Metadata that is JSON is stored as it is; other metadata gets a typed copy beside its
    JSON projection (which backends filter on)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        return all(type(k) is str and is_plain_json(v) for k, v in value.items())
    if kind is list:
        return all(is_plain_json(v) for v in value)
    return False


def metadata_matches(metadata: Mapping[str, Any], flt: Mapping[str, Any]) -> bool:
    """Whether every filtered metadata key equals the given value (LangGraph semantics)."""
    return all(key in metadata and metadata[key] == value for key, value in flt.items()) if flt else True


def validate_item_filter(flt: Any, path: str = "filter") -> None:
    """Reject malformed store filters with an error naming the offending path."""
    if flt is None:
        return
    if not isinstance(flt, Mapping):
        raise InvalidInputError(f"{path} must be a dict, got {type(flt).__name__}")
    for key, value in flt.items():
        if not isinstance(key, str):
            raise InvalidInputError(f"{path} keys must be strings, got {key!r}")
        if key.startswith("$"):
            if key not in FILTER_OPERATORS:
                raise InvalidInputError(
                    f"{path}: unsupported operator {key!r} (use one of {sorted(FILTER_OPERATORS)})"
                )
            if key in {"$gt", "$gte", "$lt", "$lte"} and not _is_number(value):
                raise InvalidInputError(f"{path}.{key} needs a number, got {value!r}")
        elif isinstance(value, Mapping):
            validate_item_filter(value, f"{path}.{key}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _apply_operator(value: Any, operator: str, operand: Any) -> bool:
    if operator == "$eq":
        return bool(value == operand)
    if operator == "$ne":
        return bool(value != operand)
    if not _is_number(value):
        return False
    if operator == "$gt":
        return float(value) > float(operand)
    if operator == "$gte":
        return float(value) >= float(operand)
    if operator == "$lt":
        return float(value) < float(operand)
    if operator == "$lte":
        return float(value) <= float(operand)
    raise InvalidInputError(f"unsupported filter operator {operator!r}")


def _compare(item_value: Any, filter_value: Any) -> bool:
    if isinstance(filter_value, Mapping):
        if any(k.startswith("$") for k in filter_value):
            return all(_apply_operator(item_value, op, operand) for op, operand in filter_value.items())
        if not isinstance(item_value, Mapping):
            return False
        return all(_compare(item_value.get(k), v) for k, v in filter_value.items())
    if isinstance(filter_value, (list, tuple)):
        return (
            isinstance(item_value, (list, tuple))
            and len(item_value) == len(filter_value)
            and all(_compare(iv, fv) for iv, fv in zip(item_value, filter_value))
        )
    return bool(item_value == filter_value)


def item_matches(value: Mapping[str, Any], flt: Optional[Mapping[str, Any]]) -> bool:
    """Whether a store item's value matches a filter (InMemoryStore semantics)."""
    if not flt:
        return True
    return all(_compare(value.get(k), v) for k, v in flt.items())


def validate_labels(namespace: Any, what: str = "namespace") -> tuple[str, ...]:
    """Check a namespace, prefix or match path: a tuple of clean labels (may be empty).

    Labels must be non-empty strings without ``.`` or NUL bytes; ``what`` names
    the argument in errors.
    """
    if not isinstance(namespace, tuple):
        raise InvalidInputError(f"{what} must be a tuple of strings, got {type(namespace).__name__}")
    for label in namespace:
        if not isinstance(label, str):
            raise InvalidInputError(f"{what} labels must be strings, got {label!r} in {namespace!r}")
        if not label:
            raise InvalidInputError(f"{what} labels must not be empty: {namespace!r}")
        if "." in label:
            raise InvalidInputError(f"{what} labels must not contain '.': {label!r} in {namespace!r}")
        if "\x00" in label:
            raise InvalidInputError(f"{what} labels must not contain NUL bytes: {label!r} in {namespace!r}")
    return namespace


def validate_namespace(namespace: Any, *, allow_empty: bool = False) -> tuple[str, ...]:
    """Check a store namespace for writing: clean labels, not empty, not under the reserved root."""
    validate_labels(namespace)
    if not namespace and not allow_empty:
        raise InvalidInputError("namespace must not be empty")
    if namespace and namespace[0] == "langgraph":
        raise InvalidInputError(f"the root label 'langgraph' is reserved: {namespace!r}")
    return tuple(namespace)


def namespace_matches(namespace: tuple[str, ...], pattern: tuple[str, ...], *, suffix: bool) -> bool:
    """Prefix (or suffix) match of a namespace against a pattern with ``*`` wildcards."""
    if len(namespace) < len(pattern):
        return False
    pairs = zip(reversed(namespace), reversed(pattern)) if suffix else zip(namespace, pattern)
    return all(p == "*" or n == p for n, p in pairs)


def plan_prune(
    headers: Iterable[StoredCheckpoint], keep_ids: Collection[str]
) -> tuple[list[str], list[tuple[str, str]]]:
    """What pruning one namespace down to ``keep_ids`` removes.

    For backends that store channel blobs apart from checkpoints: returns the
    checkpoint ids to delete and the ``(channel, version)`` blobs that only
    those checkpoints reference (sorted, so adapters issue stable calls).
    """
    keep = set(keep_ids)
    doomed: list[str] = []
    referenced: set[tuple[str, str]] = set()
    candidates: set[tuple[str, str]] = set()
    for cp in headers:
        refs = {(ch, str(v)) for ch, v in cp.channel_versions.items()}
        if cp.checkpoint_id in keep:
            referenced |= refs
        else:
            doomed.append(cp.checkpoint_id)
            candidates |= refs
    return sorted(doomed), sorted(candidates - referenced)


@attrs.frozen
class RetryPolicy:
    """The one retry policy of the library: transient errors only, exponential backoff.

    Use cases apply it once around each repository call (never in two layers);
    adapters use only ``backoff()`` to pace the resubmission of the unprocessed
    part of a batch, which is progress within one call, not a retry of it.

    Attributes:
        attempts: tries per operation (1: no retry).
        initial_backoff: seconds before the second try.
        max_backoff: cap of one wait, in seconds.
        multiplier: growth of the wait per try.
        sleep: injected sleep (tests); ``time.sleep`` / ``asyncio.sleep`` when None.
    """

    attempts: int = 1
    initial_backoff: float = 0.05
    max_backoff: float = 2.0
    multiplier: float = 2.0
    sleep: Optional[Callable[[float], Any]] = attrs.field(default=None, eq=False)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.attempts, int) or isinstance(self.attempts, bool) or self.attempts < 1:
            raise InvalidInputError(f"retry attempts must be an int >= 1, got {self.attempts!r}")
        if self.initial_backoff < 0 or self.max_backoff < 0:
            raise InvalidInputError("retry backoff must not be negative")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after the ``attempt``-th failed try (1-based)."""
        return float(min(self.max_backoff, self.initial_backoff * self.multiplier ** max(0, attempt - 1)))

    def _kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "stop": tenacity.stop_after_attempt(self.attempts),
            "wait": tenacity.wait_exponential(
                multiplier=self.initial_backoff, exp_base=self.multiplier, max=self.max_backoff
            ),
            "retry": tenacity.retry_if_exception_type(TransientBackendError),
            "reraise": True,
        }
        if self.sleep is not None:
            kwargs["sleep"] = self.sleep
        return kwargs

    def retrying(self) -> tenacity.Retrying:
        """A tenacity ``Retrying`` for sync calls."""
        return tenacity.Retrying(**self._kwargs())

    def async_retrying(self) -> tenacity.AsyncRetrying:
        """A tenacity ``AsyncRetrying`` for coroutines."""
        return tenacity.AsyncRetrying(**self._kwargs())
