"""``batchsieve_deployment``: a Ray Serve deployment whose replicas each own a ``BatchProcessor``.

::

    app = batchsieve_deployment(run_llm, num_replicas=2, window_ms=20, max_size=32).bind()
    handle = serve.run(app)
    answer = await handle.remote("What's the weather?", scope="tenant-1")
    one_replica = await handle.stats.remote()          # ReplicaStats of whichever replica answered
    everything = await gather_stats(handle)            # DeploymentStats: the aggregate and every replica
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any, ClassVar

import ray
from ray import serve
from ray.serve.config import RequestRouterConfig

from .._checks import check_bool
from ..processor import BatchProcessor
from .keys import RoutingKey
from .router import KeyAffineRouter, router_kwargs
from .stats import ReplicaStats

__all__ = ["BatchsieveReplica", "batchsieve_deployment"]

_RECENT_LATENCIES = 10_000  # call latencies each replica keeps for the deployment-wide percentiles


class BatchsieveReplica:
    """One replica: a ``BatchProcessor`` around the deployment's handler, created in the replica.

    ``handler`` and ``options`` are class attributes of the subclass :func:`batchsieve_deployment` makes,
    so the deployment binds with no arguments and ships the handler to its replicas by value.
    """

    handler: ClassVar[Callable[[list], Any] | None] = None
    options: ClassVar[dict[str, Any]] = {}

    async def __init__(self) -> None:  # Serve awaits an async constructor before the replica takes requests
        self._batch = BatchProcessor(type(self).handler, **type(self).options)
        context = serve.get_replica_context()
        self._replica = context.replica_id.unique_id
        runtime = ray.get_runtime_context()
        self._node = runtime.get_node_id()
        self._actor_name = runtime.get_actor_name() or ""
        self._latencies: deque[float] = deque(maxlen=_RECENT_LATENCIES)
        # the semantic strategies' encoder loads now: the replica is ready when it can serve at full speed
        await self._batch.warmup()

    async def __call__(self, request: Any, scope: Hashable = None, priority: int = 0, dedup: bool = True,
                       timeout: float | None = None, return_exceptions: bool = False) -> Any:
        """``BatchProcessor.process`` on this replica's processor (same arguments, same answers)."""
        started = time.perf_counter()
        try:
            return await self._batch.process(request, scope=scope, priority=priority, dedup=dedup,
                                             timeout=timeout, return_exceptions=return_exceptions)
        finally:
            self._latencies.append((time.perf_counter() - started) * 1000.0)

    async def stats(self) -> ReplicaStats:
        """This replica's processor stats, with its id, node and its recent call latencies."""
        return ReplicaStats(self._replica, self._node, self._actor_name, self._batch.get_stats(),
                            tuple(self._latencies))

    async def __del__(self) -> None:
        # Serve calls this at a graceful shutdown or scale-down, after its own wait for ongoing calls:
        # close() answers whatever is still queued before the replica goes
        await self._batch.close()


def _check_replicas(num_replicas: object) -> int:
    if num_replicas.__class__ is not int:
        raise TypeError(f"num_replicas must be an int, got {type(num_replicas).__name__}")
    if num_replicas < 1:
        raise ValueError(f"num_replicas must be >= 1, got {num_replicas}")
    return num_replicas


def batchsieve_deployment(handler: Callable[[list], Any], *, name: str = "batchsieve", num_replicas: int = 1,
                          route_by_key: bool = True, ray_actor_options: dict[str, Any] | None = None,
                          max_ongoing_requests: int | None = None, **processor_options: Any) -> Any:
    """A Ray Serve deployment of ``num_replicas`` replicas, each running ``BatchProcessor(handler,
    **processor_options)``; ``.bind()`` it and ``serve.run`` the application.

    ``route_by_key=True``: :class:`KeyAffineRouter` sends each request to the replica its dedup key (scope
    and normalised text) ranks first, so duplicates meet on one replica; ``False``: Ray's default router
    (power of two choices). ``ray_actor_options``: Ray's (``None``: Ray's defaults, one CPU per replica).
    ``max_ongoing_requests``: calls one replica takes at once (default: the processor's
    ``max_queue_size``, 10,000 unless set: Serve's own default of 5 would starve the batcher). Every argument
    and option is checked here, before anything is deployed.
    """
    config = BatchProcessor(handler, **processor_options).config  # checks the handler and every option now
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    num_replicas = _check_replicas(num_replicas)
    route_by_key = check_bool("route_by_key", route_by_key)
    if ray_actor_options is not None and not isinstance(ray_actor_options, dict):
        raise TypeError(f"ray_actor_options must be a dict or None, got {type(ray_actor_options).__name__}")
    if max_ongoing_requests is None:
        max_ongoing_requests = config.max_queue_size
    elif max_ongoing_requests.__class__ is not int:
        raise TypeError(f"max_ongoing_requests must be an int, got {type(max_ongoing_requests).__name__}")
    elif max_ongoing_requests < 1:
        raise ValueError(f"max_ongoing_requests must be >= 1, got {max_ongoing_requests}")
    replica_cls = type("BatchsieveReplica", (BatchsieveReplica,),
                       {"handler": staticmethod(handler), "options": dict(processor_options),
                        "__module__": __name__, "__qualname__": f"BatchsieveReplica[{name}]"})
    settings: dict[str, Any] = {"name": name, "num_replicas": num_replicas,
                                "max_ongoing_requests": max_ongoing_requests}
    if ray_actor_options is not None:
        settings["ray_actor_options"] = dict(ray_actor_options)
    if route_by_key:
        settings["request_router_config"] = RequestRouterConfig(
            request_router_class=KeyAffineRouter,
            request_router_kwargs=router_kwargs(RoutingKey.from_options(processor_options)))
    return serve.deployment(replica_cls, **settings)
