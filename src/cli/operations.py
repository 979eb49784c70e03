"""``langgraph-aws``: one operations command line for every backend, addressed by URL.

Backends::

    memory:                                   an in-process store (for trying the commands)
    valkey://host:port/db   valkeys://...     ?cluster=1 for a cluster node, ?layout=agentcore
    dynamodb://table?region=us-east-1&s3=bucket/prefix
    s3://bucket/prefix
    agentcore://memory-id?actor=...&region=...
    bedrock-sessions://?region=...[&registry=session-id]   thread ids are session ids, or mapped by a registry

Endpoints and credentials come from the standard AWS chain, ``--profile``,
``--endpoint-url`` and ``AWS_ENDPOINT_URL``. Every subcommand goes through the
use cases of ``application.operations`` (so through the ports): a backend added
later works here once it implements them. Listing threads needs the
``ThreadLister`` capability; where a backend lacks it, name the threads.

Exit codes (as ``s3-checkpoint``): 0 success, 1 bad URI, 2 credentials, 3
backend access, 4 not found or another runtime error, 5 unexpected.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Callable, NoReturn, Optional
from urllib.parse import parse_qs, unquote, urlsplit

import click

from ..application.operations import MigrationOutcome, Operations, checkpoint_time
from ..container import create_container
from ..domain.errors import (
    BackendConnectionError,
    BackendError,
    ConfigurationError,
    NotFoundError,
    PersistenceError,
    UnsupportedOperationError,
)
from ..domain.models import ThreadKey
from ..factories import saver_class
from ..wiring.legacy import FORMATS as LEGACY_FORMATS
from ..wiring.legacy import legacy_services

__all__ = ["cli", "main", "backend_config", "SCHEMES"]

EXIT_OK, EXIT_URI, EXIT_CREDENTIALS, EXIT_ACCESS, EXIT_RUNTIME, EXIT_UNEXPECTED = 0, 1, 2, 3, 4, 5
SCHEMES = ("memory", "valkey", "valkeys", "redis", "rediss", "dynamodb", "s3", "agentcore", "bedrock-sessions")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class CliError(Exception):
    """A failure with the exit code the CLI reports."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


# -- URLs -----------------------------------------------------------------------------------------
def _aws_session(profile: Optional[str]) -> Any:
    if profile is None:
        return None
    import boto3

    return boto3.session.Session(profile_name=profile)


def _one(query: Mapping[str, list[str]], name: str) -> Optional[str]:
    values = query.get(name)
    return values[-1] if values else None


def backend_config(url: str, *, profile: Optional[str] = None, endpoint_url: Optional[str] = None) -> dict[str, Any]:
    """The ``create_container`` configuration for a backend URL.

    Raises:
        CliError: code 1 when the URL is malformed or names no known backend.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = parse_qs(parts.query)
    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    region = _one(query, "region")
    if scheme == "memory":
        return {"backend": "memory"}
    if scheme in ("valkey", "valkeys", "redis", "rediss"):
        if not parts.hostname:
            raise CliError(EXIT_URI, f"invalid Valkey URL {url!r}: expected {scheme}://host:port[/db]")
        plain = parts._replace(query="").geturl()
        section: dict[str, Any] = {"url": plain}
        if _one(query, "cluster") in ("1", "true", "yes"):
            section["cluster"] = True
        layout = _one(query, "layout")
        if layout:
            section["layout"] = layout
        return {"backend": "valkey", "valkey": section}
    if scheme == "dynamodb":
        table = parts.netloc or parts.path.lstrip("/")
        if not table:
            raise CliError(EXIT_URI, f"invalid DynamoDB URL {url!r}: expected dynamodb://table?region=...&s3=bucket/prefix")
        dynamo: dict[str, Any] = {"table_name": unquote(table), "region_name": region, "endpoint_url": endpoint}
        session = _aws_session(profile)
        if session is not None:
            dynamo["session"] = session
        s3 = _one(query, "s3")
        if s3:
            bucket, _, prefix = s3.partition("/")
            dynamo["s3_offload"] = {"bucket_name": bucket, "prefix": prefix, "endpoint_url": endpoint, "region_name": region}
        return {"backend": "dynamodb", "dynamodb": dynamo}
    if scheme == "s3":
        if not parts.netloc:
            raise CliError(EXIT_URI, f"invalid S3 URL {url!r}: expected s3://bucket/prefix")
        s3_section: dict[str, Any] = {"bucket_name": parts.netloc, "prefix": parts.path.lstrip("/")}
        _aws_fields(s3_section, region, endpoint, profile)
        return {"backend": "s3", "s3": s3_section}
    if scheme == "agentcore":
        if not parts.netloc:
            raise CliError(EXIT_URI, f"invalid AgentCore URL {url!r}: expected agentcore://memory-id?actor=...")
        agent: dict[str, Any] = {"memory_id": parts.netloc}
        actor = _one(query, "actor")
        if actor:
            agent["actor_id"] = actor
        _aws_fields(agent, region, endpoint, profile)
        return {"backend": "agentcore", "agentcore": agent}
    if scheme == "bedrock-sessions":
        sessions: dict[str, Any] = {}
        registry = _one(query, "registry")
        if registry:  # thread ids mapped to sessions through this registry session (create_missing_sessions)
            sessions.update(create_missing_sessions=True, registry_session_id=registry)
        _aws_fields(sessions, region, endpoint, profile)
        return {"backend": "bedrock_sessions", "bedrock_sessions": sessions}
    raise CliError(EXIT_URI, f"unknown backend URL {url!r}: the scheme must be one of {', '.join(s + ':' for s in SCHEMES)}")


def _aws_fields(section: dict[str, Any], region: Optional[str], endpoint: Optional[str], profile: Optional[str]) -> None:
    if region:
        section["region_name"] = region
    if endpoint:
        section["endpoint_url"] = endpoint
    session = _aws_session(profile)
    if session is not None:
        section["session"] = session


# -- errors --------------------------------------------------------------------------------------
def _codes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]


def exit_code(exc: BaseException) -> int:
    """The CLI exit code for an exception (and its causes)."""
    chain = list(_codes(exc))
    names = {type(e).__name__ for e in chain}
    if isinstance(exc, CliError):
        return exc.code
    if names & {"NoCredentialsError", "PartialCredentialsError", "ProfileNotFound", "NoRegionError",
                "UnauthorizedSSOTokenError", "TokenRetrievalError"}:  # fmt: skip
        return EXIT_CREDENTIALS
    if isinstance(exc, ConfigurationError):
        return EXIT_URI
    if isinstance(exc, NotFoundError):
        return EXIT_RUNTIME
    if isinstance(exc, (BackendConnectionError, BackendError)):
        return EXIT_ACCESS
    if isinstance(exc, (PersistenceError, UnsupportedOperationError)):
        return EXIT_RUNTIME
    return EXIT_UNEXPECTED


# -- output ----------------------------------------------------------------------------------------
def jsonable(value: Any) -> Any:
    """A JSON-ready copy of checkpoint data: bytes as base64, LangChain messages as dicts, sets as lists."""
    import base64

    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes__": base64.b64encode(bytes(value)).decode()}
    for method in ("model_dump", "dict", "_asdict"):
        fn = getattr(value, method, None)
        if callable(fn):
            try:
                return jsonable(fn())
            except TypeError:
                continue
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return repr(value)


def _tuple_json(tup: Any) -> dict[str, Any]:
    conf = tup.config["configurable"]
    return {
        "checkpoint_ns": conf.get("checkpoint_ns", ""),
        "checkpoint_id": conf["checkpoint_id"],
        "checkpoint": jsonable(tup.checkpoint),
        "metadata": jsonable(tup.metadata),
        "pending_writes": [
            {"task_id": task, "channel": channel, "value": jsonable(value)} for task, channel, value in tup.pending_writes or ()
        ],
    }


class Output:
    """Tables and progress on a terminal (rich), JSON on ``--json``."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        from rich.console import Console

        self.console = Console(stderr=False, highlight=False)
        if not self.console.is_terminal:  # piped: whole rows, not wrapped to 80 columns
            self.console.width = 240
        self.err = Console(stderr=True, highlight=False)

    def json(self, data: Any) -> None:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))

    def table(self, title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        from rich.table import Table

        table = Table(title=title, show_lines=False)
        for header in headers:
            table.add_column(header)
        for row in rows:
            table.add_row(*("" if c is None else str(c) for c in row))
        self.console.print(table)

    def progress(self, what: str, items: Sequence[Any]) -> Iterator[Any]:
        """Iterate ``items`` with a progress bar (count, rate, ETA) on stderr when it is a terminal."""
        if self.as_json or len(items) < 2 or not self.err.is_terminal:
            yield from items
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class Rate(ProgressColumn):
            def render(self, task: Any) -> Text:
                return Text(f"{task.speed:.1f}/s" if task.speed else "-/s")

        columns = [TextColumn(what), BarColumn(), MofNCompleteColumn(), Rate(), TimeRemainingColumn()]
        with Progress(*columns, console=self.err, transient=True) as bar:
            task = bar.add_task(what, total=len(items))
            for item in items:
                yield item
                bar.advance(task)


def _when(ts: Optional[float]) -> str:
    if ts is None:
        return "-"
    import datetime

    return datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _duration(text: str) -> float:
    match = _DURATION.match(text.strip())
    if not match:
        raise CliError(EXIT_URI, f"invalid duration {text!r}: use a number and one of s, m, h, d, w (e.g. 30d)")
    return float(match.group(1)) * _SECONDS[match.group(2)]


# -- backends ----------------------------------------------------------------------------------------
class Backend:
    """One URL opened: its container, use cases and (on demand) its saver; closed on exit."""

    def __init__(self, url: str, ctx: click.Context) -> None:
        options = ctx.obj
        self.url = url
        self.config = backend_config(url, profile=options["profile"], endpoint_url=options["endpoint_url"])
        self.actor = self.config.get("agentcore", {}).pop("actor_id", None) if self.config["backend"] == "agentcore" else None
        self.container = create_container(self.config)
        self.ops = Operations(self.container.checkpoint_service())
        self._saver: Any = None

    def saver(self) -> Any:
        if self._saver is None:
            cls: Any = saver_class(self.container)
            self._saver = cls.from_container(self.container)
        return self._saver

    def config_of(self, thread_id: str, ns: Optional[str] = None, checkpoint_id: Optional[str] = None) -> dict[str, Any]:
        configurable: dict[str, Any] = {"thread_id": thread_id}
        if self.actor:
            configurable["actor_id"] = self.actor
        if ns is not None:
            configurable["checkpoint_ns"] = ns
        if checkpoint_id is not None:
            configurable["checkpoint_id"] = checkpoint_id
        return {"configurable": configurable}

    def keys(self, thread_ids: Sequence[str], every: bool) -> list[ThreadKey]:
        if every:
            if thread_ids:
                raise CliError(EXIT_URI, "give thread ids or --all, not both")
            return list(self.ops.threads())
        if not thread_ids:
            raise CliError(EXIT_URI, "name at least one thread id, or pass --all")
        keys: list[ThreadKey] = []
        for thread_id in thread_ids:
            keys.extend(self.ops.resolve(thread_id) if not self.actor else [ThreadKey(thread_id, self.actor)])
        return keys

    def close(self) -> None:
        if self._saver is not None:
            close = getattr(self._saver, "close", None)
            if callable(close):
                close()
        self.container.shutdown_resources()


def _run(ctx: click.Context, action: Callable[[], Any]) -> None:
    try:
        action()
    except click.exceptions.Exit:
        raise
    except click.ClickException:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes a message and an exit code
        code = exit_code(exc)
        message = str(exc) or type(exc).__name__
        if ctx.obj["json"]:
            click.echo(json.dumps({"error": message, "type": type(exc).__name__, "exit_code": code}))
        else:
            click.echo(f"error: {message}", err=True)
        ctx.exit(code)


def _open(ctx: click.Context, url: str) -> Backend:
    backend = Backend(url, ctx)
    ctx.call_on_close(backend.close)
    return backend


def _confirm(ctx: click.Context, question: str, yes: bool) -> None:
    if yes or ctx.obj["json"]:
        return
    if not click.confirm(question, default=False, err=True):
        raise CliError(EXIT_RUNTIME, "cancelled")


# -- commands -------------------------------------------------------------------------------------------
@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--profile", default=None, help="AWS profile (the standard AWS credential chain otherwise)")
@click.option("--endpoint-url", default=None, help="AWS endpoint (local servers); AWS_ENDPOINT_URL is honoured too")
@click.option("--json", "as_json", is_flag=True, help="machine-readable JSON on stdout")
@click.pass_context
def cli(ctx: click.Context, profile: Optional[str], endpoint_url: Optional[str], as_json: bool) -> None:
    """Inspect, repair and move LangGraph checkpoints on any backend, addressed by URL.

    \b
    URLs: memory:  valkey://host:port/db  valkeys://...  dynamodb://table?region=...&s3=bucket/prefix
          s3://bucket/prefix  agentcore://memory-id?actor=...  bedrock-sessions://?region=...
    Listing threads (threads, --all) needs a backend that can enumerate them:
    Valkey, DynamoDB and S3 can; AgentCore needs ListActors; Bedrock sessions list sessions.
    """
    ctx.ensure_object(dict)
    ctx.obj.update(profile=profile, endpoint_url=endpoint_url, json=as_json, out=Output(as_json))


@cli.command()
@click.argument("url")
@click.option("--limit", default=100, show_default=True, help="threads per page")
@click.option("--offset", default=0, show_default=True, help="threads to skip")
@click.pass_context
def threads(ctx: click.Context, url: str, limit: int, offset: int) -> None:
    """List thread ids, a page at a time."""

    def action() -> None:
        backend = _open(ctx, url)
        keys = sorted(backend.ops.threads(), key=lambda k: (k.thread_id, k.actor_id or ""))
        page = keys[offset : offset + limit]
        out: Output = ctx.obj["out"]
        if out.as_json:
            out.json({"threads": [_key_json(k) for k in page], "total": len(keys), "offset": offset, "limit": limit})
        else:
            out.table(f"{len(keys)} threads (showing {offset + 1 if page else 0}-{offset + len(page)})",
                      ["thread_id", "actor_id"], [(k.thread_id, k.actor_id or "") for k in page])  # fmt: skip

    _run(ctx, action)


def _migration_sources(source: Backend, source_format: str) -> list[Operations]:
    """What migrate reads: this project's layout, or the published one found (or named) at the source."""
    if source_format == "native":
        return [source.ops]
    if source_format not in ("auto", *LEGACY_FORMATS):
        raise CliError(EXIT_URI, f"--source-format {source_format!r}: use auto, native or one of {', '.join(LEGACY_FORMATS)}")
    wanted = None if source_format == "auto" else source_format
    services = legacy_services(source.container, wanted)
    if services:
        return [Operations(service) for service in services]
    if wanted is not None:
        raise CliError(EXIT_RUNTIME, f"no {wanted} data found at {source.url}")
    return [source.ops]


def _key_json(key: ThreadKey) -> dict[str, Any]:
    data: dict[str, Any] = {"thread_id": key.thread_id}
    if key.actor_id is not None:
        data["actor_id"] = key.actor_id
    return data


@cli.command(name="list")
@click.argument("url")
@click.argument("thread_id")
@click.option("--checkpoint-ns", default=None, help="only this namespace (default: every namespace)")
@click.option("--limit", default=None, type=int, help="at most this many, newest first")
@click.pass_context
def list_command(ctx: click.Context, url: str, thread_id: str, checkpoint_ns: Optional[str], limit: Optional[int]) -> None:
    """The checkpoints of a thread, newest first."""

    def action() -> None:
        backend = _open(ctx, url)
        tuples = list(backend.saver().list(backend.config_of(thread_id, checkpoint_ns), limit=limit))
        out: Output = ctx.obj["out"]
        if out.as_json:
            out.json({"thread_id": thread_id, "checkpoints": [
                {"checkpoint_ns": t.config["configurable"].get("checkpoint_ns", ""),
                 "checkpoint_id": t.config["configurable"]["checkpoint_id"]} for t in tuples]})  # fmt: skip
            return
        rows = []
        for t in tuples:
            conf = t.config["configurable"]
            md = t.metadata or {}
            parent = (t.parent_config or {}).get("configurable", {}).get("checkpoint_id", "")
            rows.append((conf.get("checkpoint_ns", ""), conf["checkpoint_id"], parent, md.get("step"), md.get("source"),
                         len(t.pending_writes or ()), _when(checkpoint_time(conf["checkpoint_id"]))))  # fmt: skip
        out.table(f"thread {thread_id}: {len(rows)} checkpoints",
                  ["ns", "checkpoint_id", "parent", "step", "source", "writes", "created"], rows)  # fmt: skip

    _run(ctx, action)


@cli.command()
@click.argument("url")
@click.argument("thread_id")
@click.option("--checkpoint-id", default=None, help="this checkpoint (default: the latest)")
@click.option("--checkpoint-ns", default="", show_default=True, help="namespace ('' is the root graph)")
@click.pass_context
def dump(ctx: click.Context, url: str, thread_id: str, checkpoint_id: Optional[str], checkpoint_ns: str) -> None:
    """One checkpoint with its metadata and pending writes, as JSON."""

    def action() -> None:
        backend = _open(ctx, url)
        found = backend.saver().get_tuple(backend.config_of(thread_id, checkpoint_ns, checkpoint_id))
        if found is None:
            which = checkpoint_id or "latest"
            raise CliError(EXIT_RUNTIME, f"checkpoint {which} of thread {thread_id!r} (ns {checkpoint_ns!r}) not found")
        ctx.obj["out"].json({"thread_id": thread_id, **_tuple_json(found)})

    _run(ctx, action)


@cli.command()
@click.argument("url")
@click.argument("thread_id")
@click.pass_context
def read(ctx: click.Context, url: str, thread_id: str) -> None:
    """Every checkpoint of a thread with its data, as JSON."""

    def action() -> None:
        backend = _open(ctx, url)
        tuples = list(backend.saver().list(backend.config_of(thread_id)))
        ctx.obj["out"].json({"thread_id": thread_id, "checkpoints": [_tuple_json(t) for t in tuples]})

    _run(ctx, action)


@cli.command()
@click.argument("url")
@click.argument("thread_id")
@click.option("--checkpoint-ns", default="", show_default=True, help="namespace ('' is the root graph)")
@click.pass_context
def history(ctx: click.Context, url: str, thread_id: str, checkpoint_ns: str) -> None:
    """The thread's state over time: step, source, node, what changed."""

    def action() -> None:
        backend = _open(ctx, url)
        tuples = list(backend.saver().list(backend.config_of(thread_id, checkpoint_ns)))
        rows = []
        previous: dict[str, Any] = {}
        ran: list[str] = []  # the nodes the previous checkpoint scheduled: they wrote this one
        for t in reversed(tuples):
            md = t.metadata or {}
            versions = t.checkpoint.get("channel_versions", {})
            moved = sorted(ch for ch, v in versions.items() if previous.get(ch) != v)
            previous = dict(versions)
            scheduled = [ch[len("branch:to:") :] for ch in moved if ch.startswith("branch:to:")]
            changed = [ch for ch in moved if not ch.startswith("branch:to:")]
            checkpoint_id = t.config["configurable"]["checkpoint_id"]
            rows.append({"step": md.get("step"), "source": md.get("source"), "node": ",".join(ran) or "-",
                         "changed": changed, "next": scheduled, "checkpoint_id": checkpoint_id,
                         "created": _when(checkpoint_time(checkpoint_id))})  # fmt: skip
            ran = scheduled
        out: Output = ctx.obj["out"]
        if out.as_json:
            out.json({"thread_id": thread_id, "checkpoint_ns": checkpoint_ns, "history": rows})
            return
        out.table(f"history of thread {thread_id} ({len(rows)} checkpoints)",
                  ["step", "source", "node", "what changed", "next", "created", "checkpoint_id"],
                  [(r["step"], r["source"], r["node"], ", ".join(r["changed"]) or "-", ",".join(r["next"]) or "-",
                    r["created"], r["checkpoint_id"]) for r in rows])  # fmt: skip

    _run(ctx, action)


@cli.command()
@click.argument("url")
@click.argument("thread_ids", nargs=-1)
@click.option("--all", "every", is_flag=True, help="every thread of the backend")
@click.option("--dry-run", is_flag=True, help="say what would be deleted, delete nothing")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@click.pass_context
def delete(ctx: click.Context, url: str, thread_ids: tuple[str, ...], every: bool, dry_run: bool, yes: bool) -> None:
    """Delete one thread, or several (every actor's data on AgentCore backends)."""

    def action() -> None:
        backend = _open(ctx, url)
        keys = backend.keys(thread_ids, every)
        ids = list(dict.fromkeys(k.thread_id for k in keys))
        out: Output = ctx.obj["out"]
        if dry_run:
            _report(out, {"dry_run": True, "would_delete": ids}, f"would delete {len(ids)} threads: {', '.join(ids)}")
            return
        _confirm(ctx, f"Delete {len(ids)} threads from {url}?", yes)
        for thread_id in out.progress("deleting", ids):
            backend.container.checkpoint_service().delete_thread(thread_id, backend.actor)
        _report(out, {"deleted": ids}, f"deleted {len(ids)} threads")

    _run(ctx, action)


def _report(out: Output, data: Mapping[str, Any], text: str) -> None:
    if out.as_json:
        out.json(dict(data))
    else:
        click.echo(text)


@cli.command()
@click.argument("url")
@click.argument("source")
@click.argument("target")
@click.option("--to", "to_url", default=None, help="copy into this backend (default: the same one)")
@click.pass_context
def copy(ctx: click.Context, url: str, source: str, target: str, to_url: Optional[str]) -> None:
    """Copy a thread to a new thread id, in the same backend or another."""

    def action() -> None:
        backend = _open(ctx, url)
        other = _open(ctx, to_url) if to_url else backend
        total = 0
        for key in backend.keys([source], False):
            total += backend.ops.copy(key, other.ops, ThreadKey(target, key.actor_id))
        if total == 0:
            raise CliError(EXIT_RUNTIME, f"thread {source!r} not found at {url}")
        _report(ctx.obj["out"], {"source": source, "target": target, "checkpoints": total},
                f"copied {total} checkpoints of {source} to {target}")  # fmt: skip

    _run(ctx, action)


@cli.command()
@click.argument("source_url")
@click.argument("target_url")
@click.option("--thread", "thread_ids", multiple=True, help="only these threads (repeatable; default: every thread)")
@click.option("--workers", default=4, show_default=True, help="threads migrated in parallel")
@click.option("--source-format", default="auto", show_default=True,
              help="auto, native, langgraph-checkpoint-aws-1.2 or langgraph-checkpoint-s3-0.1")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="list what would be copied, copy nothing")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@click.pass_context
def migrate(ctx: click.Context, source_url: str, target_url: str, thread_ids: tuple[str, ...], workers: int,
            source_format: str, dry_run: bool, yes: bool) -> None:  # fmt: skip
    """Copy every thread (or a selection) from one backend URL to another.

    Resumable and idempotent: a thread already complete at the target is
    skipped. One thread at a time per worker; a failing thread is reported and
    the others go on. Counts are verified at the end.
    """

    def action() -> None:
        source, target = _open(ctx, source_url), _open(ctx, target_url)
        sources = _migration_sources(source, source_format)
        pairs: list[tuple[Operations, ThreadKey]] = []
        for ops in sources:
            keys = ops.threads() if not thread_ids else [k for t in thread_ids for k in ops.resolve(t)]
            pairs.extend((ops, key) for key in keys)
        out: Output = ctx.obj["out"]
        if dry_run:
            _report(out, {"dry_run": True, "threads": [_key_json(k) for _, k in pairs]}, f"would migrate {len(pairs)} threads")
            return
        _confirm(ctx, f"Migrate {len(pairs)} threads from {source_url} to {target_url}?", yes)
        import time

        started = time.perf_counter()
        outcomes: list[MigrationOutcome] = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [pool.submit(ops.migrate_thread, target.ops, key) for ops, key in pairs]
            for future in out.progress("migrating", futures):
                outcomes.append(future.result())
        elapsed = max(time.perf_counter() - started, 1e-9)
        failed = [{**_key_json(o.source), "error": o.error} for o in outcomes if o.status == "failed"]
        summary: dict[str, Any] = {
            "threads": len(outcomes),
            "copied": sum(o.status == "copied" for o in outcomes),
            "skipped": sum(o.status == "skipped" for o in outcomes),
            "failed": failed,
            "checkpoints": sum(o.checkpoints for o in outcomes if o.status == "copied"),
            "source_format": "native" if sources == [source.ops] else (source_format if source_format != "auto" else "detected"),
            "seconds": round(elapsed, 3),
            "threads_per_second": round(len(outcomes) / elapsed, 1),
            "checkpoints_per_second": round(sum(o.checkpoints for o in outcomes) / elapsed, 1),
        }
        text = (f"migrated {summary['copied']} threads ({summary['checkpoints']} checkpoints), skipped {summary['skipped']} "
                f"already there, {len(failed)} failed, in {elapsed:.2f} s "
                f"({summary['threads_per_second']} threads/s, {summary['checkpoints_per_second']} checkpoints/s)")  # fmt: skip
        for failure in failed:
            text += f"\n  failed {failure['thread_id']}: {failure['error']}"
        _report(out, summary, text)
        if failed:
            ctx.exit(EXIT_RUNTIME)

    _run(ctx, action)


@cli.command()
@click.argument("url")
@click.argument("thread_ids", nargs=-1)
@click.option("--all", "every", is_flag=True, help="every thread of the backend")
@click.option("--keep-last", default=None, type=int, help="keep the newest N checkpoints of each namespace")
@click.option("--older-than", default=None, help="delete checkpoints older than this (30d, 12h, 90m); the newest stays")
@click.option("--dry-run", is_flag=True, help="count what would be deleted, delete nothing")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@click.pass_context
def prune(ctx: click.Context, url: str, thread_ids: tuple[str, ...], every: bool, keep_last: Optional[int],
          older_than: Optional[str], dry_run: bool, yes: bool) -> None:  # fmt: skip
    """Delete old checkpoints: --keep-last N and/or --older-than 30d (each namespace keeps its newest)."""

    def action() -> None:
        if keep_last is None and older_than is None:
            raise CliError(EXIT_URI, "give --keep-last N and/or --older-than DURATION")
        if keep_last is not None and keep_last < 1:
            raise CliError(EXIT_URI, f"--keep-last must be at least 1, got {keep_last}")
        age = None if older_than is None else _duration(older_than)
        backend = _open(ctx, url)
        keys = backend.keys(thread_ids, every)
        if not dry_run:
            _confirm(ctx, f"Prune {len(keys)} threads of {url}?", yes)
        out: Output = ctx.obj["out"]
        removed = {k.thread_id: 0 for k in keys}
        for key in out.progress("pruning", keys):
            removed[key.thread_id] += backend.ops.prune(key, keep_last=keep_last, older_than=age, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        _report(out, {"dry_run": dry_run, "removed": removed},
                f"{verb} {sum(removed.values())} checkpoints in {len(keys)} threads")  # fmt: skip

    _run(ctx, action)


@cli.command()
@click.argument("url")
@click.argument("thread_ids", nargs=-1)
@click.pass_context
def stats(ctx: click.Context, url: str, thread_ids: tuple[str, ...]) -> None:
    """Threads, checkpoints, writes, bytes, oldest and newest (every thread unless named)."""

    def action() -> None:
        backend = _open(ctx, url)
        keys = backend.keys(thread_ids, not thread_ids)
        out: Output = ctx.obj["out"]
        per = [backend.ops.stats(k) for k in out.progress("reading", keys)]
        oldest = min((s.oldest for s in per if s.oldest is not None), default=None)
        newest = max((s.newest for s in per if s.newest is not None), default=None)
        total = {"threads": len(per), "checkpoints": sum(s.checkpoints for s in per), "writes": sum(s.writes for s in per),
                 "blobs": sum(s.blobs for s in per), "bytes": sum(s.bytes for s in per),
                 "oldest": _when(oldest), "newest": _when(newest)}  # fmt: skip
        if out.as_json:
            out.json({**total, "per_thread": [{**_key_json(s.thread), "checkpoints": s.checkpoints, "writes": s.writes,
                      "blobs": s.blobs, "bytes": s.bytes, "oldest": _when(s.oldest), "newest": _when(s.newest)} for s in per]})  # fmt: skip
            return
        out.table(f"{url}", list(total), [list(total.values())])

    _run(ctx, action)


@cli.command()
@click.argument("url")
@click.argument("thread_ids", nargs=-1)
@click.pass_context
def verify(ctx: click.Context, url: str, thread_ids: tuple[str, ...]) -> None:
    """Integrity: every checkpoint's blobs present, no orphans, the parent chain complete."""

    def action() -> None:
        backend = _open(ctx, url)
        keys = backend.keys(thread_ids, not thread_ids)
        out: Output = ctx.obj["out"]
        problems = [p for k in out.progress("verifying", keys) for p in backend.ops.verify(k)]
        if out.as_json:
            out.json({"threads": len(keys), "ok": not problems,
                      "problems": [{**_key_json(p.thread), "kind": p.kind, "detail": p.detail} for p in problems]})  # fmt: skip
        elif problems:
            out.table(f"{len(problems)} problems in {len(keys)} threads", ["thread_id", "kind", "detail"],
                      [(p.thread.thread_id, p.kind, p.detail) for p in problems])  # fmt: skip
        else:
            click.echo(f"{len(keys)} threads verified: no problems")
        if problems:
            ctx.exit(EXIT_RUNTIME)

    _run(ctx, action)


def main(argv: Optional[Sequence[str]] = None) -> NoReturn:
    """Console script entry point (exits with the code of the outcome)."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="langgraph-aws", standalone_mode=True)
    sys.exit(EXIT_OK)
