"""Prometheus metrics, through prometheus-client, in a registry of the app's own.

Two sources:

* the server observes what only it sees: each HTTP response by route and status, each request item's outcome
  (``ok``, ``timeout``, ``queue_full``, ``failed``, ``unavailable``), the latency of each call into the
  processor, and, by wrapping the handler, each handler call's batch size and duration;
* :class:`ProcessorCollector` reads ``batch.get_stats()`` (and the encoder's counters) at every scrape:
  accepted and answered requests, handler calls and items, merges by stage, dispatches by reason, queue
  depth, in-flight batches, timeouts, errors, dedup failures. Scrapes run on the event loop, the only thread
  the processor's counters may be read from.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .._handler import is_stream_handler

__all__ = ["CONTENT_TYPE", "OUTCOMES", "ProcessorCollector", "ServerMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OUTCOMES = ("ok", "timeout", "queue_full", "failed", "unavailable")

_LATENCY_BUCKETS = (.001, .0025, .005, .01, .025, .05, .075, .1, .25, .5, .75, 1, 2.5, 5, 10, 30, 60)
_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class ProcessorCollector(Collector):
    """The processor's (and the encoder's) counters, read at scrape time."""

    def __init__(self, get_batch: Callable[[], Any], get_encoder: Callable[[], Any] = lambda: None) -> None:
        self._get_batch = get_batch
        self._get_encoder = get_encoder

    def collect(self) -> Iterator[Metric]:
        batch = self._get_batch()
        if batch is not None:
            yield from self._processor(batch.get_stats())
        encoder = self._get_encoder()
        stats = getattr(encoder, "stats", None)
        if callable(stats):
            yield from self._encoder(stats())

    @staticmethod
    def _processor(s: Any) -> Iterator[Metric]:
        def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
            return CounterMetricFamily(f"batchsieve_{name}", doc, value=value)

        yield counter("processor_requests", "Requests the processor accepted (each input item is one)",
                      s.total_requests)
        answered = CounterMetricFamily("batchsieve_processor_answered", "Accepted requests by how they ended",
                                       labels=["result"])
        answered.add_metric(["completed"], s.completed_requests)
        answered.add_metric(["failed"], s.failed_requests)
        answered.add_metric(["cancelled"], s.cancelled_requests)
        yield answered
        yield counter("handler_calls", "Handler calls (batches)", s.total_batches)
        yield counter("handler_items", "Unique requests handed to the handler", s.handler_requests)
        merges = CounterMetricFamily("batchsieve_merges", "Requests answered by another's handler slot, by stage",
                                     labels=["stage"])
        for stage, n in sorted(s.merges.items()):
            merges.add_metric([stage], n)
        yield merges
        reasons = CounterMetricFamily("batchsieve_dispatches", "Batches dispatched, by reason", labels=["reason"])
        for reason, n in sorted(s.dispatch_reasons.items()):
            reasons.add_metric([reason], n)
        yield reasons
        yield counter("timeouts", "Handler calls over processing_timeout plus callers whose timeout ran out",
                      s.timeouts)
        yield counter("errors", "Batches whose handler raised or returned a malformed result", s.errors)
        yield counter("dedup_failures", "Batches whose semantic dedup failed and fell back to exact matching",
                      s.dedup_failures)
        yield counter("dropped_before_call", "Handler slots dropped because every caller had left",
                      s.dropped_before_call)
        yield GaugeMetricFamily("batchsieve_queue_depth", "Caller requests waiting in the queue", value=s.queue_depth)
        yield GaugeMetricFamily("batchsieve_in_flight_batches", "Batches being handled now",
                                value=s.in_flight_batches)
        yield GaugeMetricFamily("batchsieve_stuck_handler_calls", "Sync handler calls past their time limit",
                                value=s.stuck_handler_calls)
        yield GaugeMetricFamily("batchsieve_window_seconds", "The current collection window",
                                value=s.current_window_ms / 1e3)

    @staticmethod
    def _encoder(e: Any) -> Iterator[Metric]:
        for name, doc, value in (
                ("encoder_texts", "Texts given to the encoder", e.texts),
                ("encoder_encoded", "Texts the model ran on (not served from the encoder's cache)", e.encoded),
                ("encoder_model_batches", "Model forward passes", e.batches),
                ("encoder_tokens", "Real (unpadded) tokens fed to the model", e.real_tokens),
                ("encoder_model_seconds", "Seconds spent in the model", e.model_seconds)):
            yield CounterMetricFamily(f"batchsieve_{name}", doc, value=value)


class ServerMetrics:
    """The app's registry and the collectors the server feeds itself."""

    def __init__(self, get_batch: Callable[[], Any], get_encoder: Callable[[], Any] = lambda: None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.http = Counter("batchsieve_http_responses", "HTTP responses by route and status",
                            ["route", "status"], registry=r)
        self.http_seconds = Histogram("batchsieve_http_request_seconds", "HTTP request duration by route",
                                      ["route"], buckets=_LATENCY_BUCKETS, registry=r)
        self.outcomes = Counter("batchsieve_requests", "Request items by outcome (one per input)", ["outcome"],
                                registry=r)
        for outcome in OUTCOMES:
            self.outcomes.labels(outcome)  # every outcome is exported from the start, at 0
        self.latency = Histogram("batchsieve_request_latency_seconds",
                                 "Seconds one call waited in the processor (queue, batch, handler)",
                                 buckets=_LATENCY_BUCKETS, registry=r)
        self.batch_size = Histogram("batchsieve_batch_size", "Unique requests per handler call",
                                    buckets=_SIZE_BUCKETS, registry=r)
        self.handler_seconds = Histogram("batchsieve_handler_seconds", "Handler call duration",
                                         buckets=_LATENCY_BUCKETS, registry=r)
        r.register(ProcessorCollector(get_batch, get_encoder))

    def observe_handler(self, handler: Callable[[list], Any]) -> Callable[[list], Any]:
        """``handler`` wrapped to observe each call's batch size and duration (sync or async alike)."""
        import inspect

        sizes, seconds = self.batch_size, self.handler_seconds
        if is_stream_handler(handler):  # a generator handler: the duration is the whole generation's
            async def observed_stream(requests: list) -> Any:
                sizes.observe(len(requests))
                t0 = time.perf_counter()
                gen = handler(requests)
                try:
                    async for step in gen:
                        yield step
                finally:
                    await gen.aclose()  # closing this one closes the handler's (the backend stops)
                    seconds.observe(time.perf_counter() - t0)

            return observed_stream
        if inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
                getattr(handler, "__call__", None)):  # noqa: B004 - an async __call__ makes an async handler
            async def observed_async(requests: list) -> Any:
                sizes.observe(len(requests))
                t0 = time.perf_counter()
                try:
                    return await handler(requests)
                finally:
                    seconds.observe(time.perf_counter() - t0)

            return observed_async

        def observed(requests: list) -> Any:
            sizes.observe(len(requests))
            t0 = time.perf_counter()
            try:
                return handler(requests)
            finally:
                seconds.observe(time.perf_counter() - t0)

        return observed

    def render(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)
