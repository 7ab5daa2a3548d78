"""Stats of a batchsieve deployment: one replica's (``handle.stats.remote()``) and every replica's together.

:func:`gather_stats` asks every live replica at once with Ray Serve's ``DeploymentHandle.broadcast`` and
sums them: requests, handler calls and slots, what dedup saved; latency percentiles are computed over the
replicas' recent calls together (each replica keeps its last 10,000), not averaged from per-replica
percentiles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..stats import BatchStats

__all__ = ["DeploymentStats", "ReplicaStats", "aggregate_stats", "gather_stats"]


@dataclass(frozen=True, slots=True)
class ReplicaStats:
    """One replica's figures: its Serve replica id, its Ray node and actor name (for ``ray.get_actor(name,
    namespace="serve")``), its processor's stats, and the latencies (ms, end to end in the replica) of its most
    recent calls."""

    replica: str
    node: str
    actor_name: str
    stats: BatchStats
    recent_latencies_ms: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class DeploymentStats:
    """The whole deployment: sums over replicas, and the per-replica rows (sorted by replica id).

    ``dedup_rate``: the share of answered requests that needed no handler slot of their own, over all
    replicas (duplicates that met on one replica). ``avg_batch_size``: unique requests per handler call.
    ``latency_*_ms``: percentiles of the replicas' recent calls together.
    """

    replicas: tuple[ReplicaStats, ...]
    total_requests: int
    completed_requests: int
    failed_requests: int
    cancelled_requests: int
    total_batches: int
    handler_requests: int
    requests_saved: int
    dedup_rate: float
    avg_batch_size: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float

    @property
    def requests_by_replica(self) -> dict[str, int]:
        """Requests each replica accepted, by replica id."""
        return {r.replica: r.stats.total_requests for r in self.replicas}


def _percentile(ordered: list[float], q: float) -> float:
    """The nearest-rank percentile of sorted values (0.0 for none)."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100.0 * len(ordered)) - 1))]


def aggregate_stats(rows: list[ReplicaStats]) -> DeploymentStats:
    """The deployment's figures from its replicas' rows."""
    rows = sorted(rows, key=lambda r: r.replica)
    stats = [r.stats for r in rows]
    # answered by handler calls, per replica: what its dedup_rate is a share of
    answered = sum(round(s.avg_requests_per_batch * s.total_batches) for s in stats)
    saved = sum(s.requests_saved for s in stats)
    batches = sum(s.total_batches for s in stats)
    slots = sum(s.handler_requests for s in stats)
    latencies = sorted(x for r in rows for x in r.recent_latencies_ms)
    return DeploymentStats(
        replicas=tuple(rows),
        total_requests=sum(s.total_requests for s in stats),
        completed_requests=sum(s.completed_requests for s in stats),
        failed_requests=sum(s.failed_requests for s in stats),
        cancelled_requests=sum(s.cancelled_requests for s in stats),
        total_batches=batches,
        handler_requests=slots,
        requests_saved=saved,
        dedup_rate=saved / answered if answered else 0.0,
        avg_batch_size=slots / batches if batches else 0.0,
        latency_p50_ms=_percentile(latencies, 50),
        latency_p95_ms=_percentile(latencies, 95),
        latency_p99_ms=_percentile(latencies, 99),
    )


async def gather_stats(handle: Any, *, timeout_s: float | None = 30.0) -> DeploymentStats:
    """Every live replica's stats (one ``broadcast`` call) and their aggregate. ``handle``: the
    deployment's ``DeploymentHandle`` (what ``serve.run`` returned)."""
    rows = await handle.broadcast("stats").results_async(timeout_s=timeout_s)
    return aggregate_stats(list(rows))
