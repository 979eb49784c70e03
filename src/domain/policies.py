"""Pure policies: payload thresholds, metadata and item filters, namespace rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

import attrs

from .errors import InvalidInputError

__all__ = [
    "PayloadPolicy",
    "metadata_matches",
    "validate_metadata_filter",
    "item_matches",
    "validate_item_filter",
    "validate_namespace",
    "validate_labels",
    "namespace_matches",
    "FILTER_OPERATORS",
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
    for key in flt:
        if not isinstance(key, str) or not key:
            raise InvalidInputError(f"filter keys must be non-empty strings, got {key!r}")
    return dict(flt)


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
    return namespace


def namespace_matches(namespace: tuple[str, ...], pattern: tuple[str, ...], *, suffix: bool) -> bool:
    """Prefix (or suffix) match of a namespace against a pattern with ``*`` wildcards."""
    if len(namespace) < len(pattern):
        return False
    pairs = zip(reversed(namespace), reversed(pattern)) if suffix else zip(namespace, pattern)
    return all(p == "*" or n == p for n, p in pairs)
