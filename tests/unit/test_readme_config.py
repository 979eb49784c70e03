"""The README's configuration example loads exactly as written."""

from __future__ import annotations

import re
from pathlib import Path

from langgraph_checkpoint_aws import create_container
from langgraph_checkpoint_aws.wiring.options import PersistenceOptions

README = Path(__file__).resolve().parents[2] / "README.md"


def _yaml_block() -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    documented = [b for b in blocks if b.startswith("# persistence.yaml")]
    assert len(documented) == 1, "README must hold one ```yaml block starting with '# persistence.yaml'"
    return documented[0]


def test_readme_yaml_block_loads_as_written(tmp_path: Path) -> None:
    path = tmp_path / "persistence.yaml"
    path.write_text(_yaml_block())
    container = create_container(str(path))
    options = container.options()
    assert isinstance(options, PersistenceOptions)
    # Every section of the example is checked, also those of backends not selected.
    assert options.valkey is not None and options.valkey.url
    assert options.dynamodb is not None and options.dynamodb.s3_offload is not None
    assert options.store.index is None and options.cache.ttl_seconds is None
    container.checkpoint_service()  # the selected (memory) backend builds
    container.shutdown_resources()
