"""The ``s3-checkpoint`` command (seed 004): list, dump and read checkpoints stored by S3CheckpointSaver.

Usage (options may come before or after the subcommand, as seed 004 shows them)::

    s3-checkpoint list --s3-prefix s3://bucket/prefix/ --thread-id T
    s3-checkpoint dump --s3-prefix s3://bucket/prefix/ --thread-id T --checkpoint-ns "" --checkpoint-id C
    s3-checkpoint read --s3-prefix s3://bucket/prefix/ --thread-id T

``--profile`` picks an AWS profile; otherwise the standard credential chain
applies (environment, shared credentials file, IAM roles). ``--endpoint-url``
(or ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``) points at a local server.

JSON goes to stdout, errors to stderr. Exit codes: 0 success; 1 invalid S3
URI (or command line); 2 AWS credentials error; 3 S3 access error (bucket
missing, access denied, endpoint unreachable); 4 checkpoint not found or
another runtime error; 5 unexpected error.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import enum
import json
import os
import sys
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn, Optional

import click

from ..domain.errors import (
    BackendConnectionError,
    BackendError,
    ConfigurationError,
    NotFoundError,
    PersistenceError,
)

__all__ = ["cli", "main", "parse_s3_uri", "EXIT_OK", "EXIT_URI", "EXIT_CREDENTIALS", "EXIT_ACCESS", "EXIT_RUNTIME", "EXIT_UNEXPECTED"]

EXIT_OK, EXIT_URI, EXIT_CREDENTIALS, EXIT_ACCESS, EXIT_RUNTIME, EXIT_UNEXPECTED = 0, 1, 2, 3, 4, 5

_CREDENTIAL_CODES = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired"}
)


class _Exit(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_s3_uri(uri: Optional[str]) -> tuple[str, str]:
    """``s3://bucket/prefix/`` -> ``("bucket", "prefix/")``; exit code 1 when malformed."""
    if not uri:
        raise _Exit(EXIT_URI, "--s3-prefix is required (s3://bucket/prefix/)")
    if not uri.startswith("s3://"):
        raise _Exit(EXIT_URI, f"invalid S3 URI {uri!r}: it must start with 's3://' (s3://bucket/prefix/)")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    if not bucket:
        raise _Exit(EXIT_URI, f"invalid S3 URI {uri!r}: the bucket name is empty")
    return bucket, prefix


# -- JSON -------------------------------------------------------------------------------------
def jsonable(value: Any) -> Any:
    """A JSON-ready copy of a deserialised checkpoint value (messages, dataclasses, bytes...)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID,)):
        return str(value)
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    dump = getattr(value, "model_dump", None)  # pydantic v2 models, langchain messages
    if callable(dump):
        return jsonable(dump())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    as_dict = getattr(value, "_asdict", None)  # namedtuples (Send, Interrupt...)
    if callable(as_dict):
        return jsonable(as_dict())
    return str(value)


def _tuple_json(tup: Any) -> dict[str, Any]:
    configurable = tup.config["configurable"]
    return {
        "checkpoint_ns": configurable.get("checkpoint_ns", ""),
        "checkpoint_id": configurable["checkpoint_id"],
        "checkpoint": jsonable(tup.checkpoint),
        "metadata": jsonable(tup.metadata),
        "pending_writes": jsonable([list(w) for w in tup.pending_writes or []]),
    }


def _emit(data: Mapping[str, Any]) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False)
    click.echo(text)


# -- errors -> exit codes ------------------------------------------------------------------------
def _codes(exc: BaseException) -> set[str]:
    codes: set[str] = set()
    seen: Optional[BaseException] = exc
    while seen is not None:
        response = getattr(seen, "response", None)
        if isinstance(response, Mapping):
            codes.add(str(response.get("Error", {}).get("Code", "")))
        seen = seen.__cause__ or seen.__context__
    return codes


def _is_credentials(exc: BaseException) -> bool:
    from botocore.exceptions import (
        CredentialRetrievalError,
        NoCredentialsError,
        PartialCredentialsError,
        ProfileNotFound,
    )

    seen: Optional[BaseException] = exc
    while seen is not None:
        if isinstance(seen, (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError, ProfileNotFound)):
            return True
        seen = seen.__cause__ or seen.__context__
    return bool(_codes(exc) & _CREDENTIAL_CODES) or (
        isinstance(exc, ConfigurationError) and "credentials" in str(exc)
    )


def _exit_code(exc: BaseException) -> int:
    if _is_credentials(exc):
        return EXIT_CREDENTIALS
    if isinstance(exc, (NotFoundError, BackendConnectionError)):
        return EXIT_ACCESS
    if isinstance(exc, BackendError):
        return EXIT_ACCESS
    if isinstance(exc, PersistenceError):
        return EXIT_RUNTIME
    return EXIT_UNEXPECTED


def _fail(code: int, message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


# -- the saver ---------------------------------------------------------------------------------------
def _saver(ctx: click.Context, s3_prefix: Optional[str], profile: Optional[str], endpoint_url: Optional[str]) -> Any:
    group = ctx.find_root().params
    uri = s3_prefix or group.get("s3_prefix")
    bucket, prefix = parse_s3_uri(uri)
    profile = profile or group.get("profile")
    endpoint = (
        endpoint_url
        or group.get("endpoint_url")
        or os.environ.get("AWS_ENDPOINT_URL_S3")
        or os.environ.get("AWS_ENDPOINT_URL")
        or None
    )
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(profile_name=profile) if profile else boto3.session.Session()
    if session.get_credentials() is None:
        raise _Exit(
            EXIT_CREDENTIALS,
            "no AWS credentials found (tried --profile, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "~/.aws/credentials and instance roles)",
        )
    from ..langgraph_bindings.s3 import S3CheckpointSaver

    return S3CheckpointSaver(
        bucket,
        prefix=prefix,
        session=session,
        endpoint_url=endpoint,
        boto_config=Config(retries={"mode": "standard", "max_attempts": 2}),
        retry_attempts=1,
    )


def _run(ctx: click.Context, options: Mapping[str, Any], action: Any) -> None:
    try:
        saver = _saver(ctx, options.get("s3_prefix"), options.get("profile"), options.get("endpoint_url"))
        try:
            _emit(action(saver))
        finally:
            saver.close()
    except _Exit as exc:
        _fail(exc.code, str(exc))
    except Exception as exc:  # noqa: BLE001 - every failure becomes an exit code and one line on stderr
        code = _exit_code(exc)
        _fail(code, str(exc) if code != EXIT_UNEXPECTED else f"unexpected error: {type(exc).__name__}: {exc}")


# -- commands ------------------------------------------------------------------------------------
def _connection_options(fn: Any) -> Any:
    fn = click.option("--endpoint-url", default=None, help="S3 endpoint (local servers); also AWS_ENDPOINT_URL")(fn)
    fn = click.option("--profile", default=None, help="AWS profile to use")(fn)
    fn = click.option("--s3-prefix", default=None, help="S3 prefix: s3://bucket/prefix/ (required)")(fn)
    return fn


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@_connection_options
@click.pass_context
def cli(ctx: click.Context, s3_prefix: Optional[str], profile: Optional[str], endpoint_url: Optional[str]) -> None:
    """Read LangGraph checkpoints stored in S3 by S3CheckpointSaver."""
    ctx.ensure_object(dict)


@cli.command(name="list")
@_connection_options
@click.option("--thread-id", required=True, help="Thread ID to list checkpoints for")
@click.pass_context
def list_command(ctx: click.Context, thread_id: str, **options: Any) -> None:
    """List every (checkpoint_ns, checkpoint_id) pair of a thread, newest first."""

    def action(saver: Any) -> dict[str, Any]:
        pairs = [
            {"checkpoint_ns": r.checkpoint.checkpoint_ns, "checkpoint_id": r.checkpoint.checkpoint_id}
            for r in saver.service.list(_headers_query(thread_id))
        ]
        return {"thread_id": thread_id, "checkpoints": pairs}

    _run(ctx, options, action)


@cli.command()
@_connection_options
@click.option("--thread-id", required=True, help="Thread ID")
@click.option("--checkpoint-ns", required=True, help="Checkpoint namespace (empty string for the default)")
@click.option("--checkpoint-id", required=True, help="Checkpoint ID")
@click.pass_context
def dump(ctx: click.Context, thread_id: str, checkpoint_ns: str, checkpoint_id: str, **options: Any) -> None:
    """Dump one checkpoint with its metadata and pending writes."""

    def action(saver: Any) -> dict[str, Any]:
        config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns, "checkpoint_id": checkpoint_id}}
        tup = saver.get_tuple(config)
        if tup is None:
            raise _Exit(
                EXIT_RUNTIME,
                f"checkpoint not found: {checkpoint_id!r} in namespace {checkpoint_ns!r} of thread {thread_id!r}",
            )
        return {"thread_id": thread_id, **_tuple_json(tup)}

    _run(ctx, options, action)


@cli.command()
@_connection_options
@click.option("--thread-id", required=True, help="Thread ID to read all checkpoints for")
@click.pass_context
def read(ctx: click.Context, thread_id: str, **options: Any) -> None:
    """Read every checkpoint of a thread with its data, newest first."""

    def action(saver: Any) -> dict[str, Any]:
        tuples = saver.list({"configurable": {"thread_id": thread_id}})
        return {"thread_id": thread_id, "checkpoints": [_tuple_json(t) for t in tuples]}

    _run(ctx, options, action)


def _headers_query(thread_id: str) -> Any:
    from ..domain.models import CheckpointQuery, ThreadKey

    return CheckpointQuery(thread=ThreadKey(thread_id), headers_only=True)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """The console script: exit codes as the module docstring lists (usage errors exit with 1)."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="s3-checkpoint", standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        _fail(EXIT_UNEXPECTED, "aborted")
    except click.UsageError as exc:
        message = exc.format_message()
        if exc.ctx is not None:
            message += f"\n{exc.ctx.get_usage()}"
        _fail(EXIT_URI, message)
    sys.exit(EXIT_OK)


if __name__ == "__main__":  # pragma: no cover
    main()
