"""Batches sized by cost: each request's cost, and which queued entries the next batch takes within the budget.

The cost of a request is computed once, at intake, before anything is enqueued (:func:`cost_of`): a
``cost_fn`` that raises, or returns something that is not a finite number ``>= 0``, fails that caller's
call and nobody else's. An entry is one handler slot, so exact duplicates coalesced onto it add nothing:
the entry costs what its first request (the one the handler sees) costs.

The budget is on the entries a batch takes. Semantic dedup runs after the take and only removes entries
(their callers share a representative's answer), so what the handler sees never costs more than the
budget; a batch with semantic merges may be lighter than it.

:func:`select` walks the queue's take order (overdue entries first, oldest first; then by priority and
arrival, or plain arrival order without priorities) and stops at ``max_size`` entries or at the first entry
that would take the total past the budget. The first entry is always taken, whatever its cost: a request
costing more than the budget goes alone, and is never starved nor refused.

With bucketing, the batch is built around an anchor: the first entry of the take order (the oldest
request, or the oldest of the highest priority), after every overdue entry that fits. The rest are the
closest in cost to the anchor (ratio distance: 10 vs 20 is as far apart as 100 vs 200), a higher priority
always before a lower one, the earlier arrival on a tie, until the next one does not fit. When everything in
view fits in one batch it all goes, in take order: bucketing chooses *which* requests go together, never
holds a batch back. The anchor and the overdue entries are always in the batch, so no request waits past
``max_wait`` any longer than it would without bucketing.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

from .request import Entry

__all__: list[str] = []  # internal module

_POOL_BATCHES = 4  # bucketing looks at this many batches' worth of queued entries: choice, yet O(n log n)
_POOL_MIN = 64  # ...and at least this many, so that small batches still find similar neighbours


def cost_of(request: Any, text: str, cost_fn: Callable[[Any], Any] | None) -> float:
    """The cost of one request: ``cost_fn(request)`` checked, or its text's length in characters.

    Whatever ``cost_fn`` raises reaches the caller as is; a value that is not a real number raises
    ``TypeError``, a negative, infinite or NaN one ``ValueError``.
    """
    if cost_fn is None:
        return float(len(text))
    value = cost_fn(request)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"cost_fn must return a number, returned {type(value).__name__} {value!r}")
    try:
        cost = float(value)
    except OverflowError:  # an int too large for a float
        cost = math.inf
    if not (cost >= 0.0 and cost != math.inf):  # also refuses NaN
        raise ValueError(f"cost_fn must return a finite number >= 0, returned {value!r}")
    return cost


def _distance(cost: float, anchor: float) -> float:
    """How far apart two costs are, by ratio (``+1``: a zero cost is one unit from a cost of one)."""
    return abs(math.log((cost + 1.0) / (anchor + 1.0)))


def select(order: Iterator[tuple[Entry, bool]], n: int, budget: float, *, bucket: bool, priorities: bool
           ) -> list[Entry]:
    """The entries of the next batch: at most ``n``, costing at most ``budget`` together (the first always).

    ``order`` yields ``(entry, overdue)`` for the queued entries in take order; nothing is changed here.
    """
    batch: list[Entry] = []
    total = 0.0
    if not bucket:
        for entry, _ in order:
            if len(batch) == n or (batch and total + entry.cost > budget):
                break
            batch.append(entry)
            total += entry.cost
        return batch
    pool = list(islice(order, max(_POOL_BATCHES * n, _POOL_MIN)))
    i = 0
    while i < len(pool) and pool[i][1]:  # overdue entries first, in take order, as many as fit
        entry = pool[i][0]
        if len(batch) == n or (batch and total + entry.cost > budget):
            return batch
        batch.append(entry)
        total += entry.cost
        i += 1
    rest = [entry for entry, _ in pool[i:]]
    if not rest or len(batch) == n:
        return batch
    if not batch:
        anchor = rest.pop(0)
        batch.append(anchor)
        total = anchor.cost
    if len(batch) + len(rest) <= n and total + sum(e.cost for e in rest) <= budget:
        batch.extend(rest)  # everything in view fits: nothing to choose
        return batch
    anchor_cost = batch[0].cost
    ranked = sorted(range(len(rest)), key=lambda j: (-rest[j].priority if priorities else 0,
                                                     _distance(rest[j].cost, anchor_cost), j))
    for j in ranked:
        entry = rest[j]
        if len(batch) == n or total + entry.cost > budget:
            break
        batch.append(entry)
        total += entry.cost
    return batch
