"""One batch through a streaming handler: an async generator yielding steps, fanned out to shared streams.

``handler(requests)`` is an async generator; each step it yields is a list with one item per request of
the batch, in order (Ray Serve's convention): a chunk for that request, ``StopIteration()`` to end that
request's stream, or an ``Exception`` to fail it (its readers raise it after the chunks already sent). A
slot that has ended ignores what later steps hold for it. When the generator returns, the streams still
open end normally.

The batch runner calls :meth:`StreamBatches.run` while it holds a handler slot: one :class:`Upstream` per
distinct request is handed to every caller of every request it answers (the merged ones too) at once,
then the generator is pumped, on a task of its own, until every stream is over, and closed
(``aclose()``). The slot is held until then, so ``max_concurrent_batches`` bounds running generations.

A misbehaving generator fails the streams still open, after the chunks already sent, and the batch ends
normally (the processor keeps serving): a step of the wrong type or length, or an exception from the
generator, gives :class:`BatchProcessingError`; no step within ``processing_timeout`` (which bounds each
step of a stream, the first included, not the whole generation) gives :class:`ProcessingTimeoutError`.
When every caller of every request of the batch has left, the pump is cancelled and the generator closed,
so the backend stops generating.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any

from ._batch import IN_HANDLER_OF, BatchRunner
from ._failures import raisable, slot_error
from ._streams import RUNNING, LiveStreams, Upstream
from .errors import BatchProcessingError, ProcessingTimeoutError, ProcessorClosedError
from .request import Entry
from .stats import StatsCollector

__all__: list[str] = []  # internal module

logger = logging.getLogger("batchsieve")


class StreamBatches:
    """Runs the batches of a streaming handler; shares the live-stream map with the callers' side."""

    def __init__(self, stats: StatsCollector, live: LiveStreams) -> None:
        self._stats = stats
        self._live = live

    async def run(self, runner: BatchRunner, entries: list[Entry], unique: list[Entry], slot_of: list[int] | None,
                  deliver: Callable[[list[Upstream]], object]) -> list[Upstream]:
        """Hand each caller its stream (``deliver``: the runner's scatter), then generate until every stream
        is over; return the streams (the batch's results)."""
        handler = runner.handler
        if handler is None:
            raise BatchProcessingError("the handler was removed")
        n = len(unique)
        token = IN_HANDLER_OF.set(runner)  # the pump task copies this context: the generator runs "in the handler"
        try:
            gen = handler([e.request for e in unique])
            if not inspect.isasyncgen(gen):
                raise BatchProcessingError(f"a streaming handler must return an async generator, returned "
                                           f"{type(gen).__name__}", batch_size=n)
            batch = _Generation(gen, n, runner.config.processing_timeout, self._stats)
            ups = batch.ups = [Upstream(self._stats, self._live, batch.stream_abandoned) for _ in unique]
            self._stats.streams_started += n
            for i, entry in enumerate(entries):
                slot = i if slot_of is None else slot_of[i]
                if slot < 0:
                    continue  # dropped before the call
                up = ups[slot]
                up.expected += sum(1 for fut, _ in entry.waiters() if not fut.done())
                if entry.key is not None:
                    up.register(entry.key)
            deliver(ups)  # every caller gets its stream now, before the first chunk
            for up in ups:
                up.check_interest()  # a stream nobody was handed (every caller left meanwhile) is abandoned now
            batch.task = asyncio.get_running_loop().create_task(batch.pump(), name="batchsieve-stream")
        finally:
            IN_HANDLER_OF.reset(token)
        try:
            await batch.task  # cancelling this batch (close with a timeout) cancels the pump too
        finally:
            batch.settle_leftovers()
        return ups


class _Generation:
    """The pump of one streaming batch: its generator, its streams, and why it stops."""

    def __init__(self, gen: AsyncGenerator[Any, None], n: int, timeout: float | None, stats: StatsCollector) -> None:
        self.gen = gen
        self.n = n
        self.timeout = timeout
        self.stats = stats
        self.ups: list[Upstream] = []
        self.task: asyncio.Task[None] | None = None
        self.all_left = False

    def stream_abandoned(self) -> None:
        """One stream lost its last reader: when no stream of the batch runs any more, stop generating."""
        if self.all_left or any(up.state == RUNNING for up in self.ups):
            return
        self.all_left = True
        task = self.task
        if task is not None and not task.done():
            task.cancel()

    def _fail_open(self, error: BaseException) -> None:
        for up in self.ups:
            up.fail(error, own=True)

    async def pump(self) -> None:
        gen, n, ups = self.gen, self.n, self.ups
        steps = 0
        try:
            while any(up.state == RUNNING for up in ups):
                try:
                    async with asyncio.timeout(self.timeout) as cm:
                        step = await anext(gen)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    if not cm.expired():
                        raise  # the generator's own time limit (a backend call): a handler failure
                    self.stats.timeouts += 1
                    raise ProcessingTimeoutError(
                        f"the streaming handler yielded no step within processing_timeout={self.timeout}s (after "
                        f"{steps} steps, batch of {n} requests)") from None
                steps += 1
                if not isinstance(step, Sequence) or isinstance(step, (str, bytes, dict)):
                    raise BatchProcessingError(f"the streaming handler's step {steps} is a {type(step).__name__}, "
                                               f"not a list of {n} items", batch_size=n)
                if len(step) != n:
                    raise BatchProcessingError(f"the streaming handler's step {steps} has {len(step)} items for "
                                               f"{n} requests", batch_size=n)
                for i, item in enumerate(step):
                    up = ups[i]
                    if up.state != RUNNING:
                        continue  # ended, failed or abandoned: later values for it are ignored
                    if not isinstance(item, BaseException):
                        up.push(item)
                    elif isinstance(item, StopIteration):
                        up.end()
                    elif raisable(item) and not isinstance(item, StopAsyncIteration):
                        up.fail(item, own=False)
                    else:  # CancelledError, KeyboardInterrupt, StopAsyncIteration...: not raised into a reader as is
                        up.fail(slot_error(item, i), own=True)
        except asyncio.CancelledError as exc:
            if self.all_left:
                pass  # every reader left: this pump's own cancellation, the generator is closed below
            elif asyncio.current_task().cancelling():  # type: ignore[union-attr]  # aborted: close, loop shutdown
                self._fail_open(ProcessorClosedError("the stream was aborted: the processor closed"))
                raise
            else:  # the generator raised CancelledError itself: a handler failure, like any other exception
                self.stats.errors += 1
                err = BatchProcessingError(f"the streaming handler raised CancelledError (after {steps} steps, "
                                           f"batch of {n} requests)", original=exc, batch_size=n)
                err.__cause__ = exc
                self._fail_open(err)
        except (BatchProcessingError, ProcessingTimeoutError) as exc:
            self.stats.errors += 1
            self._fail_open(exc)
        except Exception as exc:  # the generator raised mid-stream
            self.stats.errors += 1
            err = BatchProcessingError(f"the streaming handler raised {type(exc).__name__}: {exc} (after {steps} "
                                       f"steps, batch of {n} requests)", original=exc, batch_size=n)
            err.__cause__ = exc
            self._fail_open(err)
        finally:
            for up in ups:
                up.end()  # the generator returned (or stopped): what is still open ends normally
            try:
                await gen.aclose()  # the backend stops generating (runs the generator's finally blocks)
            except Exception:
                logger.exception("the streaming handler raised while being closed")

    def settle_leftovers(self) -> None:
        """The pump never ran (cancelled before its first step): nobody may wait on a stream for ever."""
        self._fail_open(ProcessorClosedError("the stream was aborted: the processor closed"))
