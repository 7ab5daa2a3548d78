"""batchsieve on Ray Serve: many replicas, each with its own ``BatchProcessor``, and duplicates still meet.

Needs the ``ray`` extra (``pip install 'batchsieve[ray]'``: Ray Serve 2.56 or later).

>>> app = batchsieve_deployment(run_llm, num_replicas=2, window_ms=20).bind()   # doctest: +SKIP
>>> handle = serve.run(app)                                                      # doctest: +SKIP
>>> await handle.remote({"query": "What's the weather?"}, scope="tenant-1")      # doctest: +SKIP
"""

from .deployment import BatchsieveReplica, batchsieve_deployment
from .http import BatchsieveIngress, batchsieve_http
from .keys import RoutingKey, rank_replicas
from .router import SPILL_FACTOR, SPILL_SLACK, KeyAffineRouter
from .stats import DeploymentStats, ReplicaStats, aggregate_stats, gather_stats

__all__ = [
    "SPILL_FACTOR",
    "SPILL_SLACK",
    "BatchsieveIngress",
    "BatchsieveReplica",
    "DeploymentStats",
    "KeyAffineRouter",
    "ReplicaStats",
    "RoutingKey",
    "aggregate_stats",
    "batchsieve_deployment",
    "batchsieve_http",
    "gather_stats",
    "rank_replicas",
]
