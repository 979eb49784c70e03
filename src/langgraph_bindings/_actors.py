"""Carrying ``configurable.actor_id`` from a run to its subgraphs, for every saver that requires an actor.

LangGraph rebuilds a subgraph's config from ``thread_id`` and ``checkpoint_ns``
only, so the subgraph's calls lose the actor. ``ActorCarrier`` remembers the
(thread_id, actor_id) of the last call in this context (thread or asyncio
task) whose config named both, and gives that actor to a subgraph's config (a
non-empty ``checkpoint_ns``) on the same thread. A top-level call without an
actor stays an error (or takes ``default_actor_id``).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Optional

from langchain_core.runnables import RunnableConfig

from ..domain.models import ThreadKey

__all__ = ["ActorCarrier", "CARRIED_ACTOR"]

# Module-level: a ContextVar is never garbage collected.
CARRIED_ACTOR: ContextVar[Optional[tuple[str, str]]] = ContextVar("agentcore_actor", default=None)


class ActorCarrier:
    """Mixin for ``RepositorySaver`` subclasses that require ``configurable.actor_id``.

    Put it before the saver class in the bases; the class sets ``default_actor_id``.
    """

    default_actor_id: Optional[str] = None

    def _entered(self, config: Optional[RunnableConfig]) -> None:
        """Carry the actor of a config that names a thread and an actor (see the module docstring).

        Runs first in every entry point that takes a config, in the caller's
        context: a sync call on an async client runs in a task on the client's
        loop, whose context changes would never reach the caller.
        """
        configurable = (config or {}).get("configurable") or {}
        thread_id, actor_id = configurable.get("thread_id"), configurable.get("actor_id")
        if thread_id not in (None, "") and actor_id not in (None, ""):
            CARRIED_ACTOR.set((str(thread_id), str(actor_id)))

    def _thread(self, config: Optional[RunnableConfig], *, what: str = "config") -> ThreadKey:
        configurable = (config or {}).get("configurable") or {}
        if configurable.get("actor_id") in (None, ""):
            carried = CARRIED_ACTOR.get()
            thread_id = configurable.get("thread_id")
            if (
                carried is not None
                and configurable.get("checkpoint_ns") not in (None, "")
                and thread_id not in (None, "")
                and carried[0] == str(thread_id)
            ):
                actor: Optional[str] = carried[1]
            else:
                actor = self.default_actor_id
            if actor is not None:
                config = {**(config or {}), "configurable": {**configurable, "actor_id": actor}}
        thread: ThreadKey = super()._thread(config, what=what)  # type: ignore[misc]
        return thread

    def _actor_for_ids(self, actor_id: Optional[str]) -> Optional[str]:
        actor: Optional[str] = super()._actor_for_ids(actor_id)  # type: ignore[misc]
        return actor if actor is not None else self.default_actor_id

    def _config(self, thread: ThreadKey, ns: str, checkpoint_id: str) -> Any:
        config = super()._config(thread, ns, checkpoint_id)  # type: ignore[misc]
        if self.default_actor_id is not None and thread.actor_id == self.default_actor_id:
            config["configurable"].pop("actor_id", None)
        return config
