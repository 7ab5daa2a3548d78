"""The async front: :class:`BatchProcessor`.

Data flows one way: ``process`` -> queue (exact duplicates coalesce here, and onto batches already
running) -> dispatcher (window, ``max_size``, ``max_wait``) -> dedup strategy -> handler on the unique
requests -> results scattered back through the index map -> every caller.

Concurrency model: everything but the handler (and a blocking strategy) runs on the event loop thread.
A dispatcher task lives only while there is work; batches run as their own tasks. At most
``max_concurrent_batches`` handler calls run at once; with a semantic strategy one more batch may be
dispatched so that its dedup (encoder, kernel, in a worker thread) overlaps the running handler call.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ._batch import BatchRunner
from ._dispatcher import Dispatcher
from ._handler import Handler, HandlerSlot, is_async_callable
from ._intake import Intake, check_call
from .config import BatchConfig
from .dedup import DedupStrategy, ExactStrategy, make_strategy
from .errors import BatchTimeoutError
from .policies import DispatchPolicy, make_policy
from .queue import RequestQueue
from .request import read_request
from .stats import BatchStats, StatsCollector

__all__ = ["BatchProcessor", "StreamResult"]


@dataclass(frozen=True, slots=True)
class StreamResult:
    """One result of :meth:`BatchProcessor.process_streaming`: the request's index and its outcome."""

    index: int
    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """``True`` when the request succeeded."""
        return self.error is None

    def unwrap(self) -> Any:
        """The value, or raise the request's exception."""
        if self.error is not None:
            raise self.error
        return self.value


class BatchProcessor:
    """Collects concurrent requests into batches, deduplicates them, and runs the handler once per batch.

    ``handler(requests: list) -> list`` (sync or async) receives only unique requests and returns one
    result per request, in order. A sync handler runs in a worker thread. See :class:`BatchConfig` and
    the README for every keyword.

    >>> batch = BatchProcessor(handler=run_llm, window_ms=50, max_size=32)   # doctest: +SKIP
    >>> await batch.process({"query": "What's the weather?"})                 # doctest: +SKIP
    """

    def __init__(self, handler: Handler | None = None, *, strategy: DedupStrategy | None = None,
                 policy: DispatchPolicy | None = None, **options: Any) -> None:
        unknown = set(options) - BatchConfig.field_names()
        if unknown:
            raise TypeError(f"BatchProcessor got unexpected keyword(s): {', '.join(sorted(unknown))}")
        self._config = BatchConfig(**options)
        if handler is not None:
            handler = _checked_handler(handler)
        if strategy is not None and not isinstance(strategy, DedupStrategy):
            raise TypeError(f"strategy must be a DedupStrategy, got {type(strategy).__name__}")
        if strategy is None:
            strategy = make_strategy(self._config.dedup_strategy, self._config)
        if policy is not None and not isinstance(policy, DispatchPolicy):
            raise TypeError(f"policy must implement DispatchPolicy, got {type(policy).__name__}")
        notify_policy = self._config.adaptive or policy is not None  # the fixed window learns nothing
        if policy is None:
            policy = make_policy(self._config)
        self._strategy = strategy
        self._policy = policy
        # the parts, each with one job: the queue (and its exact-key map), the batch runner, the
        # dispatcher, the intake; this class keeps the public API and the lifecycle
        self._queue = RequestQueue(priorities=self._config.enable_priorities)
        self._stats = StatsCollector()
        self._runner = BatchRunner(self._config, strategy, self._queue, self._stats, policy,
                                   notify_policy=notify_policy)
        self._dispatcher = Dispatcher(self._config, self._queue, policy, self._runner, self._stats)
        self._intake = Intake(self._config, self._queue, self._stats, policy, self._dispatcher, self._runner,
                              notify_policy=notify_policy)
        self._closing = False
        if handler is not None:
            self.handler = handler

    # ------------------------------------------------------------------ configuration

    @property
    def config(self) -> BatchConfig:
        """The validated configuration (read-only; see the setters below for run-time changes)."""
        return self._config

    @property
    def handler(self) -> HandlerSlot:
        """The handler; assign a callable, or use ``@batch.handler`` as a decorator."""
        return HandlerSlot(self)

    @handler.setter
    def handler(self, func: Handler) -> None:
        func = _checked_handler(func)
        self._runner.handler = func
        self._runner.handler_is_async = is_async_callable(func)

    @property
    def dedup_threshold(self) -> float:
        """Similarity threshold for semantic strategies; settable at run time (next batch on)."""
        return self._config.dedup_threshold

    @dedup_threshold.setter
    def dedup_threshold(self, value: float) -> None:
        self._config = replace(self._config, dedup_threshold=value)
        self._runner.config = self._config  # the runner reads the threshold per batch

    @property
    def strategy(self) -> DedupStrategy:
        """The deduplication strategy in use."""
        return self._strategy

    @property
    def policy(self) -> DispatchPolicy:
        """The dispatch policy in use (fixed window, or adaptive)."""
        return self._policy

    # ------------------------------------------------------------------ public API

    async def process(self, request: Any, *, priority: int = 0, timeout: float | None = None,
                      scope: Hashable = None, dedup: bool = True, return_exceptions: bool = False) -> Any:
        """Submit one request (or a list of requests) and wait for its result (or list of results).

        ``priority``: higher is dispatched first (with ``enable_priorities=True``). ``timeout``: seconds
        this caller waits before :class:`BatchTimeoutError`; the shared work goes on for other callers.
        ``scope``: requests never merge across scopes (pass a tenant or user id). ``dedup=False``: this
        request gets a handler slot of its own. For a list, ``return_exceptions=True`` puts each failed
        request's exception in its place instead of raising the first one.
        """
        if (self._closing or self._runner.handler is None or priority.__class__ is not int
                or dedup.__class__ is not bool or timeout is not None or scope is not None):
            check_call(self._closing, self._runner.handler is not None, priority, timeout, scope, dedup)
        if request.__class__ is list:
            return await self._process_many(request, priority, timeout, scope, dedup, return_exceptions)
        intake = self._intake
        prepared = intake.prepare(request, scope, dedup)
        if self._queue.waiting >= self._config.max_queue_size:
            intake.check_capacity(1)
        entry, fut = intake.submit(request, prepared, scope, priority, timeout)
        del prepared  # not kept alive in this frame while waiting: one object fewer for the GC per request
        if timeout is None:
            try:
                return await fut
            except asyncio.CancelledError:
                self._intake.release(entry, fut)
                raise
        try:
            async with asyncio.timeout(timeout) as cm:
                return await fut
        except TimeoutError:
            if not cm.expired():
                raise  # the handler's own timeout, delivered as BatchTimeoutError
            self._intake.release(entry, fut)
            self._stats.timeouts += 1
            raise BatchTimeoutError(f"request not answered within timeout={timeout}s") from None
        except asyncio.CancelledError:
            self._intake.release(entry, fut)
            raise

    async def process_streaming(self, requests: Sequence[Any], *, priority: int = 0,
                                timeout: float | None = None, scope: Hashable = None,
                                dedup: bool = True) -> AsyncIterator[StreamResult]:
        """Submit ``requests`` and yield a :class:`StreamResult` for each one as soon as it completes.

        Failures are yielded, not raised, so one bad request does not end the stream. ``timeout`` bounds
        the whole stream: requests still open then are yielded with a :class:`BatchTimeoutError`.
        Leaving the loop early releases the requests not yet answered.
        """
        check_call(self._closing, self._runner.handler is not None, priority, timeout, scope, dedup)
        if not isinstance(requests, Sequence) or isinstance(requests, (str, bytes, dict)):
            raise TypeError(f"process_streaming takes a sequence of requests, got {type(requests).__name__}")
        pairs = self._intake.submit_all(requests, scope, dedup, priority, timeout)
        done: asyncio.Queue[int] = asyncio.Queue()
        for i, (_, fut) in enumerate(pairs):
            fut.add_done_callback(lambda _f, i=i: done.put_nowait(i))
        loop = asyncio.get_running_loop()
        deadline = math.inf if timeout is None else loop.time() + timeout
        try:
            for _ in range(len(pairs)):
                try:
                    async with asyncio.timeout_at(None if deadline == math.inf else deadline):
                        i = await done.get()
                except TimeoutError:
                    break
                fut = pairs[i][1]
                if fut.cancelled():
                    continue
                exc = fut.exception()
                yield StreamResult(i, None, exc) if exc is not None else StreamResult(i, fut.result())
            else:
                return
            # the stream's timeout ran out: the rest time out
            for i, (entry, fut) in enumerate(pairs):
                if not fut.done():
                    self._intake.release(entry, fut)
                    fut.cancel()
                    self._stats.timeouts += 1
                    yield StreamResult(i, None, BatchTimeoutError(
                        f"request {i} not answered within timeout={timeout}s"))
        finally:
            for entry, fut in pairs:
                if not fut.done():
                    fut.cancel()
                    self._intake.release(entry, fut)

    async def warmup(self) -> None:
        """Load the dedup strategy's encoder now (in a worker thread) instead of on the first batch."""
        warm = getattr(self._strategy, "warmup", None)
        if warm is not None:
            await asyncio.to_thread(warm)

    def explain(self, a: Any, b: Any) -> str:
        """Why two requests would or would not merge under this processor's strategy and threshold.

        Blocking (it may run the encoder); call it from a worker thread inside a server.
        """
        text_a, _ = read_request(a, self._config.text_key, self._config.text_fn)
        text_b, _ = read_request(b, self._config.text_key, self._config.text_fn)
        norm = self._config.normalize
        if norm(text_a) == norm(text_b):
            return "merge: identical after normalisation (exact match)"
        strategy = self._strategy
        if hasattr(strategy, "explain"):
            return strategy.explain(text_a, text_b, self._config.dedup_threshold)
        if isinstance(strategy, ExactStrategy):
            return "no merge: the normalised texts differ (exact strategy)"
        return f"decided by the {strategy.name!r} strategy"

    def get_stats(self) -> BatchStats:
        """A snapshot of the counters, latencies and the current window."""
        return self._stats.snapshot(
            total_requests=self._intake.seq + self._stats.merges["exact_queued"]
            + self._stats.merges["exact_inflight"],
            cost_per_request=self._config.cost_per_request,
            queue_depth=self._queue.waiting,
            in_flight=len(self._dispatcher.batches),
            window_ms=self._policy.window_s * 1e3,
            policy=self._policy.snapshot(),
            dedup=self._strategy.stats(),
        )

    async def close(self) -> None:
        """Stop accepting requests, dispatch everything queued at once, and wait until all are answered."""
        self._closing = True
        self._dispatcher.closing = True
        self._dispatcher.poke()
        await self._dispatcher.drain()

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called."""
        return self._closing

    async def __aenter__(self) -> BatchProcessor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ lists

    async def _process_many(self, requests: list[Any], priority: int, timeout: float | None,
                            scope: Hashable, dedup: bool, return_exceptions: bool) -> list[Any]:
        pairs = self._intake.submit_all(requests, scope, dedup, priority, timeout)
        results: list[Any] = []
        try:
            async with asyncio.timeout(timeout) as cm:
                for _, fut in pairs:
                    try:
                        results.append(await fut)
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:
                        if not return_exceptions:
                            raise
                        results.append(exc)
        except TimeoutError:
            if not cm.expired():
                raise
            self._stats.timeouts += 1
            raise BatchTimeoutError(
                f"{len(requests) - len(results)} of {len(requests)} requests not answered within "
                f"timeout={timeout}s") from None
        finally:
            for entry, fut in pairs:
                if not fut.done() or fut.cancelled():
                    fut.cancel()
                    self._intake.release(entry, fut)
        return results


def _checked_handler(func: Any) -> Handler:
    if isinstance(func, HandlerSlot):
        func = func.func  # batch.handler = other.handler
    if func is None or not callable(func):
        raise TypeError(f"handler must be a callable taking a list of requests, got {func!r}")
    return func
