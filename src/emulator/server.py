"""The HTTP server: AWS requests routed to emulated services, plus the ``/_emulator`` control endpoints."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .agentcore import AgentCoreMemoryService
from .bedrock_sessions import BedrockSessionsService
from .service import EmulatedService
from .wire import Router, ServiceError, error_response, parse_request, serialize_output

__all__ = ["Emulator", "Fault"]

logger = logging.getLogger(__name__)

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,]+/[^/,]+/[^/,]+/([^/,]+)/aws4_request")
_GENERIC_STATUS = {
    "ThrottlingException": 400,
    "ServiceUnavailableException": 503,
    "ServiceUnavailable": 503,
    "InternalServerException": 500,
    "InternalFailure": 500,
}


class Fault:
    """One injected fault: the next ``count`` matching calls fail (or are delayed).

    Args:
        operation: the operation's name (``CreateEvent``).
        error: the error code to answer with (an error shape of the service, e.g.
            ``ThrottledException``, ``RetryableConflictException``, or any code with
            ``status``); None with ``delay`` only slows the call down.
        count: how many calls fail; None for every call until the faults are cleared.
        service: restrict to one service (botocore name); None for any.
        message: the error message.
        status: the HTTP status; by default the error shape's, else 400.
        when: ``"before"`` fails the call without running it; ``"after"`` runs it
            (state changes) and then answers the error, as when a response is lost.
        skip: let this many matching calls through first.
        delay: seconds to wait before answering.
    """

    def __init__(self, operation: str, error: str | None = None, *, count: int | None = 1, service: str | None = None,
                 message: str | None = None, status: int | None = None, when: str = "before", skip: int = 0,
                 delay: float = 0.0) -> None:
        if when not in ("before", "after"):
            raise ValueError("when must be 'before' or 'after'")
        if error is None and delay <= 0:
            raise ValueError("a fault needs an error or a delay")
        if count is not None and count < 1:
            raise ValueError("count must be at least 1 (or None for every call)")
        self.operation = operation
        self.error = error
        self.count = count
        self.service = service
        self.message = message or f"Injected {error or 'delay'} for {operation}"
        self.status = status
        self.when = when
        self.skip = skip
        self.delay = delay

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        known = {"operation", "error", "count", "service", "message", "status", "when", "skip", "delay"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        if "operation" not in data:
            raise ValueError("a fault needs an operation")
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation, "error": self.error, "count": self.count, "service": self.service,
            "message": self.message, "status": self.status, "when": self.when, "skip": self.skip,
            "delay": self.delay,
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator: Emulator

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Drop every open (keep-alive) connection, as a server that goes away does."""
        with self.connections_lock:
            connections = list(self.connections)
            self.connections.clear()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Emulator:
    """A local emulator of the AWS APIs this project uses, on one HTTP port.

    Use it in-process (``with Emulator() as emu: boto3.client(..., endpoint_url=emu.endpoint_url)``)
    or as ``python -m langgraph_checkpoint_aws.emulator``.

    Args:
        host: the address to bind (keep it on loopback).
        port: the port, 0 for one the OS picks (read ``port`` after ``start``).
        data_dir: a directory to persist each service's state to (``<service>.json``),
            reloaded on start; None keeps everything in memory.
        services: the emulated services; by default AgentCore Memory's data plane and
            Bedrock session management (``bedrock-agent-runtime``).
        flush_interval: seconds between writes of changed state to ``data_dir``
            (``stop`` always writes).
        verbose: log every request to stderr.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, data_dir: str | os.PathLike[str] | None = None,
                 services: Sequence[EmulatedService] | None = None, flush_interval: float = 0.2,
                 verbose: bool = False) -> None:
        self.host = host
        self.requested_port = port
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.services: list[EmulatedService] = (
            list(services) if services is not None else [AgentCoreMemoryService(), BedrockSessionsService()]
        )
        names = [s.service_name for s in self.services]
        if len(set(names)) != len(names):
            raise ValueError(f"each service can be emulated once: {names}")
        self.routers = {s.service_name: Router(s.model) for s in self.services}
        self.flush_interval = flush_interval
        self.verbose = verbose
        self._faults: list[Fault] = []
        self._calls: dict[str, dict[str, int]] = {}
        self._control = threading.Lock()
        self._dirty: set[str] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._flusher: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return int(self._server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        """``http://host:port``, for boto3's ``endpoint_url``."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> Emulator:
        """Load persisted state, bind the port and serve in a background thread; ready on return."""
        if self._server is not None:
            return self
        self._load()
        server = _Server((self.host, self.requested_port), _Handler)
        server.emulator = self
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="emulator-http", daemon=True)
        self._thread.start()
        if self.data_dir is not None:
            self._flusher = threading.Thread(target=self._flush_loop, name="emulator-flush", daemon=True)
            self._flusher.start()
        return self

    def stop(self) -> None:
        """Stop serving (clients then see connection errors) and write the state to ``data_dir``."""
        server = self._server
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._flusher is not None:
            self._flusher.join(timeout=5)
        self._server = None
        self._thread = None
        self._flusher = None
        self.flush()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- persistence -----------------------------------------------------------------------

    def _state_file(self, service: EmulatedService) -> Path:
        assert self.data_dir is not None
        return self.data_dir / f"{service.service_name}.json"

    def _load(self) -> None:
        if self.data_dir is None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for service in self.services:
            path = self._state_file(service)
            if path.exists():
                service.restore(json.loads(path.read_text(encoding="utf-8")))

    def flush(self) -> None:
        """Write the state of every changed service to ``data_dir`` (atomically, file by file)."""
        if self.data_dir is None:
            return
        with self._control:
            dirty, self._dirty = self._dirty, set()
        for service in self.services:
            if service.service_name not in dirty:
                continue
            path = self._state_file(service)
            data = json.dumps(service.snapshot(), separators=(",", ":"))
            fd, tmp = tempfile.mkstemp(dir=self.data_dir, prefix=f".{service.service_name}.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(data)
            os.replace(tmp, path)

    def _flush_loop(self) -> None:
        while not self._stopping.wait(self.flush_interval):
            try:
                self.flush()
            except OSError:
                logger.exception("could not write the emulator state")

    def _mark_dirty(self, service: EmulatedService) -> None:
        with self._control:
            self._dirty.add(service.service_name)

    # -- control ---------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget all state, faults and call counts (and the persisted state)."""
        for service in self.services:
            service.reset()
            self._mark_dirty(service)
        with self._control:
            self._faults.clear()
            self._calls.clear()
        self.flush()

    def add_fault(self, operation: str, error: str | None = None, **options: Any) -> Fault:
        """Inject a fault (see ``Fault``); faults apply in the order they were added."""
        fault = Fault(operation, error, **options)
        with self._control:
            self._faults.append(fault)
        return fault

    def faults(self) -> list[Fault]:
        with self._control:
            return list(self._faults)

    def clear_faults(self) -> None:
        with self._control:
            self._faults.clear()

    def calls(self) -> dict[str, dict[str, int]]:
        """Calls received per service and operation (failed and faulted ones included)."""
        with self._control:
            return {service: dict(ops) for service, ops in self._calls.items()}

    def call_count(self, operation: str | None = None, service: str | None = None) -> int:
        """Calls of one operation (or of all), over one service (or all)."""
        total = 0
        for name, ops in self.calls().items():
            if service is not None and name != service:
                continue
            total += sum(n for op, n in ops.items() if operation is None or op == operation)
        return total

    def reset_calls(self) -> None:
        with self._control:
            self._calls.clear()

    def _count(self, service: str, operation: str) -> None:
        with self._control:
            ops = self._calls.setdefault(service, {})
            ops[operation] = ops.get(operation, 0) + 1

    def _take_fault(self, service: str, operation: str) -> Fault | None:
        with self._control:
            for fault in self._faults:
                if fault.operation != operation or (fault.service is not None and fault.service != service):
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    # -- AWS dispatch ----------------------------------------------------------------------

    def _candidates(self, authorization: str | None) -> Iterable[EmulatedService]:
        signed = None
        if authorization:
            found = _CREDENTIAL_SCOPE.search(authorization)
            signed = found.group(1) if found else None
        first = [s for s in self.services if s.signing_name == signed]
        return first + [s for s in self.services if s not in first]

    def dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Answer one AWS API request: status, headers, body."""
        split = urlsplit(target)
        query = parse_qs(split.query, keep_blank_values=True)
        for service in self._candidates(headers.get("authorization") or headers.get("Authorization")):
            matched = self.routers[service.service_name].match(method, split.path, query)
            if matched is not None:
                operation, labels = matched
                return self._call(service, operation, labels, query, headers, body)
        return error_response(None, ServiceError(
            "UnknownOperationException", f"No emulated operation answers {method} {split.path}", status=404))

    def _call(self, service: EmulatedService, operation: Any, labels: dict[str, str], query: dict[str, list[str]],
              headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        name = operation.name
        self._count(service.service_name, name)
        fault = self._take_fault(service.service_name, name)
        if fault is not None and fault.delay > 0:
            time.sleep(fault.delay)
        if fault is not None and fault.error is not None and fault.when == "before":
            return self._fault_response(service, fault)
        handler = service.handler(name)
        if handler is None:
            return error_response(service.model, ServiceError(
                "NotImplementedException", f"The emulator does not implement {service.service_name} {name}",
                status=501))
        try:
            request = parse_request(operation, labels, query, headers, body)
            with service.lock:
                output = handler(request.params)
                if name in service.mutating:
                    self._mark_dirty(service)
        except ServiceError as error:
            return error_response(service.model, error)
        except Exception as exc:  # noqa: BLE001 - a bug in the emulator answers as the service's fault
            traceback.print_exc(file=sys.stderr)
            return error_response(service.model, ServiceError(
                "ServiceException", f"Emulator failure: {exc!r}", status=500))
        if fault is not None and fault.error is not None:
            return self._fault_response(service, fault)
        return serialize_output(operation, output)

    @staticmethod
    def _fault_response(service: EmulatedService, fault: Fault) -> tuple[int, dict[str, str], bytes]:
        assert fault.error is not None
        status = fault.status
        if status is None and fault.error not in service.model.shape_names:
            status = _GENERIC_STATUS.get(fault.error, 400)
        return error_response(service.model, ServiceError(fault.error, fault.message, status=status))

    # -- control endpoints -----------------------------------------------------------------

    def control(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        """Answer ``/_emulator/...``: reset, faults and call counts."""
        if path == "/_emulator/reset" and method == "POST":
            self.reset()
            return 200, {"reset": True}
        if path == "/_emulator/faults":
            if method == "GET":
                return 200, {"faults": [f.to_json() for f in self.faults()]}
            if method == "DELETE":
                self.clear_faults()
                return 200, {"faults": []}
            if method == "POST":
                try:
                    data = json.loads(body or b"{}")
                    items = data if isinstance(data, list) else [data]
                    faults = [Fault.from_json(item) for item in items]
                except (ValueError, TypeError) as exc:
                    return 400, {"error": str(exc)}
                with self._control:
                    self._faults.extend(faults)
                return 200, {"faults": [f.to_json() for f in self.faults()]}
        if path == "/_emulator/calls":
            if method == "GET":
                return 200, {"calls": self.calls()}
            if method == "DELETE":
                self.reset_calls()
                return 200, {"calls": {}}
        if path == "/_emulator/flush" and method == "POST":
            self.flush()
            return 200, {"flushed": True}
        return 404, {"error": f"no control endpoint {method} {path}"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed-ACK stall per call
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if self.server.emulator.verbose:
            super().log_message(format, *args)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        body = self._read_body()
        emulator = self.server.emulator
        path = urlsplit(self.path).path
        if path == "/ping":
            self._send(200, {"Content-Type": "application/json"}, b'{"status":"ok"}')
            return
        if path.startswith("/_emulator/"):
            status, data = emulator.control(self.command, path, body)
            self._send(status, {"Content-Type": "application/json"}, json.dumps(data).encode("utf-8"))
            return
        headers = {key: value for key, value in self.headers.items()}
        status, response_headers, response_body = emulator.dispatch(self.command, self.path, headers, body)
        self._send(status, response_headers, response_body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle
