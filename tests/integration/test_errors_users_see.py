"""The errors a new user meets first, on real servers: each says what is wrong and can be caught as documented.

- An unreachable Valkey server or AWS endpoint is a ``TransientBackendError``
  that is also the built-in ``ConnectionError`` (seed 002's troubleshooting
  section catches ``ConnectionError``).
- A TLS certificate the client does not trust is named as such and is not
  retried (Valkey through a TLS proxy in test_valkey_security.py; AWS here).
- DynamoDB: a table of another key schema is caught by ``setup()`` and on
  first use, naming both schemas; not-found messages name the region.
- S3 offload: a bucket that is missing or unreachable is reported by
  ``setup()`` and by the first write, not at the first payload over 350 KB.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from langgraph.checkpoint.base import empty_checkpoint

from langgraph_checkpoint_aws import (
    AgentCoreValkeySaver,
    AsyncValkeySaver,
    BackendConnectionError,
    CertificateVerificationError,
    ConfigurationError,
    DynamoDBSaver,
    NotFoundError,
    TransientBackendError,
    ValkeySaver,
    create_saver,
)
from langgraph_checkpoint_aws.adapters.valkey.embedded import EmbeddedValkey, free_port
from tests.backends.dynamodb import FAST_FAIL, REGION, unique
from tests.integration._valkey_support import TLSProxy, self_signed_cert


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(thread: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}


def _put_small(saver: Any, thread: str = "t") -> dict[str, Any]:
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {"x": 1}
    checkpoint["channel_versions"] = {"x": "1"}
    return saver.put(_config(thread), checkpoint, {"step": 1}, {"x": "1"})  # type: ignore[no-any-return]


class CountingTLSProxy(TLSProxy):
    """The test TLS proxy, counting the connections clients open (one per attempt)."""

    def __init__(self, backend_port: int, cert: Path, key: Path) -> None:
        super().__init__(backend_port, cert, key)
        self.connections = 0

    def _serve(self, raw: socket.socket) -> None:
        self.connections += 1
        super()._serve(raw)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


# -- unreachable servers are ConnectionErrors ---------------------------------------------------------
def test_seed_troubleshooting_catches_an_unreachable_valkey_as_connection_error() -> None:
    conn_string = f"valkey://127.0.0.1:{free_port()}"
    caught = None
    # Seed 002, "Troubleshooting", as written.
    try:
        with AgentCoreValkeySaver.from_conn_string(conn_string, socket_connect_timeout=1) as checkpointer:
            checkpointer.client.ping()
    except ConnectionError as e:
        caught = e
    assert isinstance(caught, BackendConnectionError) and isinstance(caught, TransientBackendError)
    assert conn_string.split("//")[1] in str(caught) and "cannot reach" in str(caught)


async def test_an_unreachable_valkey_is_a_connection_error_on_the_async_api() -> None:
    port = free_port()
    with pytest.raises(ConnectionError, match=f"cannot reach valkey at 127.0.0.1:{port}") as info:
        async with AsyncValkeySaver.from_conn_string(f"valkey://127.0.0.1:{port}", socket_connect_timeout=1):
            pass
    assert isinstance(info.value, TransientBackendError)


def test_a_valkey_server_that_goes_away_is_a_connection_error(tmp_path: Path) -> None:
    server = EmbeddedValkey(tmp_path).start()
    try:
        with ValkeySaver.from_conn_string(f"valkey://127.0.0.1:{server.port}", socket_connect_timeout=1) as saver:
            _put_small(saver)
            server.stop()
            with pytest.raises(ConnectionError, match=f"127.0.0.1:{server.port}") as info:
                saver.get_tuple(_config())
            assert isinstance(info.value, TransientBackendError)
    finally:
        server.stop()


def test_an_unreachable_dynamodb_endpoint_is_a_connection_error(aws_session: boto3.session.Session) -> None:
    port = _dead_port()
    saver = DynamoDBSaver(
        "t", session=aws_session, endpoint_url=f"http://127.0.0.1:{port}",
        boto_config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    with pytest.raises(ConnectionError, match="cannot reach the DynamoDB endpoint") as info:
        saver.get_tuple(_config())
    assert isinstance(info.value, TransientBackendError) and f"127.0.0.1:{port}" in str(info.value)
    assert f"region {REGION}" in str(info.value)


# -- TLS certificates (AWS; Valkey's are in test_valkey_security.py) ------------------------------------
def test_an_untrusted_aws_certificate_says_so_and_is_not_retried(
    aws_session: boto3.session.Session, moto_endpoint: str, certificate: tuple[Path, Path]
) -> None:
    moto_port = int(moto_endpoint.rsplit(":", 1)[1])
    with CountingTLSProxy(moto_port, *certificate) as proxy:
        saver = DynamoDBSaver(
            unique("table"), session=aws_session, endpoint_url=f"https://127.0.0.1:{proxy.port}",
            boto_config=Config(connect_timeout=2),
        )
        with pytest.raises(CertificateVerificationError) as info:
            saver.get_tuple(_config())
    message = str(info.value)
    assert message.startswith("TLS certificate verification failed for DynamoDB table")
    assert f"127.0.0.1:{proxy.port}" in message and "self-signed certificate" in message and "CA bundle" in message
    assert not isinstance(info.value, TransientBackendError) and isinstance(info.value, ConnectionError)
    assert isinstance(info.value.__cause__, Exception) and "CERTIFICATE_VERIFY_FAILED" in str(info.value.__cause__)
    assert proxy.connections == 1  # the saver's RetryPolicy (5 attempts on DynamoDB) left it alone


def test_a_trusted_aws_certificate_still_works(
    aws_session: boto3.session.Session, moto_endpoint: str, certificate: tuple[Path, Path]
) -> None:
    moto_port = int(moto_endpoint.rsplit(":", 1)[1])
    cert, _ = certificate
    with TLSProxy(moto_port, *certificate) as proxy:
        client = aws_session.client("dynamodb", endpoint_url=f"https://127.0.0.1:{proxy.port}", verify=str(cert))
        with create_saver({"backend": "dynamodb", "dynamodb": {"table_name": unique("table"), "client": client}}) as saver:
            saver.setup()
            _put_small(saver)
            assert saver.get_tuple(_config()) is not None


# -- DynamoDB: wrong key schema, region in not-found ------------------------------------------------------
@pytest.fixture
def wrong_schema_table(dynamodb_client: Any) -> str:
    name = unique("wrong")
    dynamodb_client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _assert_names_both_schemas(error: BaseException, table: str) -> None:
    message = str(error)
    assert table in message and f"region {REGION}" in message
    assert "expected string PK (HASH) + string SK (RANGE)" in message and "found string id (HASH)" in message


def test_verify_names_the_expected_and_the_actual_key_schema(
    aws_session: boto3.session.Session, moto_endpoint: str, wrong_schema_table: str
) -> None:
    with DynamoDBSaver(wrong_schema_table, session=aws_session, endpoint_url=moto_endpoint, boto_config=FAST_FAIL) as saver:
        with pytest.raises(ConfigurationError) as info:
            saver.verify()
    _assert_names_both_schemas(info.value, wrong_schema_table)


def test_setup_on_a_table_of_another_key_schema_fails_naming_both_schemas(
    aws_session: boto3.session.Session, moto_endpoint: str, wrong_schema_table: str
) -> None:
    with DynamoDBSaver(wrong_schema_table, session=aws_session, endpoint_url=moto_endpoint, boto_config=FAST_FAIL) as saver:
        with pytest.raises(ConfigurationError) as info:
            saver.setup()
    _assert_names_both_schemas(info.value, wrong_schema_table)


@pytest.mark.parametrize("first", ["put", "get_tuple", "list"])
def test_first_use_of_a_table_of_another_key_schema_fails_naming_both_schemas(
    aws_session: boto3.session.Session, moto_endpoint: str, wrong_schema_table: str, first: str
) -> None:
    calls = {
        "put": _put_small,
        "get_tuple": lambda s: s.get_tuple(_config()),
        "list": lambda s: list(s.list(_config())),
    }
    with DynamoDBSaver(wrong_schema_table, session=aws_session, endpoint_url=moto_endpoint, boto_config=FAST_FAIL) as saver:
        with pytest.raises(ConfigurationError) as info:
            calls[first](saver)
    _assert_names_both_schemas(info.value, wrong_schema_table)


@pytest.mark.parametrize("region", ["eu-west-1", "ap-southeast-2"])
def test_a_missing_table_names_the_region_and_what_to_do(moto_endpoint: str, region: str) -> None:
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    table = unique("absent")
    with DynamoDBSaver(table, session=session, region_name=region, endpoint_url=moto_endpoint, boto_config=FAST_FAIL) as saver:
        for call in (lambda: saver.get_tuple(_config()), lambda: _put_small(saver), saver.verify):
            with pytest.raises(NotFoundError) as info:
                call()
            message = str(info.value)
            assert f"DynamoDB table {table!r} in region {region}" in message and "does not exist" in message
            assert "setup()" in message and "set region_name to the region it is in" in message


# -- S3 offload: the bucket is checked before the first large payload -----------------------------------
def _offload_saver(aws_session: Any, moto_endpoint: str, s3: dict[str, Any]) -> DynamoDBSaver:
    return DynamoDBSaver(
        unique("table"), session=aws_session, endpoint_url=moto_endpoint, boto_config=FAST_FAIL,
        s3_offload_config={"bucket_name": unique("bucket"), **s3},
    )


def test_setup_reports_an_unreachable_bucket_endpoint(aws_session: boto3.session.Session, moto_endpoint: str) -> None:
    port = _dead_port()
    saver = _offload_saver(aws_session, moto_endpoint, {"endpoint_url": f"http://127.0.0.1:{port}"})
    with saver:
        with pytest.raises(ConnectionError) as info:
            saver.setup()
    message = str(info.value)
    assert saver.blob_store.bucket_name in message and f"127.0.0.1:{port}" in message and "S3" in message
    assert isinstance(info.value, TransientBackendError)


def test_setup_creates_a_missing_bucket(aws_session: boto3.session.Session, moto_endpoint: str) -> None:
    with _offload_saver(aws_session, moto_endpoint, {"endpoint_url": moto_endpoint}) as saver:
        saver.setup()
        saver.verify()  # the table and the bucket are there


def test_the_first_write_reports_a_missing_bucket(make_dynamodb_saver: Any) -> None:
    saver = make_dynamodb_saver(offload=True)
    saver.blob_store.client.delete_bucket(Bucket=saver.blob_store.bucket_name)
    with pytest.raises(NotFoundError, match=f"S3 bucket {saver.blob_store.bucket_name!r} in region {REGION}"):
        _put_small(saver)  # a few bytes: nothing is offloaded, and still the bucket is checked


def test_the_first_write_reports_an_unreachable_bucket_endpoint(
    aws_session: boto3.session.Session, moto_endpoint: str, dynamodb_client: Any
) -> None:
    port = _dead_port()
    with _offload_saver(aws_session, moto_endpoint, {"endpoint_url": f"http://127.0.0.1:{port}"}) as saver:
        saver.repository.setup()  # the table exists; the bucket's endpoint does not answer
        with pytest.raises(ConnectionError, match=f"127.0.0.1:{port}"):
            _put_small(saver)
