"""Generic validation of an operation's input against its botocore shape, with AWS-style messages."""

from __future__ import annotations

import base64
import binascii
import datetime
import email.utils
import math
import re
from functools import lru_cache
from typing import Any

from botocore.model import Shape, StructureShape

__all__ = ["FieldError", "parse_timestamp", "validate"]


class FieldError:
    """One constraint a member fails: its dotted path, the full message and the bare constraint."""

    __slots__ = ("path", "message", "constraint")

    def __init__(self, path: str, message: str, constraint: str) -> None:
        self.path = path
        self.message = message
        self.constraint = constraint

    def __repr__(self) -> str:
        return f"FieldError({self.message!r})"


@lru_cache(maxsize=None)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def validate(shape: Shape, value: Any) -> tuple[Any, list[FieldError]]:
    """Check ``value`` against ``shape`` and convert it (timestamps to float seconds, blobs to bytes).

    Patterns must match the whole value, as the service enforces them. Returns the
    converted value and every constraint it fails (empty when valid).
    """
    errors: list[FieldError] = []
    converted = _check(shape, value, "", errors)
    return converted, errors


def parse_timestamp(value: Any) -> float:
    """Epoch seconds from a JSON number, a numeric string, ISO 8601 or RFC 822 text."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError(value)
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=datetime.timezone.utc)
        return parsed.timestamp()
    raise ValueError(value)


def _describe(shape: Shape, value: Any) -> str:
    if shape.metadata.get("sensitive"):
        return "Value"
    if isinstance(value, str):
        shown = value if len(value) <= 200 else value[:200] + "..."
        return f"Value '{shown}'"
    if isinstance(value, (list, dict)):
        return "Value"
    return f"Value '{value}'"


def _fail(errors: list[FieldError], shape: Shape, value: Any, path: str, constraint: str) -> None:
    where = path or shape.name
    errors.append(FieldError(where, f"{_describe(shape, value)} at '{where}' failed to satisfy constraint: {constraint}", constraint))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _check(shape: Shape, value: Any, path: str, errors: list[FieldError]) -> Any:
    kind = shape.type_name
    meta = shape.metadata
    if isinstance(shape, StructureShape) and meta.get("document"):
        return value
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            _fail(errors, shape, value, path, "Member must be a structure")
            return value
        result: dict[str, Any] = {}
        for name in shape.required_members:
            if value.get(name) is None:
                errors.append(FieldError(
                    _join(path, name),
                    f"Value null at '{_join(path, name)}' failed to satisfy constraint: Member must not be null",
                    "Member must not be null",
                ))
        present = [name for name in shape.members if value.get(name) is not None]
        if shape.is_tagged_union and len(present) != 1:
            _fail(errors, shape, value, path, "Member must have exactly one member of the union set")
        for name in present:
            result[name] = _check(shape.members[name], value[name], _join(path, name), errors)
        return result
    if kind == "list":
        if not isinstance(value, list):
            _fail(errors, shape, value, path, "Member must be a list")
            return value
        _check_size(shape, value, path, errors, "Member must have length")
        member = shape.member
        return [_check(member, item, f"{_join(path, str(i + 1))}.member" if path else str(i + 1), errors)
                for i, item in enumerate(value)]
    if kind == "map":
        if not isinstance(value, dict):
            _fail(errors, shape, value, path, "Member must be a map")
            return value
        _check_size(shape, value, path, errors, "Member must have length")
        key_shape = shape.key
        value_shape = shape.value
        return {
            _check(key_shape, k, f"{path}.key", errors): _check(value_shape, v, f"{path}.{k}", errors)
            for k, v in value.items()
        }
    if kind == "string":
        if not isinstance(value, str):
            _fail(errors, shape, value, path, "Member must be a string")
            return value
        _check_size(shape, value, path, errors, "Member must have length")
        enum = meta.get("enum")
        if enum and value not in enum:
            _fail(errors, shape, value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]")
        pattern = meta.get("pattern")
        if pattern and _compiled(pattern).fullmatch(value) is None:
            _fail(errors, shape, value, path, f"Member must satisfy regular expression pattern: {pattern}")
        return value
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                _fail(errors, shape, value, path, f"Member must be an {kind}")
                return value
        _check_range(shape, value, path, errors)
        return value
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            _fail(errors, shape, value, path, f"Member must be a {kind}")
            return value
        _check_range(shape, value, path, errors)
        return float(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            _fail(errors, shape, value, path, "Member must be a boolean")
        return value
    if kind == "timestamp":
        try:
            return parse_timestamp(value)
        except (ValueError, TypeError, OverflowError):
            _fail(errors, shape, value, path, "Member must be a timestamp")
            return value
    if kind == "blob":
        if isinstance(value, (bytes, bytearray)):
            data = bytes(value)
        elif isinstance(value, str):
            try:
                data = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                _fail(errors, shape, value, path, "Member must be base64-encoded")
                return value
        else:
            _fail(errors, shape, value, path, "Member must be a blob")
            return value
        _check_size(shape, data, path, errors, "Member must have length")
        return data
    return value


def _check_size(shape: Shape, value: Any, path: str, errors: list[FieldError], prefix: str) -> None:
    size = len(value)
    low = shape.metadata.get("min")
    high = shape.metadata.get("max")
    if low is not None and size < low:
        _fail(errors, shape, value, path, f"{prefix} greater than or equal to {low}")
    if high is not None and size > high:
        _fail(errors, shape, value, path, f"{prefix} less than or equal to {high}")


def _check_range(shape: Shape, value: float, path: str, errors: list[FieldError]) -> None:
    low = shape.metadata.get("min")
    high = shape.metadata.get("max")
    if low is not None and value < low:
        _fail(errors, shape, value, path, f"Member must have value greater than or equal to {low}")
    if high is not None and value > high:
        _fail(errors, shape, value, path, f"Member must have value less than or equal to {high}")
