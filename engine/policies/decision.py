"""The dispatch decision: one function shared by the engine's dispatcher and the virtual-time simulator.

Given what is pending, it asks the policy when to go and applies the rules the engine enforces
whatever the policy says: a full batch goes at once (``"full"``; with a cost budget, pending requests that
cost the budget or more also make a full batch: ``"budget"``), and no request waits past its arrival plus
``max_wait`` (``"max_wait"``). While closing, everything goes at once (``"close"``).
"""

from __future__ import annotations

from typing import Protocol

from .base import DispatchPolicy, DispatchReason, QueueState

__all__ = ["EPS", "PendingView", "dispatch_time"]

EPS = 1e-6  # seconds: a timer that fired this close to its due time counts as due


class PendingView(Protocol):
    """What :func:`dispatch_time` reads of the pending requests (the engine's queue, or the simulator's)."""

    window_start: float
    cost: float  # the pending requests' total cost (read only with a cost budget)

    def __len__(self) -> int: ...

    def oldest_arrival(self) -> float: ...

    def earliest_deadline(self) -> float: ...


def dispatch_time(policy: DispatchPolicy, pending: PendingView, now: float, *, in_flight: int, max_size: int,
                  max_wait_s: float, closing: bool = False, max_cost: float | None = None
                  ) -> tuple[float, DispatchReason]:
    """When the pending requests (at least one) should be dispatched, and why: ``(loop time, reason)``.

    A time at or before ``now + EPS`` means now. The queue's oldest arrival and earliest deadline are read
    only when the policy is asked (they cost a lazy-deletion sweep). With ``max_cost`` (the batch's cost
    budget), pending requests costing that much or more go at once: adding another could only exceed it.
    """
    if closing:
        return now, "close"
    n = len(pending)
    if n >= max_size:
        return now, "full"
    cost = 0.0
    if max_cost is not None:
        cost = pending.cost
        if cost >= max_cost:
            return now, "budget"
    oldest = pending.oldest_arrival()
    decision = policy.decide(QueueState(now=now, pending=n, window_start=pending.window_start,
                                        oldest_arrival=oldest, earliest_deadline=pending.earliest_deadline(),
                                        in_flight=in_flight, pending_cost=cost))
    bound = oldest + max_wait_s
    if bound < decision.at:
        return bound, "max_wait"
    return decision.at, decision.reason
