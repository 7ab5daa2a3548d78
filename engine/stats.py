"""Counters and latency figures of a processor, read with :meth:`BatchProcessor.get_stats`."""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BatchStats"]

_LATENCY_WINDOW = 100_000  # latencies kept for the percentiles (the most recent ones)


@dataclass(frozen=True, slots=True)
class BatchStats:
    """A snapshot of a processor's work so far.

    Rates count *caller requests*: a request answered through a duplicate counts once per caller.
    ``dedup_rate`` is the share of answered requests that did not need a handler slot of their own;
    ``cost_saved_usd`` is ``requests_saved * cost_per_request``.
    """

    total_requests: int  # accepted by process()
    completed_requests: int  # answered with a result
    failed_requests: int  # answered with an exception (handler error, bad result, processing timeout)
    cancelled_requests: int  # callers that gave up (their own timeout or cancellation)
    total_batches: int  # handler calls
    handler_requests: int  # unique requests handed to the handler, over all calls
    avg_batch_size: float  # handler_requests / total_batches
    avg_requests_per_batch: float  # caller requests answered per handler call
    dedup_rate: float  # 1 - handler_requests / answered requests
    requests_saved: int  # answered requests that used no handler slot of their own
    handler_calls_saved: int  # answered requests - handler calls (unbatched: one call per request)
    cost_saved_usd: float
    requests_per_second: float  # answered requests / seconds from first arrival to last answer
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    queue_depth: int  # caller requests waiting in the queue now
    in_flight_batches: int
    errors: int  # batches whose handler raised or returned a malformed result
    timeouts: int  # handler calls over processing_timeout plus callers whose timeout ran out
    dedup_failures: int  # batches whose semantic dedup failed or timed out and fell back to exact matching
    current_window_ms: float
    cold_start_batches: int = 0  # batches that used exact matching because the encoder was still loading
    dropped_before_call: int = 0  # handler slots dropped right before the call: every caller had left
    stuck_handler_calls: int = 0  # sync handler calls past their time limit whose thread still runs (slot held)
    policy_errors: int = 0  # exceptions from the dispatch policy (the dispatcher carried on without it)
    streams_started: int = 0  # upstream streams a generator handler produced (one per distinct request)
    stream_subscribers: int = 0  # readers of those streams (stream() calls, and process() on a generator handler)
    subscribers_per_stream: float = 0.0  # stream_subscribers / streams_started
    stream_chunks_generated: int = 0  # chunks the handler produced into the streams
    stream_chunks_fanned_out: int = 0  # chunks handed to readers (each reader counts its own)
    streams_closed_early: int = 0  # streams whose every reader left before the end (generator closed when all did)
    stream_overflows: int = 0  # readers cut off for falling more than `buffer` chunks behind (StreamOverflowError)
    merges: dict[str, int] = field(default_factory=dict)  # by stage: exact_queued, exact_inflight, ...
    dispatch_reasons: dict[str, int] = field(default_factory=dict)  # full, window, max_wait, ...
    policy: dict[str, Any] = field(default_factory=dict)  # the window policy's own estimates
    dedup: dict[str, Any] = field(default_factory=dict)  # strategy details (encoder time, cache, ...)
    gpu: dict[str, Any] | None = None  # the encoder's GPU, sampled through NVML (None without one)
    #: the live merge audit (``audit_rate``): audited merges, disagreements and their rate by stage, a sample
    audit: dict[str, Any] = field(default_factory=dict)
    recent_merges: tuple[dict[str, Any], ...] = ()  # the last merges (texts truncated), oldest first
    on_merge_errors: int = 0  # exceptions raised by the on_merge callback (logged once)


class StatsCollector:
    """Mutable counters owned by one processor (event-loop thread only)."""

    def __init__(self) -> None:
        self.completed = 0
        self.failed = 0
        self.cancelled = 0
        self.batches = 0
        self.handler_requests = 0
        self.answered_by_batches = 0
        self.errors = 0
        self.timeouts = 0
        self.dedup_failures = 0
        self.dropped_before_call = 0
        self.cold_start_batches = 0
        self.stuck_handler_calls = 0
        self.policy_errors = 0
        self.streams_started = 0
        self.stream_subscribers = 0
        self.stream_chunks_generated = 0
        self.stream_chunks_fanned_out = 0
        self.streams_closed_early = 0
        self.stream_overflows = 0
        self.last_dedup_failure: str | None = None
        self.merges: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.latencies: deque[float] = deque(maxlen=_LATENCY_WINDOW)
        self.first_arrival: float | None = None  # perf_counter time
        self.last_answer: float | None = None

    def mark_first_arrival(self) -> None:
        if self.first_arrival is None:
            self.first_arrival = time.perf_counter()

    def snapshot(self, *, total_requests: int, cost_per_request: float, queue_depth: int, in_flight: int,
                 window_ms: float, policy: dict[str, Any], dedup: dict[str, Any],
                 gpu: dict[str, Any] | None = None, merge_log: Any = None) -> BatchStats:
        answered = self.answered_by_batches
        saved = max(answered - self.handler_requests, 0)
        elapsed = (self.last_answer or 0.0) - (self.first_arrival or 0.0)
        p50 = p95 = p99 = 0.0
        if self.latencies:
            import numpy as np

            p50, p95, p99 = (float(x) * 1e3 for x in np.percentile(np.fromiter(self.latencies, float),
                                                                     [50, 95, 99]))
        return BatchStats(
            total_requests=total_requests,
            completed_requests=self.completed,
            failed_requests=self.failed,
            cancelled_requests=self.cancelled,
            total_batches=self.batches,
            handler_requests=self.handler_requests,
            avg_batch_size=self.handler_requests / self.batches if self.batches else 0.0,
            avg_requests_per_batch=answered / self.batches if self.batches else 0.0,
            dedup_rate=saved / answered if answered else 0.0,
            requests_saved=saved,
            handler_calls_saved=max(answered - self.batches, 0),
            cost_saved_usd=round(saved * cost_per_request, 10),
            requests_per_second=answered / elapsed if elapsed > 0 else 0.0,
            latency_p50_ms=p50,
            latency_p95_ms=p95,
            latency_p99_ms=p99,
            queue_depth=queue_depth,
            in_flight_batches=in_flight,
            errors=self.errors,
            timeouts=self.timeouts,
            dedup_failures=self.dedup_failures,
            current_window_ms=window_ms,
            cold_start_batches=self.cold_start_batches,
            dropped_before_call=self.dropped_before_call,
            stuck_handler_calls=self.stuck_handler_calls,
            policy_errors=self.policy_errors,
            streams_started=self.streams_started,
            stream_subscribers=self.stream_subscribers,
            subscribers_per_stream=self.stream_subscribers / self.streams_started if self.streams_started else 0.0,
            stream_chunks_generated=self.stream_chunks_generated,
            stream_chunks_fanned_out=self.stream_chunks_fanned_out,
            streams_closed_early=self.streams_closed_early,
            stream_overflows=self.stream_overflows,
            merges=dict(self.merges),
            dispatch_reasons=dict(self.reasons),
            policy=policy,
            dedup=({**dedup, "last_failure": self.last_dedup_failure} if self.last_dedup_failure
                   else dedup),
            gpu=gpu,
            audit=merge_log.audit_stats() if merge_log is not None else {},
            recent_merges=merge_log.recent() if merge_log is not None else (),
            on_merge_errors=merge_log.callback_errors if merge_log is not None else 0,
        )
