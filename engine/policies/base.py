"""The dispatch-policy interface: :class:`DispatchPolicy` and the types it exchanges with the engine.

The engine owns the queue; a :class:`DispatchPolicy` only decides *when* the pending requests should go.
The engine calls :meth:`DispatchPolicy.decide` with a :class:`QueueState` snapshot every time the queue
changes (an arrival, a dispatch, a batch finishing) and sleeps until the returned time unless something
else wakes it first. Two rules are enforced by the engine itself, whatever the policy says:

* ``pending >= max_size``: dispatch at once (reason ``"full"``);
* with a cost budget, pending requests costing ``max_batch_cost`` or more: dispatch at once (``"budget"``);
* no request waits in the queue past ``oldest_arrival + max_wait``  (reason ``"max_wait"``).

After every batch the engine reports a :class:`BatchRecord` through :meth:`DispatchPolicy.on_batch_done`;
each accepted request is reported through :meth:`DispatchPolicy.on_arrival`.

All times are seconds on the event loop's clock (``loop.time()``), so tests may run the engine on a
virtual clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

__all__ = ["BatchRecord", "Decision", "DispatchPolicy", "DispatchReason", "QueueState"]

DispatchReason = Literal["full", "budget", "window", "max_wait", "deadline", "idle", "close"]


@dataclass(frozen=True, slots=True)
class QueueState:
    """What the queue looks like when the engine asks for a decision."""

    now: float
    pending: int  # unique handler slots waiting (after exact coalescing)
    window_start: float  # when the current window opened (first arrival into an empty queue)
    oldest_arrival: float  # arrival time of the oldest pending request
    earliest_deadline: float = math.inf  # earliest caller deadline among pending requests
    in_flight: int = 0  # batches currently running
    pending_cost: float = 0.0  # total cost of the pending requests (0 without a cost budget)


@dataclass(frozen=True, slots=True)
class Decision:
    """Dispatch at ``at`` (absolute loop time; ``at <= now`` means now), for ``reason``."""

    at: float
    reason: DispatchReason


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """What one dispatched batch cost; handed to the policy when the batch finishes."""

    dispatched_at: float
    size: int  # unique requests handed to the handler
    n_requests: int  # caller requests answered by this batch (duplicates included)
    chars: int  # total characters of the handler's requests' texts (a token-count proxy)
    oldest_wait_s: float  # how long the oldest request in it had waited in the queue
    handler_s: float  # wall time of the handler call
    dedup_s: float = 0.0  # encoder + kernel time (CUDA-event timed on GPU)
    reason: DispatchReason = "window"
    failed: bool = False  # the handler raised, timed out or returned a bad result
    cost: float = 0.0  # total cost (cost_fn) of the handler's requests (0 unless costs are computed)


@runtime_checkable
class DispatchPolicy(Protocol):
    """Decides when the pending requests are dispatched."""

    @property
    def window_s(self) -> float:
        """The current collection window, in seconds (reported in stats)."""

    def decide(self, state: QueueState) -> Decision:
        """Return when to dispatch the pending requests, given ``state`` (``state.pending >= 1``)."""

    def on_arrival(self, now: float) -> None:
        """One request was accepted at ``now``."""

    def on_batch_done(self, record: BatchRecord) -> None:
        """A batch finished; ``record`` says what it cost."""

    def snapshot(self) -> dict[str, object]:
        """The policy's current estimates, for stats (plain JSON-able values)."""
