"""The pending-request queue: FIFO or priority order, the exact-key map, and the ``max_wait`` bound.

The queue owns the exact-key map: an entry is found by its key from the moment it is pushed until its
batch finishes (:meth:`RequestQueue.finish`), so an identical arrival joins it whether it is still
queued or already running. Entries are unique handler slots (exact duplicates were coalesced onto an
entry when they arrived).
``take`` chooses the next batch: first every entry that has waited ``max_wait`` or longer (oldest first,
whatever its priority: no starvation), then by priority (higher first) and arrival (FIFO) within a priority.
With a cost budget (or bucketing) the same order is walked by :func:`._budget.select`, which also stops at
the budget; ``cost`` is the total cost of the queued entries.

Removal is lazy: an entry taken or dropped changes state and is skipped when it reaches the head of the
arrival deque or the top of the priority heap, so every operation is O(1) amortised (O(log n) with
priorities). Under sustained saturation the queue may never drain, so stale records would pile up
behind live ones; each structure is compacted (rebuilt from its live records) when it holds more than
twice the live entries plus :data:`_SLACK`, which keeps memory proportional to what is queued and the
cost amortised O(1) per operation.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Hashable, Iterator

from ._budget import select
from .request import DROPPED, IN_FLIGHT, QUEUED, Entry

__all__: list[str] = []  # internal module

_SLACK = 64  # stale records tolerated beyond twice the live entries before a compaction (keeps it amortised)


class RequestQueue:
    """Pending entries, in arrival order, with an optional priority heap."""

    __slots__ = (
        "_arrivals",
        "_deadlines",
        "_heap",
        "by_key",
        "cost",
        "priorities",
        "size",
        "waiting",
        "window_start",
    )

    def __init__(self, *, priorities: bool) -> None:
        self.priorities = priorities
        self._arrivals: deque[Entry] = deque()  # arrival order; non-QUEUED entries are stale
        # exact key -> the live entry (queued or running) that answers it: added on push, removed when
        # the entry is dropped or its batch finishes
        self.by_key: dict[Hashable, Entry] = {}
        self._heap: list[tuple[int, int, Entry]] = []  # (-priority, seq, entry); stale tuples skipped
        self._deadlines: list[tuple[float, int, Entry]] = []  # caller deadlines; stale tuples skipped
        self.size = 0  # queued entries (unique handler slots)
        self.waiting = 0  # caller requests waiting in the queue (duplicates included)
        self.cost = 0.0  # total cost of the queued entries (0 unless costs are computed)
        self.window_start = math.inf

    def __len__(self) -> int:
        return self.size

    def push(self, entry: Entry) -> None:
        """Add a new entry (its first waiter already attached)."""
        if not self.size:
            self.window_start = entry.arrival
        self.size += 1
        self.waiting += 1
        if entry.cost:  # (a test, cheaper than the sum, on the count-only hot path where every cost is 0)
            self.cost += entry.cost
        self._arrivals.append(entry)
        if entry.key is not None:
            self.by_key[entry.key] = entry
        if self.priorities:
            heapq.heappush(self._heap, (-entry.priority, entry.seq, entry))

    def _compact(self) -> None:
        """Rebuild each lazy-deletion structure that holds more than twice the live entries plus the slack.

        Called where records go stale (a take, a drop, a raised priority, a superseded deadline), never on
        the push path; a push adds one live record, so staleness only grows at those points."""
        limit = 2 * self.size + _SLACK
        if len(self._arrivals) > limit:
            self._arrivals = deque(e for e in self._arrivals if e.state == QUEUED)
        if len(self._heap) > limit:
            self._heap = [t for t in self._heap if t[2].state == QUEUED and -t[0] == t[2].priority]
            heapq.heapify(self._heap)
        if len(self._deadlines) > limit:
            self._deadlines = [t for t in self._deadlines if t[2].state == QUEUED and t[2].deadline == t[0]]
            heapq.heapify(self._deadlines)

    def finish(self, entry: Entry) -> None:
        """``entry``'s batch is over (answered or failed): later identical requests start a new entry."""
        key = entry.key
        if key is not None and self.by_key.get(key) is entry:
            del self.by_key[key]

    def raise_priority(self, entry: Entry, priority: int) -> None:
        """A caller with a higher priority joined ``entry``: move it up."""
        if priority > entry.priority:
            entry.priority = priority
            if self.priorities:
                heapq.heappush(self._heap, (-priority, entry.seq, entry))
                self._compact()

    def add_deadline(self, entry: Entry, deadline: float) -> None:
        """A caller of ``entry`` gives up at ``deadline`` (loop time)."""
        if deadline < entry.deadline:
            if entry.deadline != math.inf:
                self._compact()  # the earlier deadline's record goes stale
            entry.deadline = deadline
            heapq.heappush(self._deadlines, (deadline, entry.seq, entry))

    def earliest_deadline(self) -> float:
        """The earliest caller deadline among queued entries (``inf`` when none)."""
        heap = self._deadlines
        while heap and (heap[0][2].state != QUEUED or heap[0][2].deadline != heap[0][0]):
            heapq.heappop(heap)
        return heap[0][0] if heap else math.inf

    def _head(self) -> Entry | None:
        arrivals = self._arrivals
        while arrivals and arrivals[0].state != QUEUED:
            arrivals.popleft()
        return arrivals[0] if arrivals else None

    def oldest_arrival(self) -> float:
        """Arrival time of the oldest queued entry (``inf`` when empty)."""
        head = self._head()
        return head.arrival if head is not None else math.inf

    def discard(self, entry: Entry) -> None:
        """Drop a queued entry whose every caller has gone."""
        if entry.state != QUEUED:
            return
        entry.state = DROPPED
        self.size -= 1
        self.cost -= entry.cost
        if entry.key is not None and self.by_key.get(entry.key) is entry:
            del self.by_key[entry.key]
        if not self._reset_if_empty():
            self._compact()

    def _reset_if_empty(self) -> bool:
        """With nothing queued, close the window and drop every stale lazy-deletion tuple; say if so."""
        if self.size:
            return False
        self.window_start = math.inf
        self.cost = 0.0  # no rounding left over from the running sum
        self._arrivals.clear()
        self._heap.clear()
        self._deadlines.clear()
        return True

    def take(self, n: int, now: float, max_wait: float, max_cost: float | None = None, *,
             bucket: bool = False) -> list[Entry]:
        """Remove and return the next batch of at most ``n`` entries (costing at most ``max_cost`` together,
        the first entry whatever its cost; with ``bucket``, of similar costs: see :mod:`._budget`)."""
        if max_cost is not None or bucket:
            return self._take_costed(n, now, max_wait, math.inf if max_cost is None else max_cost, bucket)
        batch: list[Entry] = []
        arrivals = self._arrivals
        waiting = 0
        if not self.priorities:
            popleft = arrivals.popleft
            while arrivals and len(batch) < n:
                entry = popleft()
                if entry.state == QUEUED:
                    entry.state = IN_FLIGHT
                    batch.append(entry)
                    waiting += entry.count
        else:
            overdue_before = now - max_wait + 1e-9
            while arrivals and len(batch) < n:  # overdue entries first, oldest first
                entry = arrivals[0]
                if entry.state != QUEUED:
                    arrivals.popleft()
                    continue
                if entry.arrival > overdue_before:
                    break
                arrivals.popleft()
                entry.state = IN_FLIGHT
                batch.append(entry)
            heap = self._heap
            while heap and len(batch) < n:
                neg_priority, _, entry = heapq.heappop(heap)
                if entry.state != QUEUED or -neg_priority != entry.priority:
                    continue  # stale: already taken, dropped, or re-pushed with a higher priority
                entry.state = IN_FLIGHT
                batch.append(entry)
            for entry in batch:
                waiting += entry.count
        self.waiting -= waiting
        self.size -= len(batch)
        return self._taken(batch, now)

    def _take_costed(self, n: int, now: float, max_wait: float, max_cost: float, bucket: bool) -> list[Entry]:
        batch = select(self._order(now, max_wait), n, max_cost, bucket=bucket, priorities=self.priorities)
        for entry in batch:
            entry.state = IN_FLIGHT
            self.waiting -= entry.count
            self.cost -= entry.cost
        self.size -= len(batch)
        self._head()  # taken entries at the head go now; the others are skipped later (lazy removal)
        return self._taken(batch, now)

    def _order(self, now: float, max_wait: float) -> Iterator[tuple[Entry, bool]]:
        """``(entry, overdue)`` for the queued entries in take order, without changing anything: the
        overdue ones oldest first, then by priority and arrival (the heap walked in order, not popped)."""
        overdue_before = now - max_wait + 1e-9
        if not self.priorities:
            for entry in self._arrivals:
                if entry.state == QUEUED:
                    yield entry, entry.arrival <= overdue_before
            return
        overdue: set[int] = set()
        for entry in self._arrivals:
            if entry.state != QUEUED:
                continue
            if entry.arrival > overdue_before:
                break
            overdue.add(entry.seq)
            yield entry, True
        heap = self._heap
        frontier = [(heap[0], 0)] if heap else []  # a heap of heap positions: the heap's items in order
        while frontier:
            (neg_priority, seq, entry), i = heapq.heappop(frontier)
            if entry.state == QUEUED and -neg_priority == entry.priority and seq not in overdue:
                yield entry, False
            for child in (2 * i + 1, 2 * i + 2):
                if child < len(heap):
                    heapq.heappush(frontier, (heap[child], child))

    def _taken(self, batch: list[Entry], now: float) -> list[Entry]:
        """Close or reopen the window after ``batch`` was taken."""
        if not self._reset_if_empty() and batch:
            # Leftovers open a new window now (their max_wait bound still counts from their arrival).
            self.window_start = now
            self._compact()
        return batch
