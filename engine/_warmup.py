"""No silent cold start: the strategy's encoder loads in the background, never inside ``dedup_timeout_ms``.

A semantic strategy whose encoder is not in memory yet (the default model, before anyone loaded it) starts
loading it on a thread of its own when the processor first sees work, or at construction inside a running
loop. Until the load is done, batches use exact matching and count as ``cold_start_batches`` (not as dedup
failures). :meth:`BatchProcessor.warmup` starts the load if needed and waits for it. A failed load is
logged; the batches after it try the strategy, whose own failure then falls back as usual.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from typing import Any

__all__ = ["EncoderLoad", "in_running_loop"]

logger = logging.getLogger("batchsieve")


def in_running_loop() -> bool:
    """Whether this code runs inside a running event loop (a processor built inside a server)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class EncoderLoad:
    """The background load of one strategy's encoder (thread-safe; loop-independent)."""

    def __init__(self, strategy: Any) -> None:
        self._strategy = strategy
        warm = getattr(strategy, "warmup", None)
        # a strategy with nothing to load (exact, custom, a given encoder) is ready from the start
        self._warmable = callable(warm)
        self._needed = self._warmable and getattr(strategy, "blocking", False) and not getattr(strategy, "loaded", True)
        self._future: concurrent.futures.Future[None] | None = None
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        """Whether semantic dedup may run (the load finished, well or not, or none was needed)."""
        return not self._needed or (self._future is not None and self._future.done())

    def start(self, *, force: bool = False) -> concurrent.futures.Future[None] | None:
        """Start the load once (``force``: warm up even a strategy that needs no load, as ``warmup()`` does;
        again after a failed load); the future of the load, or ``None`` when there is nothing to run."""
        with self._lock:
            future = self._future
            failed = future is not None and future.done() and future.exception() is not None
            if future is not None and not (force and failed):
                return future
            if not (self._needed or (force and self._warmable)):
                return None
            self._future = future = concurrent.futures.Future()
        # not a daemon: an interpreter exiting mid-load waits for it rather than tearing torch down under it
        threading.Thread(target=self._run, args=(future,), name="batchsieve-encoder-load").start()
        return future

    def _run(self, future: concurrent.futures.Future[None]) -> None:
        try:
            self._strategy.warmup()
        except BaseException as exc:  # delivered to warmup() callers; batches then meet it in the strategy
            logger.warning("loading the %r strategy's encoder failed: %s: %s", getattr(self._strategy, "name", "?"),
                           type(exc).__name__, exc)
            future.set_exception(exc)
        else:
            future.set_result(None)

    async def wait(self) -> None:
        """Start the load if needed and wait for it; a failed load raises its error."""
        future = self.start(force=True)
        if future is not None:
            await asyncio.wrap_future(future)
