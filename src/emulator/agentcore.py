"""The AgentCore Memory data plane (boto3 service ``bedrock-agentcore``): events, sessions, actors, records.

What it reproduces, where the model and the AWS API reference say so:

- Events are immutable and scoped by memory, actor and session. ``eventId`` has
  the documented pattern ``[0-9]+#[a-fA-F0-9]+`` (the millisecond timestamp, then
  hex). ``sessionId`` is generated when CreateEvent omits it.
- ListEvents pages with ``maxResults`` (default 20, at most 100) and ``nextToken``;
  ``includePayloads`` defaults to true (payloads come back as ``[]`` when false).
  The service does not document an order; this emulator answers newest first by
  ``eventTimestamp``, ties broken by arrival (option ``event_order="oldest_first"``
  reverses it, so a client can check it depends on no order).
- Branches: an event without ``branch`` is on the main branch (``main``). The first
  event of a new branch needs ``branch.rootEventId``, an event of the same session
  (ValidationException otherwise, reason ``EventInOtherSession`` when it is in
  another session); later events of the branch may omit it, and a different root is
  refused. The ``branch`` filter returns the events of that branch, and with
  ``includeParentBranches`` the events of its parent branches up to and including
  each fork's root event.
- ``eventMetadata`` filters (at most 5, all must hold): ``EQUALS_TO`` (needs
  ``right.metadataValue.stringValue``), ``EXISTS``, ``NOT_EXISTS``.
- ``clientToken`` makes CreateEvent and BatchCreateMemoryRecords idempotent: a
  retry with the same token returns the first answer, and a token reused with other
  parameters is a ValidationException (reason ``IdempotentParameterMismatchException``).
  boto3 fills the token itself, once per call, so its own retries are idempotent.
- ListSessions lists an actor's sessions newest first (``createdAt`` is the first
  event's arrival); ``filter.eventFilter = HAS_EVENTS`` keeps those with events left.
  ListActors lists a memory's actors in the order they first appeared.
- Memory records: ids ``mem-`` + 36 characters; at most one namespace per record.
  ``namespace`` selects one namespace exactly, ``namespacePath`` a hierarchy (the
  path itself and every namespace under ``path/``); exactly one of them is required
  by ListMemoryRecords and RetrieveMemoryRecords. GetMemoryRecord and
  DeleteMemoryRecord check the optional ``namespace``. Records created without
  ``memoryStrategyId`` get ``custom``. ``recordExpirySpecification`` sets
  ``expiresAt``; expired records are no longer returned.
- RetrieveMemoryRecords ranks with a deterministic relevance: the cosine similarity
  of the word counts of the query and of the record's text (0 to 1, higher is more
  relevant), ties newest first; ``topK`` (default 10) results, paged by ``maxResults``
  (default 20). ``metadataFilters`` apply all of the model's operators.
- Validation: everything the model says (see ``validation.py``), plus the size of a
  ``blob`` or ``json`` payload item, at most ``payload_item_limit`` bytes of JSON
  (default 100 KiB, the documented limit of a JSON payload; None disables it).

Memory ids: any id that matches the model's pattern (or a memory ARN) is accepted,
and the memory is created on first use, as after a CreateMemory on the control plane
(not emulated).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from .service import EmulatedService, decode_token, encode_token, not_found
from .wire import ServiceError, ValidationError

__all__ = ["AgentCoreMemoryService", "DEFAULT_STRATEGY_ID", "MAIN_BRANCH"]

MAIN_BRANCH = "main"
DEFAULT_STRATEGY_ID = "custom"
MAX_CLIENT_TOKENS = 10_000
_WORD = re.compile(r"\w+", re.UNICODE)


def _memory_key(memory_id: str) -> str:
    """The memory's id, whether the request named it by id or by ARN."""
    return memory_id.rsplit("memory/", 1)[-1] if memory_id.startswith("arn:") else memory_id


def _fingerprint(params: dict[str, Any]) -> str:
    body = {k: v for k, v in params.items() if k != "clientToken"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=repr).encode("utf-8")).hexdigest()


def _page_size(params: dict[str, Any], default: int) -> int:
    value = params.get("maxResults")
    return default if value is None else int(value)


class AgentCoreMemoryService(EmulatedService):
    """Amazon Bedrock AgentCore Memory, data plane: the operations this project calls.

    Args:
        clock: the time source (epoch seconds).
        event_order: ``"newest_first"`` (default) or ``"oldest_first"`` for ListEvents.
        payload_item_limit: the largest ``blob``/``json`` payload item, in bytes of JSON,
            or None for no limit.
    """

    service_name: ClassVar[str] = "bedrock-agentcore"
    mutating: ClassVar[frozenset[str]] = frozenset({
        "CreateEvent", "DeleteEvent", "DeleteMemoryRecord",
        "BatchCreateMemoryRecords", "BatchUpdateMemoryRecords", "BatchDeleteMemoryRecords",
    })

    def __init__(self, *, clock: Callable[[], float] | None = None, event_order: str = "newest_first",
                 payload_item_limit: int | None = 100 * 1024) -> None:
        if event_order not in ("newest_first", "oldest_first"):
            raise ValueError("event_order must be 'newest_first' or 'oldest_first'")
        if clock is None:
            super().__init__()
        else:
            super().__init__(clock=clock)
        self.event_order = event_order
        self.payload_item_limit = payload_item_limit

    def empty_state(self) -> dict[str, Any]:
        return {"seq": 0, "memories": {}}

    # -- state helpers -------------------------------------------------------------------

    def _next_seq(self) -> int:
        self.state["seq"] += 1
        return int(self.state["seq"])

    def _memory(self, memory_id: str) -> dict[str, Any]:
        memories = self.state["memories"]
        key = _memory_key(memory_id)
        if key not in memories:
            memories[key] = {"actors": {}, "records": {}, "tokens": {}}
        return memories[key]

    def _session(self, params: dict[str, Any], *, create: bool = False) -> dict[str, Any] | None:
        memory = self._memory(params["memoryId"])
        actors = memory["actors"]
        actor = actors.get(params["actorId"])
        if actor is None:
            if not create:
                return None
            actor = actors[params["actorId"]] = {"seq": self._next_seq(), "sessions": {}}
        session = actor["sessions"].get(params["sessionId"])
        if session is None and create:
            session = actor["sessions"][params["sessionId"]] = {
                "createdAt": self.now(), "seq": self._next_seq(), "branches": {}, "events": {},
            }
        return session

    def _idempotent(self, operation: str, params: dict[str, Any], run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run a create once per ``clientToken``; a retry gets the first answer back.

        The last ``MAX_CLIENT_TOKENS`` tokens of each memory are kept. A CreateEvent answer
        is kept without its payload, which is read back from the event on a retry.
        """
        token = params.get("clientToken")
        if not token:
            return run()
        tokens = self._memory(params["memoryId"])["tokens"]
        fingerprint = _fingerprint(params)
        key = f"{operation}:{token}"
        seen = tokens.get(key)
        if seen is not None:
            if seen["fingerprint"] != fingerprint:
                raise ValidationError(
                    f"The clientToken '{token}' was already used with different parameters",
                    reason="IdempotentParameterMismatchException",
                )
            output = seen["output"]
            if operation == "CreateEvent":
                event = dict(output["event"])
                session = self._session(event)
                stored = session["events"].get(event["eventId"]) if session else None
                event["payload"] = stored["payload"] if stored else params["payload"]
                output = {"event": event}
            return output
        output = run()
        kept = {"event": {**output["event"], "payload": None}} if operation == "CreateEvent" else output
        tokens[key] = {"fingerprint": fingerprint, "output": kept}
        while len(tokens) > MAX_CLIENT_TOKENS:
            del tokens[next(iter(tokens))]
        return output

    # -- events --------------------------------------------------------------------------

    def _event_out(self, params: dict[str, Any], event: dict[str, Any], *, payloads: bool = True) -> dict[str, Any]:
        out = {
            "memoryId": _memory_key(params["memoryId"]),
            "actorId": params["actorId"],
            "sessionId": params["sessionId"],
            "eventId": event["eventId"],
            "eventTimestamp": event["eventTimestamp"],
            "payload": event["payload"] if payloads else [],
        }
        if event.get("branch"):
            out["branch"] = event["branch"]
        if event.get("metadata"):
            out["metadata"] = event["metadata"]
        return out

    def _check_payload(self, payload: list[dict[str, Any]]) -> None:
        if self.payload_item_limit is None:
            return
        for i, item in enumerate(payload):
            for kind in ("blob", "json"):
                if kind in item:
                    size = len(json.dumps(item[kind], separators=(",", ":")).encode("utf-8"))
                    if size > self.payload_item_limit:
                        where = f"payload.{i + 1}.member.{kind}"
                        raise ValidationError(
                            f"1 validation error detected: Value at '{where}' failed to satisfy constraint: "
                            f"Member must have size less than or equal to {self.payload_item_limit} bytes (got {size})",
                            field_list=[{"name": where, "message": f"size {size} exceeds {self.payload_item_limit} bytes"}],
                        )

    def _find_event_elsewhere(self, memory: dict[str, Any], event_id: str) -> bool:
        return any(
            event_id in session["events"]
            for actor in memory["actors"].values()
            for session in actor["sessions"].values()
        )

    def _resolve_branch(self, params: dict[str, Any], session: dict[str, Any] | None) -> dict[str, Any] | None:
        branch = params.get("branch")
        if branch is None:
            return None
        name = branch["name"]
        root_id = branch.get("rootEventId")
        if name == MAIN_BRANCH:
            if root_id is not None:
                raise ValidationError("The main branch has no rootEventId")
            return {"name": name}
        known = session["branches"].get(name) if session else None
        if known is not None:
            if root_id is not None and root_id != known["rootEventId"]:
                raise ValidationError(
                    f"Branch '{name}' already exists with rootEventId '{known['rootEventId']}'",
                    reason="ResourceConflict",
                )
            return {"name": name, "rootEventId": known["rootEventId"]}
        if root_id is None:
            raise ValidationError(f"branch.rootEventId is required to create the branch '{name}'")
        root = session["events"].get(root_id) if session else None
        if root is None:
            if self._find_event_elsewhere(self._memory(params["memoryId"]), root_id):
                raise ValidationError(f"The root event '{root_id}' belongs to another session",
                                      reason="EventInOtherSession")
            raise not_found(f"The root event '{root_id}' was not found in session '{params['sessionId']}'")
        return {"name": name, "rootEventId": root_id}

    def CreateEvent(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 - the operation's name
        requested = params
        if not params.get("sessionId"):
            params = {**params, "sessionId": str(uuid.uuid4())}
        self._check_payload(params["payload"])

        def run() -> dict[str, Any]:
            existing = self._session(params)
            branch = self._resolve_branch(params, existing)
            session = self._session(params, create=True)
            assert session is not None
            seq = self._next_seq()
            timestamp = round(float(params["eventTimestamp"]), 3)
            event_id = f"{max(0, int(timestamp * 1000)):019d}#{secrets.token_hex(4)}{seq:08x}"
            event: dict[str, Any] = {
                "eventId": event_id, "eventTimestamp": timestamp, "seq": seq, "payload": params["payload"],
            }
            if branch is not None:
                event["branch"] = branch
                name = branch["name"]
                if name != MAIN_BRANCH and name not in session["branches"]:
                    root = session["events"][branch["rootEventId"]]
                    session["branches"][name] = {
                        "rootEventId": root["eventId"],
                        "parent": (root.get("branch") or {}).get("name", MAIN_BRANCH),
                        "rootKey": [root["eventTimestamp"], root["seq"]],
                    }
            if params.get("metadata"):
                event["metadata"] = params["metadata"]
            session["events"][event_id] = event
            return {"event": self._event_out(params, event)}

        # The fingerprint is of the request as sent: a retry must not differ by a generated sessionId.
        return self._idempotent("CreateEvent", requested, run)

    def _get_event(self, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        session = self._session(params)
        event = session["events"].get(params["eventId"]) if session else None
        if session is None or event is None:
            raise not_found(
                f"Event '{params['eventId']}' not found in session '{params['sessionId']}' of actor '{params['actorId']}'"
            )
        return session, event

    def GetEvent(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        _, event = self._get_event(params)
        return {"event": self._event_out(params, event)}

    def DeleteEvent(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        session, event = self._get_event(params)
        del session["events"][event["eventId"]]
        return {"eventId": event["eventId"]}

    def _branch_events(self, session: dict[str, Any], name: str, with_parents: bool) -> list[dict[str, Any]]:
        def on(branch_name: str) -> Iterable[dict[str, Any]]:
            for event in session["events"].values():
                if (event.get("branch") or {}).get("name", MAIN_BRANCH) == branch_name:
                    yield event

        selected = list(on(name))
        if not with_parents or name == MAIN_BRANCH:
            return selected
        seen = {name}
        current = session["branches"].get(name)
        while current is not None:
            parent = current["parent"]
            if parent in seen:
                break
            seen.add(parent)
            limit = tuple(current["rootKey"])
            selected.extend(e for e in on(parent) if (e["eventTimestamp"], e["seq"]) <= limit)
            current = session["branches"].get(parent) if parent != MAIN_BRANCH else None
        return selected

    @staticmethod
    def _metadata_matches(event: dict[str, Any], expressions: list[dict[str, Any]]) -> bool:
        metadata = event.get("metadata") or {}
        for expression in expressions:
            key = expression["left"].get("metadataKey")
            operator = expression["operator"]
            present = key in metadata
            if operator == "EXISTS" and not present:
                return False
            if operator == "NOT_EXISTS" and present:
                return False
            if operator == "EQUALS_TO":
                wanted = ((expression.get("right") or {}).get("metadataValue") or {}).get("stringValue")
                if not present or metadata[key].get("stringValue") != wanted:
                    return False
        return True

    def ListEvents(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        filters = params.get("filter") or {}
        for i, expression in enumerate(filters.get("eventMetadata") or []):
            if "metadataKey" not in expression["left"]:
                raise ValidationError(f"filter.eventMetadata.{i + 1}.member.left needs metadataKey")
            if expression["operator"] == "EQUALS_TO" and "stringValue" not in (
                (expression.get("right") or {}).get("metadataValue") or {}
            ):
                raise ValidationError(
                    f"filter.eventMetadata.{i + 1}.member.right.metadataValue.stringValue is required by EQUALS_TO"
                )
        scope = "ListEvents:" + _fingerprint({k: v for k, v in params.items() if k not in ("nextToken", "maxResults")})
        position = decode_token(params.get("nextToken"), scope)
        session = self._session(params)
        if session is None:
            return {"events": []}
        branch = filters.get("branch")
        if branch is not None:
            events = self._branch_events(session, branch["name"], bool(branch.get("includeParentBranches")))
        else:
            events = list(session["events"].values())
        if filters.get("eventMetadata"):
            events = [e for e in events if self._metadata_matches(e, filters["eventMetadata"])]
        newest_first = self.event_order == "newest_first"
        events.sort(key=lambda e: (e["eventTimestamp"], e["seq"]), reverse=newest_first)
        if position is not None:
            after = tuple(position)
            if newest_first:
                events = [e for e in events if (e["eventTimestamp"], e["seq"]) < after]
            else:
                events = [e for e in events if (e["eventTimestamp"], e["seq"]) > after]
        size = _page_size(params, 20)
        page = events[:size]
        payloads = params.get("includePayloads", True)
        out: dict[str, Any] = {"events": [self._event_out(params, e, payloads=payloads) for e in page]}
        if len(events) > size:
            last = page[-1]
            out["nextToken"] = encode_token(scope, [last["eventTimestamp"], last["seq"]])
        return out

    def ListSessions(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        scope = "ListSessions:" + _fingerprint({k: v for k, v in params.items() if k not in ("nextToken", "maxResults")})
        position = decode_token(params.get("nextToken"), scope)
        actor = self._memory(params["memoryId"])["actors"].get(params["actorId"])
        sessions = list(actor["sessions"].items()) if actor else []
        if ((params.get("filter") or {}).get("eventFilter")) == "HAS_EVENTS":
            sessions = [(sid, s) for sid, s in sessions if s["events"]]
        sessions.sort(key=lambda item: (item[1]["createdAt"], item[1]["seq"]), reverse=True)
        if position is not None:
            sessions = [(sid, s) for sid, s in sessions if (s["createdAt"], s["seq"]) < tuple(position)]
        size = _page_size(params, 20)
        page = sessions[:size]
        out: dict[str, Any] = {"sessionSummaries": [
            {"sessionId": sid, "actorId": params["actorId"], "createdAt": s["createdAt"]} for sid, s in page
        ]}
        if len(sessions) > size:
            out["nextToken"] = encode_token(scope, [page[-1][1]["createdAt"], page[-1][1]["seq"]])
        return out

    def ListActors(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        scope = "ListActors:" + _memory_key(params["memoryId"])
        position = decode_token(params.get("nextToken"), scope)
        actors = sorted(self._memory(params["memoryId"])["actors"].items(), key=lambda item: item[1]["seq"])
        if position is not None:
            actors = [(aid, a) for aid, a in actors if a["seq"] > position]
        size = _page_size(params, 20)
        page = actors[:size]
        out: dict[str, Any] = {"actorSummaries": [{"actorId": aid} for aid, _ in page]}
        if len(actors) > size:
            out["nextToken"] = encode_token(scope, page[-1][1]["seq"])
        return out

    # -- memory records ------------------------------------------------------------------

    @staticmethod
    def _record_out(record: dict[str, Any], score: float | None = None) -> dict[str, Any]:
        out = {k: v for k, v in record.items() if k != "seq" and v is not None}
        if score is not None:
            out["score"] = score
        return out

    def _live_records(self, memory_id: str) -> list[dict[str, Any]]:
        now = self.now()
        records = self._memory(memory_id)["records"].values()
        return [r for r in records if r.get("expiresAt") is None or r["expiresAt"] > now]

    def _get_record(self, params: dict[str, Any], record_id: str, namespace: str | None) -> dict[str, Any] | None:
        record = self._memory(params["memoryId"])["records"].get(record_id)
        if record is None:
            return None
        if record.get("expiresAt") is not None and record["expiresAt"] <= self.now():
            return None
        if namespace is not None and namespace not in record["namespaces"]:
            return None
        return record

    @staticmethod
    def _scope(params: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
        namespace = params.get("namespace")
        path = params.get("namespacePath")
        if (namespace is None) == (path is None):
            raise ValidationError("Exactly one of namespace or namespacePath is required")
        if namespace is not None:
            return lambda record: namespace in record["namespaces"]
        assert path is not None
        prefix = path if path.endswith("/") else path + "/"
        return lambda record: any(ns == path or ns.startswith(prefix) for ns in record["namespaces"])

    @staticmethod
    def _record_filters_match(record: dict[str, Any], expressions: list[dict[str, Any]]) -> bool:
        metadata = record.get("metadata") or {}
        for expression in expressions:
            key = expression["left"].get("metadataKey")
            operator = expression["operator"]
            value = metadata.get(key)
            if operator == "EXISTS":
                if value is None:
                    return False
                continue
            if operator == "NOT_EXISTS":
                if value is not None:
                    return False
                continue
            wanted = (expression.get("right") or {}).get("metadataValue")
            if value is None or wanted is None or not _compare(operator, value, wanted):
                return False
        return True

    def _select_records(self, params: dict[str, Any], strategy: str | None,
                        filters: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        in_scope = self._scope(params)
        records = [r for r in self._live_records(params["memoryId"]) if in_scope(r)]
        if strategy is not None:
            records = [r for r in records if r["memoryStrategyId"] == strategy]
        if filters:
            records = [r for r in records if self._record_filters_match(r, filters)]
        return records

    def ListMemoryRecords(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        scope = "ListMemoryRecords:" + _fingerprint({k: v for k, v in params.items() if k not in ("nextToken", "maxResults")})
        position = decode_token(params.get("nextToken"), scope)
        records = self._select_records(params, params.get("memoryStrategyId"), params.get("metadataFilters"))
        records.sort(key=lambda r: r["seq"], reverse=True)
        if position is not None:
            records = [r for r in records if r["seq"] < position]
        size = _page_size(params, 20)
        page = records[:size]
        out: dict[str, Any] = {"memoryRecordSummaries": [self._record_out(r) for r in page]}
        if len(records) > size:
            out["nextToken"] = encode_token(scope, page[-1]["seq"])
        return out

    def RetrieveMemoryRecords(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        scope = "RetrieveMemoryRecords:" + _fingerprint({k: v for k, v in params.items() if k not in ("nextToken", "maxResults")})
        position = decode_token(params.get("nextToken"), scope)
        criteria = params["searchCriteria"]
        records = self._select_records(params, criteria.get("memoryStrategyId"), criteria.get("metadataFilters"))
        query = Counter(w.lower() for w in _WORD.findall(criteria["searchQuery"]))
        scored = [(relevance(query, r["content"].get("text", "")), r) for r in records]
        scored.sort(key=lambda item: (item[0], item[1]["seq"]), reverse=True)
        scored = scored[: int(criteria.get("topK") or 10)]
        offset = int(position or 0)
        size = _page_size(params, 20)
        page = scored[offset:offset + size]
        out: dict[str, Any] = {"memoryRecordSummaries": [self._record_out(r, score) for score, r in page]}
        if offset + size < len(scored):
            out["nextToken"] = encode_token(scope, offset + size)
        return out

    def GetMemoryRecord(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        record = self._get_record(params, params["memoryRecordId"], params.get("namespace"))
        if record is None:
            raise not_found(f"Memory record '{params['memoryRecordId']}' not found")
        return {"memoryRecord": self._record_out(record)}

    def DeleteMemoryRecord(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        record = self._get_record(params, params["memoryRecordId"], params.get("namespace"))
        if record is None:
            raise not_found(f"Memory record '{params['memoryRecordId']}' not found")
        del self._memory(params["memoryId"])["records"][record["memoryRecordId"]]
        return {"memoryRecordId": record["memoryRecordId"]}

    def _expiry(self, params: dict[str, Any], created: float) -> tuple[bool, float | None]:
        spec = params.get("recordExpirySpecification")
        if spec is None:
            return False, None
        if spec.get("action") == "REMOVE":
            return True, None
        return True, created + int(spec["recordExpiryDurationDays"]) * 86400

    def BatchCreateMemoryRecords(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        def run() -> dict[str, Any]:
            records = self._memory(params["memoryId"])["records"]
            succeeded: list[dict[str, Any]] = []
            failed: list[dict[str, Any]] = []
            seen: set[str] = set()
            for item in params["records"]:
                record_id = f"mem-{uuid.uuid4()}"
                request_id = item["requestIdentifier"]
                if request_id in seen:
                    failed.append({"memoryRecordId": record_id, "status": "FAILED", "requestIdentifier": request_id,
                                   "errorCode": 400, "errorMessage": f"Duplicate requestIdentifier '{request_id}'"})
                    continue
                seen.add(request_id)
                created = self.now()
                _, expires = self._expiry(params, created)
                records[record_id] = {
                    "memoryRecordId": record_id,
                    "content": item["content"],
                    "memoryStrategyId": item.get("memoryStrategyId") or DEFAULT_STRATEGY_ID,
                    "namespaces": list(item["namespaces"]),
                    "createdAt": created,
                    "timestamp": item["timestamp"],
                    "metadata": item.get("metadata"),
                    "expiresAt": expires,
                    "seq": self._next_seq(),
                }
                succeeded.append({"memoryRecordId": record_id, "status": "SUCCEEDED", "requestIdentifier": request_id})
            return {"successfulRecords": succeeded, "failedRecords": failed}

        return self._idempotent("BatchCreateMemoryRecords", params, run)

    def BatchUpdateMemoryRecords(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        succeeded: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for item in params["records"]:
            record_id = item["memoryRecordId"]
            record = self._get_record(params, record_id, None)
            sources = item.get("sourceNamespaces")
            if record is not None and sources and not set(sources) & set(record["namespaces"]):
                record = None
            if record is None:
                failed.append({"memoryRecordId": record_id, "status": "FAILED", "errorCode": 404,
                               "errorMessage": f"Memory record '{record_id}' not found"})
                continue
            for field in ("content", "memoryStrategyId", "metadata"):
                if item.get(field) is not None:
                    record[field] = item[field]
            if item.get("namespaces") is not None:
                record["namespaces"] = list(item["namespaces"])
            record["timestamp"] = item["timestamp"]
            changed, expires = self._expiry(params, self.now())
            if changed:
                record["expiresAt"] = expires
            succeeded.append({"memoryRecordId": record_id, "status": "SUCCEEDED"})
        return {"successfulRecords": succeeded, "failedRecords": failed}

    def BatchDeleteMemoryRecords(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        records = self._memory(params["memoryId"])["records"]
        succeeded: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for item in params["records"]:
            record_id = item["memoryRecordId"]
            if self._get_record(params, record_id, item.get("namespace")) is None:
                failed.append({"memoryRecordId": record_id, "status": "FAILED", "errorCode": 404,
                               "errorMessage": f"Memory record '{record_id}' not found"})
                continue
            del records[record_id]
            succeeded.append({"memoryRecordId": record_id, "status": "SUCCEEDED"})
        return {"successfulRecords": succeeded, "failedRecords": failed}


def relevance(query: Counter[str], text: str) -> float:
    """Cosine similarity of word counts, rounded to 6 places: 1.0 for the same words, 0.0 for none shared."""
    words = Counter(w.lower() for w in _WORD.findall(text))
    if not query or not words:
        return 0.0
    dot = sum(count * words[word] for word, count in query.items())
    norm = math.sqrt(sum(c * c for c in query.values())) * math.sqrt(sum(c * c for c in words.values()))
    return round(dot / norm, 6)


def _compare(operator: str, value: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """One metadata filter expression on a record's metadata value (unions of one member each)."""
    if operator == "EQUALS_TO":
        return value == wanted
    if operator == "CONTAINS":
        needle = wanted.get("stringValue")
        if needle is None:
            return False
        if "stringListValue" in value:
            return needle in value["stringListValue"]
        if "stringValue" in value:
            return needle in value["stringValue"]
        return False
    if operator in ("BEFORE", "AFTER"):
        if "dateTimeValue" not in value or "dateTimeValue" not in wanted:
            return False
        left, right = value["dateTimeValue"], wanted["dateTimeValue"]
        return bool(left < right) if operator == "BEFORE" else bool(left > right)
    if "numberValue" not in value or "numberValue" not in wanted:
        return False
    left, right = value["numberValue"], wanted["numberValue"]
    checks: dict[str, bool] = {
        "GREATER_THAN": left > right,
        "GREATER_THAN_OR_EQUALS": left >= right,
        "LESS_THAN": left < right,
        "LESS_THAN_OR_EQUALS": left <= right,
    }
    if operator not in checks:
        raise ServiceError("ValidationException", f"Unknown operator {operator}", reason="FieldValidationFailed")
    return checks[operator]
