"""Bedrock session management (boto3 service ``bedrock-agent-runtime``): sessions, invocations, invocation steps.

The eleven operations of the session management API: CreateSession, GetSession,
UpdateSession, EndSession, DeleteSession, ListSessions, CreateInvocation,
ListInvocations, PutInvocationStep, GetInvocationStep and ListInvocationSteps.
Every other operation of the model (InvokeAgent, Retrieve...) answers 501.

What it reproduces, where the model and the API reference say so:

- Sessions: ``sessionId`` is a generated UUID, ``sessionArn`` is
  ``arn:aws:bedrock:<region>:<account>:session/<id>``; every operation takes either.
  A new session is ``ACTIVE``. EndSession makes it ``ENDED``: its content can still be
  read, but nothing can be added (CreateInvocation, PutInvocationStep and
  UpdateSession answer ``ConflictException``); ending it again is a conflict too.
  DeleteSession refuses an ``ACTIVE`` session ("end it first", ``ConflictException``)
  and deletes an ended one with all its invocations and steps. With
  ``expire_after`` (seconds of inactivity, None by default) a session turns
  ``EXPIRED`` and behaves as ended.
- UpdateSession replaces ``sessionMetadata`` with the map it is given (at most 50
  entries, values up to 5,000 characters: the model's limits) and refreshes
  ``lastUpdatedAt``; so do CreateInvocation and PutInvocationStep.
- Invocations: ``invocationId`` is the caller's UUID or a generated one; an id that
  already exists in the session is a ``ConflictException``.
- Steps: PutInvocationStep needs an existing invocation of the session
  (``ResourceNotFoundException`` otherwise) and keeps ``invocationStepTime`` as
  given; ``invocationStepId`` is the caller's UUID or a generated one. A step id
  that already exists in the session is a ``ConflictException`` (steps are never
  changed once written). The payload is a list of content blocks, each ``text`` or
  ``image`` (png, jpeg, gif, webp; ``bytes`` or ``s3Location``). Documented limits:
  at most 20 images per step, each at most 3.75 MB. The text of one step is limited
  by ``step_text_limit`` (bytes of UTF-8, default 1 MiB; the service documents no
  figure; None disables it).
- GetInvocationStep needs the step's invocation: a step asked for under another
  invocation is not found.
- Listings page with ``maxResults`` (1 to 1,000; default 10) and an opaque
  ``nextToken`` bound to the query that produced it. ListInvocationSteps lists the
  whole session, or one invocation with ``invocationIdentifier``.

The API reference documents no order for any listing. This emulator lists newest
first (steps by ``invocationStepTime``, sessions and invocations by creation; ties by
arrival); ``order="oldest_first"`` reverses every listing, so a client can check it
depends on no order.

Not reproduced: KMS (``encryptionKeyArn`` is stored, never used), tags beyond
storing them, quotas on sessions per account, IAM and SigV4 checking.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from .service import EmulatedService, decode_token, encode_token, not_found
from .wire import ServiceError, ValidationError

__all__ = ["BedrockSessionsService", "ACTIVE", "ENDED", "EXPIRED", "MAX_IMAGES", "MAX_IMAGE_BYTES"]

ACTIVE = "ACTIVE"
ENDED = "ENDED"
EXPIRED = "EXPIRED"
MAX_IMAGES = 20
MAX_IMAGE_BYTES = int(3.75 * 1024 * 1024)
DEFAULT_PAGE = 10


def _conflict(message: str) -> ServiceError:
    return ServiceError("ConflictException", message)


def _scope(operation: str, params: dict[str, Any]) -> str:
    body = {k: v for k, v in params.items() if k not in ("nextToken", "maxResults")}
    return operation + ":" + hashlib.sha256(json.dumps(body, sort_keys=True, default=repr).encode()).hexdigest()[:32]


class BedrockSessionsService(EmulatedService):
    """Amazon Bedrock session management, the operations of ``bedrock-agent-runtime`` that sessions use.

    Args:
        clock: the time source (epoch seconds).
        region: the region named in session ARNs.
        account: the account named in session ARNs.
        order: ``"newest_first"`` (default) or ``"oldest_first"`` for every listing.
        step_text_limit: the most UTF-8 bytes of text one step may hold (None: no limit).
        expire_after: seconds without activity after which a session is ``EXPIRED`` (None: never).
    """

    service_name: ClassVar[str] = "bedrock-agent-runtime"
    mutating: ClassVar[frozenset[str]] = frozenset({
        "CreateSession", "UpdateSession", "EndSession", "DeleteSession", "CreateInvocation", "PutInvocationStep",
    })

    def __init__(self, *, clock: Callable[[], float] | None = None, region: str = "us-east-1",
                 account: str = "123456789012", order: str = "newest_first",
                 step_text_limit: int | None = 1024 * 1024, expire_after: float | None = None) -> None:
        if order not in ("newest_first", "oldest_first"):
            raise ValueError("order must be 'newest_first' or 'oldest_first'")
        if clock is None:
            super().__init__()
        else:
            super().__init__(clock=clock)
        self.region = region
        self.account = account
        self.order = order
        self.step_text_limit = step_text_limit
        self.expire_after = expire_after

    def empty_state(self) -> dict[str, Any]:
        return {"seq": 0, "sessions": {}}

    # -- helpers -------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self.state["seq"] += 1
        return int(self.state["seq"])

    def _arn(self, session_id: str) -> str:
        return f"arn:aws:bedrock:{self.region}:{self.account}:session/{session_id}"

    def _session(self, identifier: str) -> dict[str, Any]:
        session_id = identifier.rsplit("session/", 1)[-1] if identifier.startswith("arn:") else identifier
        session = self.state["sessions"].get(session_id)
        if session is None:
            raise not_found(f"Session '{identifier}' not found")
        return session

    def _status(self, session: dict[str, Any]) -> str:
        status = str(session["status"])
        if status == ACTIVE and self.expire_after is not None and self.now() - session["lastUpdatedAt"] > self.expire_after:
            return EXPIRED
        return status

    def _writable(self, session: dict[str, Any], action: str) -> None:
        status = self._status(session)
        if status != ACTIVE:
            raise _conflict(f"Cannot {action}: session '{session['sessionId']}' is {status}")

    def _touch(self, session: dict[str, Any]) -> None:
        session["lastUpdatedAt"] = self.now()

    def _summary(self, session: dict[str, Any]) -> dict[str, Any]:
        return {
            "sessionId": session["sessionId"], "sessionArn": self._arn(session["sessionId"]),
            "sessionStatus": self._status(session), "createdAt": session["createdAt"],
            "lastUpdatedAt": session["lastUpdatedAt"],
        }

    def _page(self, operation: str, params: dict[str, Any], items: list[Any], key: Callable[[Any], Any]) -> tuple[list[Any], str | None]:
        """One page of ``items`` in the emulator's order, after the position in ``nextToken``."""
        scope = _scope(operation, params)
        position = decode_token(params.get("nextToken"), scope)
        newest_first = self.order == "newest_first"
        items = sorted(items, key=key, reverse=newest_first)
        if position is not None:
            after = tuple(position)
            items = [i for i in items if (tuple(key(i)) < after if newest_first else tuple(key(i)) > after)]
        size = int(params.get("maxResults") or DEFAULT_PAGE)
        page = items[:size]
        token = encode_token(scope, list(key(page[-1]))) if len(items) > size else None
        return page, token

    def _check_payload(self, payload: dict[str, Any]) -> None:
        blocks = payload.get("contentBlocks") or []
        images = [b["image"] for b in blocks if "image" in b]
        if len(images) > MAX_IMAGES:
            raise ValidationError(f"A step holds at most {MAX_IMAGES} images (got {len(images)})")
        for i, image in enumerate(images):
            data = image["source"].get("bytes")
            if data is not None and len(data) > MAX_IMAGE_BYTES:
                raise ValidationError(
                    f"Image {i + 1} is {len(data)} bytes; an image must be at most {MAX_IMAGE_BYTES} bytes")
        if self.step_text_limit is not None:
            size = sum(len(b["text"].encode("utf-8")) for b in blocks if "text" in b)
            if size > self.step_text_limit:
                raise ValidationError(
                    f"1 validation error detected: Value at 'payload.contentBlocks' failed to satisfy constraint: "
                    f"the text of a step must be at most {self.step_text_limit} bytes (got {size})",
                    field_list=[{"name": "payload.contentBlocks", "message": f"text of {size} bytes exceeds {self.step_text_limit}"}],
                )

    @staticmethod
    def _store_payload(payload: dict[str, Any]) -> dict[str, Any]:
        """The payload as JSON values (image bytes base64-encoded), for ``snapshot``."""
        blocks = []
        for block in payload["contentBlocks"]:
            if "image" in block and "bytes" in block["image"]["source"]:
                data = block["image"]["source"]["bytes"]
                block = {"image": {"format": block["image"]["format"], "source": {"bytes": _b64(data)}}}
            blocks.append(block)
        return {"contentBlocks": blocks}

    @staticmethod
    def _load_payload(payload: dict[str, Any]) -> dict[str, Any]:
        blocks = []
        for block in payload["contentBlocks"]:
            if "image" in block and "bytes" in block["image"]["source"]:
                data = _unb64(block["image"]["source"]["bytes"])
                block = {"image": {"format": block["image"]["format"], "source": {"bytes": data}}}
            blocks.append(block)
        return {"contentBlocks": blocks}

    # -- sessions ------------------------------------------------------------------------

    def CreateSession(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 - the operation's name
        session_id = str(uuid.uuid4())
        now = self.now()
        self.state["sessions"][session_id] = {
            "sessionId": session_id, "status": ACTIVE, "createdAt": now, "lastUpdatedAt": now,
            "seq": self._next_seq(), "metadata": dict(params.get("sessionMetadata") or {}),
            "tags": dict(params.get("tags") or {}), "encryptionKeyArn": params.get("encryptionKeyArn"),
            "invocations": {}, "steps": {},
        }
        return {"sessionId": session_id, "sessionArn": self._arn(session_id), "sessionStatus": ACTIVE, "createdAt": now}

    def GetSession(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        session = self._session(params["sessionIdentifier"])
        out = self._summary(session)
        out["sessionMetadata"] = dict(session["metadata"])
        if session.get("encryptionKeyArn"):
            out["encryptionKeyArn"] = session["encryptionKeyArn"]
        return out

    def UpdateSession(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        session = self._session(params["sessionIdentifier"])
        self._writable(session, "update the session")
        if params.get("sessionMetadata") is not None:
            session["metadata"] = dict(params["sessionMetadata"])
        self._touch(session)
        return self._summary(session)

    def EndSession(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        session = self._session(params["sessionIdentifier"])
        status = self._status(session)
        if status != ACTIVE:
            raise _conflict(f"Session '{session['sessionId']}' is already {status}")
        session["status"] = ENDED
        self._touch(session)
        return {"sessionId": session["sessionId"], "sessionArn": self._arn(session["sessionId"]), "sessionStatus": ENDED}

    def DeleteSession(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        session = self._session(params["sessionIdentifier"])
        if self._status(session) == ACTIVE:
            raise _conflict(f"Session '{session['sessionId']}' is ACTIVE: end it with EndSession before deleting it")
        del self.state["sessions"][session["sessionId"]]
        return {}

    def ListSessions(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        sessions = list(self.state["sessions"].values())
        page, token = self._page("ListSessions", params, sessions, lambda s: (s["createdAt"], s["seq"]))
        out: dict[str, Any] = {"sessionSummaries": [self._summary(s) for s in page]}
        if token:
            out["nextToken"] = token
        return out

    # -- invocations ---------------------------------------------------------------------

    def CreateInvocation(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        session = self._session(params["sessionIdentifier"])
        self._writable(session, "create an invocation")
        invocation_id = params.get("invocationId") or str(uuid.uuid4())
        if invocation_id in session["invocations"]:
            raise _conflict(f"Invocation '{invocation_id}' already exists in session '{session['sessionId']}'")
        now = self.now()
        session["invocations"][invocation_id] = {
            "invocationId": invocation_id, "createdAt": now, "seq": self._next_seq(),
            "description": params.get("description"),
        }
        self._touch(session)
        return {"invocationId": invocation_id, "sessionId": session["sessionId"], "createdAt": now}

    def ListInvocations(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        session = self._session(params["sessionIdentifier"])
        invocations = list(session["invocations"].values())
        page, token = self._page("ListInvocations", params, invocations, lambda i: (i["createdAt"], i["seq"]))
        out: dict[str, Any] = {"invocationSummaries": [
            {"invocationId": i["invocationId"], "sessionId": session["sessionId"], "createdAt": i["createdAt"]}
            for i in page
        ]}
        if token:
            out["nextToken"] = token
        return out

    # -- steps ---------------------------------------------------------------------------

    def PutInvocationStep(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        session = self._session(params["sessionIdentifier"])
        invocation_id = params["invocationIdentifier"]
        if invocation_id not in session["invocations"]:
            raise not_found(f"Invocation '{invocation_id}' not found in session '{session['sessionId']}'")
        self._writable(session, "add an invocation step")
        self._check_payload(params["payload"])
        step_id = params.get("invocationStepId") or str(uuid.uuid4())
        if step_id in session["steps"]:
            raise _conflict(f"Invocation step '{step_id}' already exists in session '{session['sessionId']}'")
        session["steps"][step_id] = {
            "invocationStepId": step_id, "invocationId": invocation_id,
            "invocationStepTime": round(float(params["invocationStepTime"]), 3), "seq": self._next_seq(),
            "payload": self._store_payload(params["payload"]),
        }
        self._touch(session)
        return {"invocationStepId": step_id}

    def GetInvocationStep(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        session = self._session(params["sessionIdentifier"])
        step = session["steps"].get(params["invocationStepId"])
        if step is None or step["invocationId"] != params["invocationIdentifier"]:
            raise not_found(
                f"Invocation step '{params['invocationStepId']}' not found in invocation "
                f"'{params['invocationIdentifier']}' of session '{session['sessionId']}'")
        return {"invocationStep": {
            "invocationId": step["invocationId"], "invocationStepId": step["invocationStepId"],
            "invocationStepTime": step["invocationStepTime"], "sessionId": session["sessionId"],
            "payload": self._load_payload(step["payload"]),
        }}

    def ListInvocationSteps(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        session = self._session(params["sessionIdentifier"])
        steps = list(session["steps"].values())
        invocation_id = params.get("invocationIdentifier")
        if invocation_id is not None:
            if invocation_id not in session["invocations"]:
                raise not_found(f"Invocation '{invocation_id}' not found in session '{session['sessionId']}'")
            steps = [s for s in steps if s["invocationId"] == invocation_id]
        page, token = self._page("ListInvocationSteps", params, steps, lambda s: (s["invocationStepTime"], s["seq"]))
        out: dict[str, Any] = {"invocationStepSummaries": [
            {"invocationId": s["invocationId"], "invocationStepId": s["invocationStepId"],
             "invocationStepTime": s["invocationStepTime"], "sessionId": session["sessionId"]}
            for s in page
        ]}
        if token:
            out["nextToken"] = token
        return out


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)
