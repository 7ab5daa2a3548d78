"""The dispatch loop: when to cut the next batch, and the batch tasks in flight.

A dispatcher task lives only while there is work (nothing is left behind even without ``close()``).
Each time the queue changes it asks :func:`batchsieve.policies.dispatch_time` when the pending requests
should go, sleeps until then unless an arrival or a finishing batch wakes it first, then takes a batch
from the queue (within ``max_batch_cost``, bucketed by cost with ``bucket_by_cost``) and runs it as its own
task. At most ``max_concurrent_batches`` handler calls run at once; with a blocking (semantic) strategy one
more batch may be dispatched, so that its dedup (encoder, kernel) overlaps the running handler call.
"""

from __future__ import annotations

import asyncio
import logging
import math

from ._batch import BatchRunner
from .config import BatchConfig
from .policies import DispatchPolicy, FixedWindowPolicy, dispatch_time
from .policies.decision import EPS
from .queue import RequestQueue
from .stats import StatsCollector

__all__: list[str] = []  # internal module

logger = logging.getLogger("batchsieve")


class Dispatcher:
    """Owns the dispatcher task, its wake-up future and the set of running batch tasks."""

    def __init__(self, config: BatchConfig, queue: RequestQueue, policy: DispatchPolicy, runner: BatchRunner,
                 stats: StatsCollector) -> None:
        self.config = config  # replaced by the processor's run-time setters
        self._queue = queue
        self._policy = policy
        self._runner = runner
        self._stats = stats
        self._pipeline_depth = config.max_concurrent_batches + (1 if runner.strategy.blocking else 0)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task[None] | None = None
        self.batches: set[asyncio.Task[None]] = set()
        self.closing = False
        self._wake: asyncio.Future[None] | None = None
        runner.on_finished = self._batch_finished

    def start(self) -> None:
        """Start the dispatcher task if none is running (the first arrival after an idle spell)."""
        if self.task is None:
            self._stats.mark_first_arrival()
            self.task = self.loop.create_task(self._run(), name="batchsieve-dispatcher")  # type: ignore[union-attr]

    def poke(self) -> None:
        """Wake the dispatcher: the queue changed, a batch finished, or the processor is closing."""
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    async def drain(self) -> None:
        """Wait until the dispatcher is idle and every running batch has finished."""
        while self.task is not None or self.batches:
            if self.task is not None:
                await asyncio.shield(self.task)
            if self.batches:
                await asyncio.gather(*list(self.batches), return_exceptions=True)

    async def abort(self, error: BaseException) -> None:
        """Stop now: cancel the dispatcher and the running batches (their callers get ``error``'s kind of
        failure from the batch runner), and fail every queued request with ``error``."""
        tasks = [t for t in (self.task, *self.batches) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        queue = self._queue
        entries = queue.take(len(queue), math.inf, 0.0) if queue else []
        if entries:
            self._runner.fail(entries, error)

    def _batch_finished(self) -> None:
        self.batches.discard(asyncio.current_task())  # type: ignore[arg-type]
        self.poke()

    async def _sleep_until(self, at: float) -> None:
        loop = self.loop
        assert loop is not None
        wake = loop.create_future()
        self._wake = wake
        timer = loop.call_at(at, _resolve, wake) if at != math.inf else None
        try:
            await wake
        finally:
            if timer is not None:
                timer.cancel()
            self._wake = None

    async def _run(self) -> None:
        loop = self.loop
        assert loop is not None
        queue = self._queue
        try:
            while True:
                if not queue:
                    if not self.batches:
                        return  # idle: no task is left behind; the next arrival starts a new one
                    await self._sleep_until(math.inf)
                    continue
                if len(self.batches) >= self._pipeline_depth:
                    await self._sleep_until(math.inf)  # a finishing batch wakes us
                    continue
                config = self.config
                now = loop.time()
                max_wait_s = config.max_wait_ms / 1e3
                at, reason = self._decide(now, config.max_size, max_wait_s)
                if at > now + EPS:
                    await self._sleep_until(at)
                    continue
                entries = queue.take(config.max_size, now, max_wait_s, config.max_batch_cost,
                                     bucket=config.bucket_by_cost)
                if not entries:
                    continue
                self._stats.reasons[reason] += 1
                task = loop.create_task(self._runner.run(entries, reason, now, self._stats.cancelled),
                                        name="batchsieve-batch")
                self.batches.add(task)
        finally:
            self.task = None

    def _decide(self, now: float, max_size: int, max_wait_s: float) -> tuple[float, str]:
        """When to dispatch; a policy that raises costs its decision, never the dispatcher (the fixed window
        then decides, and the error is counted and logged)."""
        try:
            return dispatch_time(self._policy, self._queue, now, in_flight=len(self.batches), max_size=max_size,
                                 max_wait_s=max_wait_s, closing=self.closing, max_cost=self.config.max_batch_cost)
        except Exception:
            stats = self._stats
            stats.policy_errors += 1
            if stats.policy_errors == 1 or stats.policy_errors % 1000 == 0:
                logger.exception("dispatch policy failed in decide (%d so far); the fixed window decides",
                                 stats.policy_errors)
            fallback = FixedWindowPolicy(self.config.window_ms / 1e3, self.config.min_size)
            return dispatch_time(fallback, self._queue, now, in_flight=len(self.batches), max_size=max_size,
                                 max_wait_s=max_wait_s, closing=self.closing, max_cost=self.config.max_batch_cost)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
