"""The intake: one call becomes queue entries (checks, exact coalescing, capacity), and a caller can leave.

Everything here runs on the event loop thread and is checked before anything is enqueued: a call that
raises leaves the queue as it was.
"""

from __future__ import annotations

import asyncio
import logging
import math
import numbers
from collections.abc import Hashable, Sequence
from typing import Any

from ._batch import BatchRunner
from ._budget import cost_of
from ._dispatcher import Dispatcher
from .config import BatchConfig
from .errors import HandlerNotSetError, ProcessorClosedError, QueueFullError, WrongEventLoopError
from .policies import DispatchPolicy
from .queue import RequestQueue
from .request import QUEUED, Entry, freeze_scope, read_request
from .stats import StatsCollector

__all__: list[str] = []  # internal module

logger = logging.getLogger("batchsieve")
_get_running_loop = asyncio.get_running_loop

# (text, normalised text, fields, exact key or None, cost: 0 unless a cost budget or bucketing is on)
Prepared = tuple[str, str, Hashable, Hashable, float]
# The scope in a key is its typed identity (freeze_scope): scopes 1, 1.0 and True never meet.


def check_call(closing: bool, has_handler: bool, priority: Any, timeout: Any, scope: Any, dedup: Any
               ) -> tuple[int, float | None]:
    """Refuse a call the processor cannot take, or whose keyword arguments are wrong; return the priority and
    the timeout as ``int`` and ``float``."""
    if closing:
        raise ProcessorClosedError("BatchProcessor is closed; it accepts no new requests")
    if not has_handler:
        raise HandlerNotSetError(
            "no handler: pass handler= to BatchProcessor, assign batch.handler = fn, or use @batch.handler")
    if isinstance(priority, bool) or not isinstance(priority, numbers.Integral):
        raise TypeError(f"priority must be an int, got {type(priority).__name__} {priority!r}")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
            raise TypeError(f"timeout must be a number of seconds or None, got {timeout!r}")
        try:
            seconds = float(timeout)
        except OverflowError:
            seconds = math.inf
        if not (seconds > 0 and math.isfinite(seconds)):
            raise ValueError(f"timeout must be > 0 seconds and finite, or None; got {timeout!r}")
        timeout = seconds
    if dedup.__class__ is not bool:
        raise TypeError(f"dedup must be a bool, got {type(dedup).__name__} {dedup!r}")
    if scope is not None:
        try:
            hash(scope)
        except TypeError:
            raise TypeError(f"scope must be hashable (a tenant or user id), got {type(scope).__name__}") from None
    return int(priority), timeout


class Intake:
    """Turns requests into entries on the queue, joining identical live entries; counts arrivals."""

    def __init__(self, config: BatchConfig, queue: RequestQueue, stats: StatsCollector, policy: DispatchPolicy,
                 dispatcher: Dispatcher, runner: BatchRunner, *, notify_policy: bool) -> None:
        self._config = config
        self._queue = queue
        self._stats = stats
        self._policy = policy
        self._dispatcher = dispatcher
        self._runner = runner
        self._notify_policy = notify_policy
        # hot-path copies of settings (max_size changes through reconfigure)
        self._max_size = config.max_size
        self._min_size = config.min_size
        self._plain = config.text_fn is None
        self._text_key = config.text_key
        self._normalize = config.normalize
        self._enable_dedup = config.enable_dedup
        self._costed = config.costed
        self._max_cost = math.inf if config.max_batch_cost is None else config.max_batch_cost
        self._audit = config.audit_rate > 0 and config.enable_dedup  # coalesced exact duplicates are audited too
        self.seq = 0  # entries created (unique handler slots)

    def reconfigure(self, config: BatchConfig) -> None:
        """Take the processor's new configuration (a run-time setter changed it)."""
        self._config = config
        self._max_size = config.max_size

    def prepare(self, request: Any, scope: Hashable, dedup: bool) -> Prepared:
        """Validate one request; return ``(text, normalised text, fields, exact key or None, cost)``."""
        if self._plain:  # no text_fn: the fast paths for "..." and {"query": "..."}
            if request.__class__ is str:
                text, fields = request, ()
            elif request.__class__ is dict and len(request) == 1:
                text = request.get(self._text_key)
                if text.__class__ is not str:
                    read_request(request, self._text_key, None)  # raises the right TypeError
                fields = ()
            else:
                text, fields = read_request(request, self._text_key, None)
        else:
            text, fields = read_request(request, self._text_key, self._config.text_fn)
        norm = self._normalize(text)
        cost = cost_of(request, text, self._config.cost_fn) if self._costed else 0.0
        if dedup and fields is not None and self._enable_dedup:
            # The common case (no scope, no other fields) keys on the string alone: one object fewer
            # per request for the garbage collector. A str never equals a tuple, so keys cannot collide.
            return text, norm, fields, (norm if scope is None and fields == () else
                                        (freeze_scope(scope), norm, fields)), cost
        return text, norm, fields, None, cost

    def joins_running(self, prepared: Prepared) -> bool:
        """Whether this request would join a handler call already running (it takes no queue place)."""
        key = prepared[3]
        if key is None:
            return False
        entry = self._queue.by_key.get(key)
        return entry is not None and entry.state != QUEUED

    def check_capacity(self, n: int) -> None:
        """Refuse ``n`` more waiting requests if they would pass ``max_queue_size``."""
        limit = self._config.max_queue_size
        if n > limit:  # never acceptable, so not a "retry later" QueueFullError
            raise ValueError(f"a call of {n} requests can never fit max_queue_size={limit}; split it")
        if self._queue.waiting + n > limit:
            raise QueueFullError(
                f"queue full: {self._queue.waiting} requests pending, {n} more would exceed "
                f"max_queue_size={limit}")

    def submit(self, request: Any, prepared: Prepared, scope: Hashable, priority: int,
               timeout: float | None) -> tuple[Entry, asyncio.Future[Any]]:
        """Enqueue one checked request (or join the live entry with its key); return the entry and the
        caller's future."""
        dispatcher = self._dispatcher
        loop = _get_running_loop()
        if loop is not dispatcher.loop or dispatcher.task is None:
            self._bind_loop(loop)  # before anything changes: a processor serves one loop at a time
        now = loop.time()
        deadline = None if timeout is None else now + timeout
        fut = loop.create_future()
        key = prepared[3]
        queue = self._queue
        audit_of = None
        if key is not None:
            entry = queue.by_key.get(key)
            if entry is not None and self._audit and self._runner.stream_batch is None \
                    and self._runner.merges.sample_coalesced():
                audit_of, key = entry, None  # audited: queued on its own, its answer compared (see _merges)
            elif entry is not None:
                entry.add_waiter(fut, now)
                if entry.state == QUEUED:  # an identical request is queued: share its slot
                    queue.waiting += 1
                    queue.raise_priority(entry, priority)
                    if deadline is not None:
                        queue.add_deadline(entry, deadline)
                    self._stats.merges["exact_queued"] += 1
                else:  # an identical request is running: join that call
                    self._stats.merges["exact_inflight"] += 1
                return entry, fut
        self.seq += 1
        text, norm, fields, _, cost = prepared
        entry = Entry(request, text, norm, fields, None if scope is None else freeze_scope(scope), key, priority,
                      self.seq, now, fut, cost)
        queue.push(entry)
        if deadline is not None:
            queue.add_deadline(entry, deadline)
        if audit_of is not None:
            self._runner.merges.watch(audit_of, fut, text)
        if self._notify_policy:
            try:
                self._policy.on_arrival(now)
            except Exception:  # a policy bug must not lose the request: the dispatcher still runs
                self._stats.policy_errors += 1
                logger.exception("dispatch policy failed in on_arrival")
            dispatcher.poke()
        elif (queue.size == 1 or queue.size == self._min_size or queue.size == self._max_size
              or (self._costed and queue.cost >= self._max_cost)):
            dispatcher.poke()  # a window opens, min_size is reached, or the batch just became full
        if dispatcher.task is None:
            dispatcher.start()
        return entry, fut

    def submit_all(self, requests: Sequence[Any], scope: Hashable, dedup: bool, priority: int,
                   timeout: float | None) -> list[tuple[Entry, asyncio.Future[Any]]]:
        """Submit several requests, all or nothing: every one is validated and the queue checked first."""
        prepared = [self.prepare(r, scope, dedup) for r in requests]
        self.check_capacity(len(prepared))
        return [self.submit(r, p, scope, priority, timeout) for r, p in zip(requests, prepared, strict=True)]

    def release(self, entry: Entry, fut: asyncio.Future[Any]) -> None:
        """A caller gave up on ``entry``: forget it; drop the entry if it was its last caller and queued.

        A caller whose answer had already landed (in the same loop iteration as its cancellation) was
        counted as answered, so it is not counted again as cancelled."""
        if fut.done() and not fut.cancelled():
            fut.exception()  # retrieved: no "exception was never retrieved" warning for an answer nobody reads
            return
        if not entry.remove_waiter(fut):
            return
        self._stats.cancelled += 1
        if entry.state == QUEUED:
            self._queue.waiting -= 1
            if entry.fut is None and not entry.more:
                self._queue.discard(entry)

    def _bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        dispatcher = self._dispatcher
        if dispatcher.loop is not loop:
            if (dispatcher.loop is not None and not dispatcher.loop.is_closed()
                    and (dispatcher.batches or self._queue or dispatcher.task is not None)):
                raise WrongEventLoopError(
                    "this BatchProcessor is busy on another event loop; use one processor per loop")
            dispatcher.loop = loop
            self._runner.bind_loop()
