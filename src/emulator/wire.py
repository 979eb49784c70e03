"""The REST-JSON wire format, driven by a botocore service model: routing, request parsing, responses."""

from __future__ import annotations

import base64
import datetime
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape, StructureShape

from .validation import FieldError, parse_timestamp, validate

__all__ = [
    "ServiceError",
    "ValidationError",
    "Route",
    "Router",
    "ParsedRequest",
    "load_service_model",
    "parse_request",
    "serialize_output",
    "error_response",
]


class ServiceError(Exception):
    """An error the emulated service answers with, named by one of the model's error shapes.

    Args:
        code: the error shape's name (``ResourceNotFoundException``), sent as ``__type``
            and in the ``x-amzn-ErrorType`` header.
        message: a human-readable message.
        status: the HTTP status; by default the error shape's ``httpStatusCode``.
        fields: extra members of the error shape (``reason``, ``fieldList``...).
    """

    def __init__(self, code: str, message: str, *, status: int | None = None, **fields: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields


class ValidationError(ServiceError):
    """A request the service refuses: ``ValidationException`` with the AWS-style message."""

    def __init__(self, message: str, *, reason: str = "FieldValidationFailed",
                 field_list: list[dict[str, str]] | None = None) -> None:
        fields: dict[str, Any] = {"reason": reason}
        if field_list:
            fields["fieldList"] = field_list
        super().__init__("ValidationException", message, **fields)

    @classmethod
    def from_field_errors(cls, errors: list[FieldError]) -> ValidationError:
        count = len(errors)
        head = f"{count} validation error{'s' if count > 1 else ''} detected: "
        return cls(
            head + "; ".join(e.message for e in errors),
            field_list=[{"name": e.path, "message": e.constraint} for e in errors],
        )


def load_service_model(service_name: str) -> ServiceModel:
    """The botocore service model shipped with the installed botocore."""
    return botocore.session.get_session().get_service_model(service_name)


class Route:
    """One operation's ``method`` + ``requestUri`` as a regular expression over the raw path."""

    def __init__(self, operation: OperationModel) -> None:
        self.operation = operation
        self.method = operation.http["method"].upper()
        uri = operation.http["requestUri"]
        path, _, query = uri.partition("?")
        self.fixed_query = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        self.labels: list[str] = []
        pattern = ""
        literal = 0
        for piece in re.split(r"(\{[^}]+\})", _strip_slash(path)):
            if piece.startswith("{"):
                name = piece[1:-1]
                greedy = name.endswith("+")
                name = name.rstrip("+")
                self.labels.append(name)
                pattern += "(.+)" if greedy else "([^/]+)"
            else:
                literal += len(piece)
                pattern += re.escape(piece)
        self.regex = re.compile(pattern + r"\Z")
        # More literal characters first: "/x/batchCreate" beats "/x/{id}".
        self.specificity = (literal, -len(self.labels))

    def match(self, method: str, raw_path: str, query: Mapping[str, list[str]]) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = self.regex.match(_strip_slash(raw_path))
        if found is None:
            return None
        for key, value in self.fixed_query.items():
            if key not in query or (value and query[key][0] != value):
                return None
        return {label: unquote(found.group(i + 1)) for i, label in enumerate(self.labels)}


def _strip_slash(path: str) -> str:
    return path.rstrip("/") or "/"


class Router:
    """Every operation of a service model, routed by method and path template."""

    def __init__(self, model: ServiceModel) -> None:
        self.model = model
        routes = [Route(model.operation_model(name)) for name in model.operation_names]
        self.routes = sorted(routes, key=lambda r: r.specificity, reverse=True)

    def match(self, method: str, raw_path: str, query: Mapping[str, list[str]]) -> tuple[OperationModel, dict[str, str]] | None:
        for route in self.routes:
            labels = route.match(method, raw_path, query)
            if labels is not None:
                return route.operation, labels
        return None


class ParsedRequest:
    """An operation's input, parsed from the HTTP request, validated and converted to Python values.

    Timestamps become float epoch seconds, blobs bytes; everything else keeps its JSON form.
    """

    def __init__(self, operation: OperationModel, params: dict[str, Any]) -> None:
        self.operation = operation
        self.params = params


def parse_request(
    operation: OperationModel,
    labels: Mapping[str, str],
    query: Mapping[str, list[str]],
    headers: Mapping[str, str],
    body: bytes,
) -> ParsedRequest:
    """Build the operation's input from URI labels, query string, headers and JSON body, then validate it."""
    shape = operation.input_shape
    raw: dict[str, Any] = {}
    if shape is None:
        return ParsedRequest(operation, raw)
    assert isinstance(shape, StructureShape)
    lower_headers = {k.lower(): v for k, v in headers.items()}
    body_members: dict[str, Shape] = {}
    errors: list[FieldError] = []
    payload_member = shape.serialization.get("payload")
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", name)
        if location == "uri":
            if wire_name in labels:
                raw[name] = _from_text(member, labels[wire_name], name, errors)
        elif location == "querystring":
            if member.type_name == "map":
                raw[name] = {k: (v if member.value.type_name == "list" else v[0]) for k, v in query.items()}
            elif wire_name in query:
                values = query[wire_name]
                if member.type_name == "list":
                    raw[name] = [_from_text(member.member, v, name, errors) for v in values]
                else:
                    raw[name] = _from_text(member, values[0], name, errors)
        elif location == "header":
            if wire_name.lower() in lower_headers:
                raw[name] = _from_header(member, lower_headers[wire_name.lower()], name, errors)
        elif location == "headers":
            prefix = wire_name.lower()
            found = {k[len(prefix):]: v for k, v in lower_headers.items() if k.startswith(prefix)}
            if found:
                raw[name] = found
        elif location == "statusCode":
            continue
        elif payload_member is not None and name == payload_member:
            if member.type_name in ("blob", "string"):
                raw[name] = body if member.type_name == "blob" else body.decode("utf-8")
            else:
                raw[name] = _json_body(body)
        else:
            body_members[name] = member
    if payload_member is None and body_members:
        document = _json_body(body)
        if not isinstance(document, dict):
            raise ValidationError("The request body must be a JSON object", reason="CannotParse")
        for name, member in body_members.items():
            wire_name = member.serialization.get("name", name)
            if wire_name in document:
                raw[name] = _from_json_names(member, document[wire_name])
    if errors:
        raise ValidationError.from_field_errors(errors)
    converted, errors = validate(shape, raw)
    if errors:
        raise ValidationError.from_field_errors(errors)
    return ParsedRequest(operation, converted)


def _json_body(body: bytes) -> Any:
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ValidationError(f"Could not parse the request body as JSON: {exc}", reason="CannotParse") from exc


def _from_json_names(shape: Shape, value: Any) -> Any:
    """Rename JSON keys that use a member's ``locationName`` back to member names."""
    if isinstance(shape, StructureShape) and isinstance(value, dict) and not shape.metadata.get("document"):
        renamed: dict[str, Any] = {}
        for name, member in shape.members.items():
            wire_name = member.serialization.get("name", name)
            if wire_name in value:
                renamed[name] = _from_json_names(member, value[wire_name])
        return renamed
    if shape.type_name == "list" and isinstance(value, list):
        return [_from_json_names(shape.member, v) for v in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: _from_json_names(shape.value, v) for k, v in value.items()}
    return value


def _from_text(shape: Shape, text: str, name: str, errors: list[FieldError]) -> Any:
    """A URI label or query value: typed from its text."""
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
        if kind == "boolean":
            if text not in ("true", "false"):
                raise ValueError(text)
            return text == "true"
    except ValueError:
        errors.append(FieldError(name, f"Value '{text}' at '{name}' failed to satisfy constraint: Member must be a {kind}", f"must be a {kind}"))
        return None
    return text


def _from_header(shape: Shape, text: str, name: str, errors: list[FieldError]) -> Any:
    if shape.type_name == "string" and shape.serialization.get("jsonvalue"):
        return json.loads(base64.b64decode(text))
    if shape.type_name == "timestamp":
        try:
            return parse_timestamp(text)
        except ValueError:
            errors.append(FieldError(name, f"Value '{text}' at '{name}' failed to satisfy constraint: Member must be a timestamp", "must be a timestamp"))
            return None
    return _from_text(shape, text, name, errors)


def serialize_output(operation: OperationModel, output: Mapping[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a successful response, shaped by the operation's output shape."""
    status = int(operation.http.get("responseCode", 200))
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    shape = operation.output_shape
    if shape is None:
        return status, headers, b""
    assert isinstance(shape, StructureShape)
    document: dict[str, Any] = {}
    payload_member = shape.serialization.get("payload")
    for name, member in shape.members.items():
        if name not in output or output[name] is None:
            continue
        value = output[name]
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", name)
        if location == "header":
            headers[wire_name] = _to_header(member, value)
        elif location == "headers":
            for key, item in value.items():
                headers[wire_name + key] = str(item)
        elif location == "statusCode":
            status = int(value)
        elif payload_member == name:
            if member.type_name == "blob":
                headers["Content-Type"] = "application/octet-stream"
                return status, headers, bytes(value)
            if member.type_name == "string":
                headers["Content-Type"] = "text/plain"
                return status, headers, str(value).encode("utf-8")
            headers["Content-Type"] = "application/json"
            return status, headers, json.dumps(_to_json(member, value)).encode("utf-8")
        else:
            document[wire_name] = _to_json(member, value)
    headers["Content-Type"] = "application/json"
    return status, headers, json.dumps(document).encode("utf-8")


def _to_header(shape: Shape, value: Any) -> str:
    if shape.type_name == "timestamp":
        moment = datetime.datetime.fromtimestamp(float(value), tz=datetime.timezone.utc)
        return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")
    if shape.type_name == "boolean":
        return "true" if value else "false"
    if shape.serialization.get("jsonvalue"):
        return base64.b64encode(json.dumps(value).encode("utf-8")).decode("ascii")
    return str(value)


def _to_json(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if isinstance(shape, StructureShape) and not shape.metadata.get("document"):
        result: dict[str, Any] = {}
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                result[member.serialization.get("name", name)] = _to_json(member, value[name])
        return result
    if kind == "list":
        return [_to_json(shape.member, v) for v in value]
    if kind == "map":
        return {k: _to_json(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        fmt = shape.serialization.get("timestampFormat", "unixTimestamp")
        if fmt == "iso8601":
            moment = datetime.datetime.fromtimestamp(float(value), tz=datetime.timezone.utc)
            return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return round(float(value), 3)
    if kind == "blob":
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def error_response(model: ServiceModel | None, error: ServiceError) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of an error, as botocore's rest-json parser reads them."""
    status = error.status
    if status is None and model is not None:
        try:
            status = int(model.shape_for(error.code).metadata.get("error", {}).get("httpStatusCode", 400))
        except Exception:  # noqa: BLE001 - an error code the model does not define
            status = None
    if status is None:
        status = 400
    body: dict[str, Any] = {"__type": error.code, "message": error.message}
    body.update(error.fields)
    headers = {
        "x-amzn-RequestId": str(uuid.uuid4()),
        "x-amzn-ErrorType": error.code,
        "Content-Type": "application/json",
    }
    return status, headers, json.dumps(body).encode("utf-8")
