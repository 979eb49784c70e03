"""Small builders of LangGraph checkpoints for the Valkey integration tests."""

from __future__ import annotations

from typing import Any, Optional

from langgraph.checkpoint.base import empty_checkpoint


def config(thread_id: str, checkpoint_id: Optional[str] = None, ns: str = "", **extra: Any) -> dict[str, Any]:
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ns, **extra}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def put_step(saver: Any, thread_id: str, i: int, parent: Optional[str] = None, *, big: Optional[str] = None, ns: str = "", **extra: Any) -> dict[str, Any]:
    """Put checkpoint ``i`` of a thread: channel ``step`` changes, ``big`` only when given."""
    cp = empty_checkpoint()
    cp["id"] = f"1ef00000-0000-6000-8000-{i:012d}"
    versions = {"step": f"{i:032}.0"}
    cp["channel_values"] = {"step": i}
    new_versions = dict(versions)
    if big is not None:
        cp["channel_values"]["big"] = big
        versions["big"] = f"{1:032}.0"
        if i == 0 or parent is None:
            new_versions["big"] = versions["big"]
    cp["channel_versions"] = versions
    return saver.put(config(thread_id, parent, ns, **extra), cp, {"step": i, "source": "loop"}, new_versions)
