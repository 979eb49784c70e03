"""URLs, passwords, ACL users and TLS (valkeys:// through a TLS-terminating proxy)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import valkey

from langgraph_checkpoint_aws.adapters.valkey.embedded import EmbeddedValkey
from langgraph_checkpoint_aws.domain.errors import (
    BackendError,
    CertificateVerificationError,
    ConfigurationError,
    TransientBackendError,
)
from langgraph_checkpoint_aws.domain.policies import RetryPolicy
from langgraph_checkpoint_aws.langgraph_bindings.valkey import AgentCoreValkeySaver, AsyncValkeySaver, ValkeySaver
from tests.integration._valkey_data import config, put_step
from tests.integration._valkey_support import TLSProxy, self_signed_cert

PASSWORD = "s3cret-pw"
ACL_USER, ACL_PASSWORD = "app", "app-pw"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedValkey]:
    """A server with a default-user password and an ACL user limited to the library's keys."""
    server = EmbeddedValkey(
        tmp_path_factory.mktemp("valkey-auth"),
        extra_args=[
            "--requirepass", PASSWORD,
            "--user", ACL_USER, "on", f">{ACL_PASSWORD}", "~langgraph:*", "~agentcore:*", "&*", "+@all",
        ],
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory, secured: EmbeddedValkey) -> Iterator[tuple[TLSProxy, str]]:
    cert, key = self_signed_cert(tmp_path_factory.mktemp("tls"))
    with TLSProxy(secured.port, cert, key) as proxy:
        yield proxy, str(cert)


@pytest.mark.parametrize("scheme", ["valkey", "redis"])
def test_password_url(secured: EmbeddedValkey, scheme: str) -> None:
    with ValkeySaver.from_conn_string(f"{scheme}://:{PASSWORD}@127.0.0.1:{secured.port}/0") as saver:
        put_step(saver, f"pw-{scheme}", 1)
        assert saver.get_tuple(config(f"pw-{scheme}")).metadata["step"] == 1


def test_acl_user_url(secured: EmbeddedValkey) -> None:
    url = f"valkey://{ACL_USER}:{ACL_PASSWORD}@127.0.0.1:{secured.port}"
    with AgentCoreValkeySaver.from_conn_string(url, ttl_seconds=60) as saver:
        put_step(saver, "acl", 1, actor_id="bot")
        assert saver.get_tuple(config("acl", actor_id="bot")) is not None
        saver.delete_thread("acl")
        assert saver.get_tuple(config("acl", actor_id="bot")) is None


def test_wrong_password_is_a_clear_error_without_the_password(secured: EmbeddedValkey) -> None:
    with pytest.raises(BackendError) as info:
        with ValkeySaver.from_conn_string(f"valkey://{ACL_USER}:wrong-pw@127.0.0.1:{secured.port}"):
            pass
    message = str(info.value)
    assert "authentication failed" in message and f"127.0.0.1:{secured.port}" in message
    assert "wrong-pw" not in message
    assert not isinstance(info.value, TransientBackendError)


def test_missing_password_is_a_clear_error(secured: EmbeddedValkey) -> None:
    with pytest.raises(BackendError, match="127.0.0.1"):
        with ValkeySaver.from_conn_string(f"valkey://127.0.0.1:{secured.port}"):
            pass


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:6379", "valkey://127.0.0.1:notaport", "valkey://", "", "127.0.0.1:6379"],
)
def test_malformed_urls(url: str) -> None:
    with pytest.raises(ConfigurationError, match="url"):
        with ValkeySaver.from_conn_string(url):
            pass


def test_unreachable_server_names_host_and_port() -> None:
    from langgraph_checkpoint_aws.adapters.valkey.embedded import free_port

    port = free_port()
    with pytest.raises(TransientBackendError, match=f"127.0.0.1:{port}") as info:
        with ValkeySaver.from_conn_string(f"valkey://127.0.0.1:{port}", socket_connect_timeout=1):
            pass
    assert isinstance(info.value, ConnectionError)  # seed 002's troubleshooting catches ConnectionError


@pytest.mark.parametrize("scheme", ["valkeys", "rediss"])
def test_tls_url_sync(tls: tuple[TLSProxy, str], scheme: str) -> None:
    proxy, ca = tls
    url = f"{scheme}://{ACL_USER}:{ACL_PASSWORD}@127.0.0.1:{proxy.port}?ssl_ca_certs={ca}&ssl_check_hostname=true"
    with ValkeySaver.from_conn_string(url) as saver:
        put_step(saver, f"tls-{scheme}", 1)
        assert saver.get_tuple(config(f"tls-{scheme}")) is not None


async def test_tls_url_async(tls: tuple[TLSProxy, str]) -> None:
    proxy, ca = tls
    url = f"valkeys://:{PASSWORD}@127.0.0.1:{proxy.port}?ssl_ca_certs={ca}"
    async with AsyncValkeySaver.from_conn_string(url) as saver:
        cfg = await saver.aput(
            config("tls-async"), *_checkpoint_args()
        )
        assert (await saver.aget_tuple(cfg)) is not None
        assert await saver.client.ping()


class CountingTLSProxy(TLSProxy):
    """The test TLS proxy, counting the connections clients open (one per attempt)."""

    def __init__(self, backend_port: int, cert: Path, key: Path) -> None:
        super().__init__(backend_port, cert, key)
        self.connections = 0

    def _serve(self, raw: socket.socket) -> None:
        self.connections += 1
        super()._serve(raw)


def _assert_certificate_error(error: BaseException, port: int) -> None:
    message = str(error)
    assert f"TLS certificate verification failed for valkey at 127.0.0.1:{port}: self-signed certificate" in message
    assert "check ssl_ca_certs" in message and "cannot reach" not in message
    assert isinstance(error, CertificateVerificationError) and isinstance(error, BackendError)
    assert not isinstance(error, TransientBackendError)  # no retry makes a certificate trusted
    assert isinstance(error, ConnectionError)  # seed 002 catches ConnectionError


def test_tls_rejects_an_untrusted_certificate(tls: tuple[TLSProxy, str]) -> None:
    proxy, _ = tls
    with pytest.raises(CertificateVerificationError) as info:
        with ValkeySaver.from_conn_string(f"valkeys://:{PASSWORD}@127.0.0.1:{proxy.port}"):
            pass
    _assert_certificate_error(info.value, proxy.port)


async def test_tls_rejects_an_untrusted_certificate_async(tls: tuple[TLSProxy, str]) -> None:
    proxy, _ = tls
    with pytest.raises(CertificateVerificationError) as info:
        async with AsyncValkeySaver.from_conn_string(f"valkeys://:{PASSWORD}@127.0.0.1:{proxy.port}"):
            pass
    _assert_certificate_error(info.value, proxy.port)


def test_tls_certificate_failure_is_not_retried(
    tmp_path_factory: pytest.TempPathFactory, secured: EmbeddedValkey
) -> None:
    cert, key = self_signed_cert(tmp_path_factory.mktemp("tls-count"))
    sleeps: list[float] = []
    with CountingTLSProxy(secured.port, cert, key) as proxy:
        client = valkey.Valkey.from_url(f"valkeys://:{PASSWORD}@127.0.0.1:{proxy.port}", socket_connect_timeout=2)
        saver = ValkeySaver(client, retry=RetryPolicy(attempts=3, sleep=sleeps.append))
        try:
            with pytest.raises(CertificateVerificationError) as info:
                saver.get_tuple(config("tls-retry"))
        finally:
            saver.close()
            client.close()
    _assert_certificate_error(info.value, proxy.port)
    assert proxy.connections == 1 and sleeps == []


def _checkpoint_args():  # type: ignore[no-untyped-def]
    from langgraph.checkpoint.base import empty_checkpoint

    cp = empty_checkpoint()
    cp["channel_values"] = {"x": 1}
    cp["channel_versions"] = {"x": "1"}
    return cp, {"step": 1}, {"x": "1"}
