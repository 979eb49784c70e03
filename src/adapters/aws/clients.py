"""Building boto3 clients with the library's botocore defaults, the user's Config merged over them."""

from __future__ import annotations

from typing import Any, Optional

from botocore.config import Config

__all__ = [
    "build_client",
    "merged_boto_config",
    "is_async_session",
    "open_async_client",
    "USER_AGENT_EXTRA",
    "DEFAULT_RETRIES",
]

USER_AGENT_EXTRA = "langgraph-checkpoint-aws-hex"

DEFAULT_RETRIES: dict[str, Any] = {"mode": "standard", "max_attempts": 0}
"""botocore retries nothing by default: the use cases' RetryPolicy is the one retry
layer (two layers would multiply attempts). In a botocore Config, ``max_attempts``
counts *retries* (botocore sends ``max_attempts + 1`` requests), so 0 means one
request per call. A user's Config may ask for more."""


def merged_boto_config(user_config: Optional[Config] = None, *, s3_path_style: bool = False) -> Config:
    """The library's botocore Config with ``user_config`` merged over it (the user wins).

    Defaults: ``retries={"mode": "standard", "max_attempts": 0}`` (one request,
    no botocore retry),
    ``user_agent_extra="langgraph-checkpoint-aws-hex"`` and, with
    ``s3_path_style``, ``s3={"addressing_style": "path"}``. The ``retries`` and
    ``s3`` dicts are merged key by key, so a user who sets only
    ``max_attempts`` keeps standard mode (and a user's ``total_max_attempts``
    overrides our ``max_attempts`` in botocore); every other option the user
    sets replaces ours.
    """
    defaults: dict[str, Any] = {"retries": dict(DEFAULT_RETRIES), "user_agent_extra": USER_AGENT_EXTRA}
    if s3_path_style:
        defaults["s3"] = {"addressing_style": "path"}
    merged = Config(**defaults)
    if user_config is None:
        return merged
    merged = merged.merge(user_config)
    nested: dict[str, Any] = {}
    for option in ("retries", "s3"):
        theirs = getattr(user_config, option, None)
        if theirs and defaults.get(option):
            nested[option] = {**defaults[option], **theirs}
    return merged.merge(Config(**nested)) if nested else merged


def build_client(
    service_name: str,
    *,
    session: Any = None,
    region_name: Optional[str] = None,
    endpoint_url: Optional[str] = None,
    boto_config: Optional[Config] = None,
    s3_path_style: bool = False,
) -> Any:
    """A boto3 client for ``service_name`` with ``merged_boto_config(boto_config)``.

    Args:
        service_name: ``"dynamodb"``, ``"s3"``, ``"bedrock-agentcore"``...
        session: a boto3 Session (profiles, assumed roles); a new default
            session in ``region_name`` when None.
        region_name: overrides the session's region when given.
        endpoint_url: a custom endpoint (DynamoDB Local, moto, MinIO).
        boto_config: the user's botocore Config, merged over the library's defaults.
        s3_path_style: path-style S3 addressing; implied for S3 with an
            ``endpoint_url`` (local servers rarely resolve bucket subdomains).
    """
    if session is None:
        import boto3

        session = boto3.session.Session(region_name=region_name)
    path_style = s3_path_style or (service_name == "s3" and endpoint_url is not None)
    return session.client(
        service_name,
        region_name=region_name,
        endpoint_url=endpoint_url,
        config=merged_boto_config(boto_config, s3_path_style=path_style),
    )


def is_async_session(session: Any) -> bool:
    """Whether ``session`` is an aioboto3 or an aiobotocore session (duck-typed: neither is imported)."""
    module = type(session).__module__ or ""
    return module.startswith(("aioboto3", "aiobotocore"))


async def open_async_client(
    session: Any,
    service_name: str,
    *,
    region_name: Optional[str],
    endpoint_url: Optional[str],
    boto_config: Optional[Config],
    pool_size: int,
    s3_path_style: bool = False,
) -> tuple[Any, Any]:
    """An aiobotocore client from an aioboto3 ``Session`` or an aiobotocore ``AioSession``, and the
    context manager that closes it (``await cm.__aexit__(None, None, None)``).

    ``pool_size`` connections is a default: the user's ``boto_config`` wins, merged over
    the library's defaults as ``merged_boto_config`` does.
    """
    pool = Config(max_pool_connections=pool_size)
    user = pool.merge(boto_config) if boto_config is not None else pool
    kwargs = {
        "region_name": region_name,
        "endpoint_url": endpoint_url,
        "config": merged_boto_config(user, s3_path_style=s3_path_style),
    }
    if hasattr(session, "create_client"):  # aiobotocore AioSession
        cm = session.create_client(service_name, **kwargs)
    else:  # aioboto3.Session
        cm = session.client(service_name, **kwargs)
    return await cm.__aenter__(), cm
