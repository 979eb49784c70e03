"""What every emulated AWS service provides to the server: a model, handlers, state to save and reset."""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

from botocore.model import ServiceModel

from .wire import ServiceError, ValidationError, load_service_model

__all__ = ["EmulatedService", "Handler", "encode_token", "decode_token"]

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class EmulatedService:
    """Base class of one emulated service (one botocore service model).

    A subclass sets ``service_name`` (botocore's name, e.g. ``bedrock-agentcore``),
    implements one method per operation it serves, named after the operation
    (``CreateEvent``), taking the validated input and returning the output as Python
    values (timestamps as float epoch seconds), and lists the operations that change
    state in ``mutating``. It keeps its whole state as JSON-compatible values so that
    ``snapshot``/``restore`` can persist it. The server serialises requests to one
    service with ``lock``.
    """

    service_name: ClassVar[str]
    mutating: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.model: ServiceModel = load_service_model(self.service_name)
        self.clock = clock
        self.lock = threading.RLock()
        self.state: dict[str, Any] = self.empty_state()

    @property
    def signing_name(self) -> str:
        """The SigV4 service name clients sign with (routes requests when services share a port)."""
        return str(self.model.metadata.get("signingName") or self.model.endpoint_prefix)

    def empty_state(self) -> dict[str, Any]:
        """The state of a fresh service."""
        return {}

    def implemented(self) -> list[str]:
        """The operations this emulator answers (others get ``NotImplemented``)."""
        return [name for name in self.model.operation_names if callable(getattr(self, name, None))]

    def handler(self, operation: str) -> Handler | None:
        method = getattr(self, operation, None)
        if operation not in self.model.operation_names or not callable(method):
            return None
        return method

    def snapshot(self) -> dict[str, Any]:
        """A JSON-compatible copy of the whole state."""
        with self.lock:
            return json.loads(json.dumps(self.state))

    def restore(self, data: dict[str, Any]) -> None:
        with self.lock:
            self.state = data

    def reset(self) -> None:
        with self.lock:
            self.state = self.empty_state()

    def now(self) -> float:
        """Server time in epoch seconds, at millisecond precision."""
        return round(self.clock(), 3)


def encode_token(scope: str, position: Any) -> str:
    """An opaque pagination token: where the previous page stopped, bound to the query it came from."""
    raw = json.dumps({"s": scope, "p": position}, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_token(token: str | None, scope: str) -> Any:
    """The position in ``token``, or None for the first page; a token of another query is refused."""
    if token is None:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError) as exc:
        raise ValidationError("Invalid nextToken", field_list=[{"name": "nextToken", "message": "invalid token"}]) from exc
    if not isinstance(data, dict) or data.get("s") != scope:
        raise ValidationError("Invalid nextToken: it belongs to a different request",
                              field_list=[{"name": "nextToken", "message": "invalid token"}])
    return data.get("p")


def not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message)
