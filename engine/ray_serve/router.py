"""Key-affine routing for Ray Serve: a request goes to the replica its dedup key ranks first.

Built on Ray Serve's request-routing extension point (``ray.serve.request_router.RequestRouter``, set with
``RequestRouterConfig(request_router_class=...)``). The router runs inside every deployment handle (the
driver's, the HTTP proxy's, an ingress replica's) and sees each call's arguments before it picks a
replica, so it can route by the same key the processor deduplicates by. Ray does the rest: probing and
caching replica queue lengths, backing off while every replica is full, dropping dead replicas.
"""

from __future__ import annotations

import base64
import random
from typing import Any

from ray import cloudpickle
from ray.serve.request_router import PendingRequest, RequestRouter, RunningReplica

from .keys import RoutingKey, rank_replicas

__all__ = ["KeyAffineRouter", "router_kwargs"]

#: a first choice is "far above the average" when its queue holds more than SPILL_FACTOR times the mean queue
#: of the replicas plus SPILL_SLACK requests: 2x is the imbalance a key's own burst may cause before it is
#: spread (consistent hashing with bounded loads uses 1.25-2); the slack keeps near-idle replicas (where
#: any ratio is noise) from spilling at all, and is one default batch (max_size=32) worth of requests
SPILL_FACTOR = 2.0
SPILL_SLACK = 32


class KeyAffineRouter(RequestRouter):
    """Routes each ``__call__`` by its dedup key with rendezvous hashing and bounded-load spill.

    The replicas are ranked for the key (first choice first); Ray sends the request to the first rank whose
    replica accepts it (queue below ``max_ongoing_requests``). When the first choice's queue is far above
    the average (:data:`SPILL_FACTOR`, :data:`SPILL_SLACK`), its second choice goes first: a hot key spills
    to one more replica instead of piling onto one. A call without a key (another method, ``dedup=False``,
    a request the processor cannot read) goes to the less loaded of two random replicas.

    Requests are matched to the replica chosen for them (no FIFO reassignment), so a key's choice is never
    given to another request. The key rule comes from the processor's options (``text_key``, ``text_fn``,
    ``normalize``) through ``request_router_kwargs`` (see :func:`router_kwargs`).
    """

    routing_key: RoutingKey = RoutingKey()
    spill_factor: float = SPILL_FACTOR
    spill_slack: int = SPILL_SLACK

    def initialize_state(self, routing_key: str | None = None, **kwargs: Any) -> None:
        """Called by Serve with ``request_router_kwargs``: the key rule, and counters of the decisions."""
        if routing_key is not None:
            self.routing_key = cloudpickle.loads(base64.b64decode(routing_key))
        self.routed_by_key = 0
        self.spilled = 0
        self.routed_by_load = 0

    def key_of(self, pending_request: PendingRequest | None) -> bytes | None:
        """The routing key of a pending ``__call__``, or ``None``."""
        if pending_request is None or pending_request.metadata.call_method != "__call__":
            return None
        args, kwargs = pending_request.args, pending_request.kwargs
        if not args:
            return None
        return self.routing_key(args[0], kwargs.get("scope"), kwargs.get("dedup", True))

    def queue_len(self, replica: RunningReplica) -> int:
        """The replica's queue length as Ray's cache knows it (0 when unknown)."""
        return self.replica_queue_len_cache.get(replica.replica_id) or 0

    async def choose_replicas(self, candidate_replicas: list[RunningReplica],
                              pending_request: PendingRequest | None = None) -> list[list[RunningReplica]]:
        """Ranks of replicas, most preferred first (one replica per rank for a keyed request)."""
        if not candidate_replicas:
            return []
        if pending_request is not None:
            # every replica is in the ranks below: if none accepts, Ray should back off before asking again
            # (its locality mixin sets this once it has widened to all replicas; without it Ray retries at once)
            pending_request.routing_context.should_backoff = True
        key = self.key_of(pending_request)
        if key is None:
            self.routed_by_load += 1
            return [random.sample(candidate_replicas, min(2, len(candidate_replicas)))]
        by_id = {r.replica_id.unique_id: r for r in candidate_replicas}
        ranked = [by_id[rid] for rid in rank_replicas(key, list(by_id))]
        if len(ranked) > 1:
            loads = [self.queue_len(r) for r in ranked]
            mean = sum(loads) / len(loads)
            if loads[0] > self.spill_factor * mean + self.spill_slack and loads[1] < loads[0]:
                ranked[0], ranked[1] = ranked[1], ranked[0]
                self.spilled += 1
        self.routed_by_key += 1
        return [[r] for r in ranked]



def router_kwargs(routing_key: RoutingKey) -> dict[str, str]:
    """``request_router_kwargs`` carrying ``routing_key`` to every handle's router. Serve wants JSON there and
    imports the router class by name (a subclass made at run time would not survive), so the key rule, whose
    ``text_fn`` and ``normalize`` are functions, travels cloudpickled (as the processor options themselves do
    to the replicas) in a base64 string."""
    return {"routing_key": base64.b64encode(cloudpickle.dumps(routing_key)).decode("ascii")}
