"""The running server's state: the processor, the encoder, readiness and draining, and the one place where a
route's call meets the processor (:meth:`ServerState.submit`).

One :class:`ServerState` lives on ``app.state.batchsieve``. Everything here runs on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable
from typing import Any

from ..errors import BatchTimeoutError, ProcessorClosedError, QueueFullError
from ..processor import BatchProcessor
from .auth import KeyRing
from .config import ServerConfig
from .errors import ApiError, engine_error
from .metrics import ServerMetrics

__all__ = ["ServerState"]

logger = logging.getLogger("batchsieve.server")


def outcome_of(exc: BaseException) -> str:
    """The ``outcome`` label of an exception a call raised."""
    if isinstance(exc, QueueFullError):
        return "queue_full"
    if isinstance(exc, BatchTimeoutError):
        return "timeout"
    if isinstance(exc, ProcessorClosedError):
        return "unavailable"
    return "failed"  # BatchProcessingError, or an exception the handler put in this request's slot


class ServerState:
    """What the routes share. ``embeddings``: the default-model API (the processor starts once the encoder
    has loaded); otherwise a handler API (the processor starts with the app)."""

    def __init__(self, config: ServerConfig, *, embeddings: bool, model_name: str) -> None:
        self.config = config
        self.embeddings = embeddings
        self.model_name = model_name
        self.keys = KeyRing(config.api_keys)
        self.batch: BatchProcessor | None = None
        self.encoder: Any = None
        self.load_error: str | None = None
        self.draining = False
        self.started_at = time.time()
        # HTTP accounting (the middleware): requests read, responses finished, requests in progress
        self.http_accepted = 0
        self.http_answered = 0
        self.http_in_flight = 0
        self.in_flight_at_drain: int | None = None
        self.metrics = ServerMetrics(lambda: self.batch, lambda: self.encoder)

    @property
    def ready(self) -> bool:
        """Whether requests can be served: the processor is up (the model loaded) and not closing."""
        return self.batch is not None and not self.batch.closed

    def start_processor(self, handler: Callable[[list], Any], options: dict[str, Any]) -> None:
        """Create the processor around ``handler`` (observed for the batch-size and duration metrics)."""
        self.batch = BatchProcessor(self.metrics.observe_handler(handler), **options)

    def begin_drain(self) -> None:
        """A shutdown signal arrived: ``/readyz`` fails from now on; accepted requests are still answered."""
        if not self.draining:
            self.draining = True
            self.in_flight_at_drain = self.http_in_flight

    async def drain(self) -> None:
        """Stop the processor: everything accepted is answered (within ``drain_timeout``), new calls get 503."""
        self.begin_drain()
        if self.batch is not None and not self.batch.closed:
            await self.batch.close(timeout=self.config.drain_timeout)

    def unavailable(self) -> ApiError | None:
        """Why requests cannot be served now (503), or ``None``."""
        headers = {"Retry-After": str(self.config.retry_after)}
        if self.load_error is not None:
            return ApiError(503, "the model failed to load; see the server log", headers=headers)
        if self.batch is None:
            return ApiError(503, "the model is still loading", headers=headers)
        if self.batch.closed:
            return ApiError(503, "the server is shutting down", headers=headers)
        return None

    def timeout_for(self, timeout_ms: float | None) -> float | None:
        """The caller's wait: the client's ``timeout_ms`` if given, never longer than the server's bound."""
        bound = self.config.request_timeout
        if timeout_ms is None:
            return bound
        seconds = timeout_ms / 1e3
        return seconds if bound is None else min(seconds, bound)

    async def submit(self, request: Any, n_items: int, *, scope: Hashable, priority: int = 0,
                     timeout: float | None = None, dedup: bool = True) -> Any:
        """``await batch.process(request, ...)`` with the engine's errors as :class:`ApiError` and every
        item's outcome counted. The route has checked the request's shape: any exception here is the
        server's or the handler's (an exception the handler put in a result slot included), so a 5xx."""
        refused = self.unavailable()
        if refused is not None:
            self.metrics.outcomes.labels("unavailable").inc(n_items)
            raise refused
        batch = self.batch
        assert batch is not None
        t0 = time.perf_counter()
        try:
            result = await batch.process(request, priority=priority, timeout=timeout, scope=scope, dedup=dedup)
        except asyncio.CancelledError:
            raise  # the client went away: the processor already released its slots
        except Exception as exc:
            self.metrics.outcomes.labels(outcome_of(exc)).inc(n_items)
            raise engine_error(exc, self.config.retry_after) from None
        finally:
            self.metrics.latency.observe(time.perf_counter() - t0)
        self.metrics.outcomes.labels("ok").inc(n_items)
        return result

    def summary(self) -> dict[str, Any]:
        """The server's own figures, for ``/v1/stats`` and the log line at exit."""
        return {"mode": "embeddings" if self.embeddings else "handler", "model": self.model_name,
                "ready": self.ready, "draining": self.draining, "load_error": self.load_error,
                "uptime_s": round(time.time() - self.started_at, 3), "http_accepted": self.http_accepted,
                "http_answered": self.http_answered, "http_in_flight": self.http_in_flight,
                "in_flight_at_drain": self.in_flight_at_drain, "auth": self.keys.enabled}
