"""A discrete-event simulator that drives a dispatch policy as the engine's dispatcher does, in virtual time.

It runs without sleeping or an event loop, so a minute of traffic takes well under a second and every
run is exactly reproducible. Each decision is :func:`~batchsieve.policies.decision.dispatch_time`, the
function the engine's dispatcher calls, and the loop around it mirrors the engine's dispatch loop
(``Dispatcher._run`` in ``batchsieve._dispatcher``):

* nothing is decided while ``max_concurrent`` batches are running (a finishing batch wakes it);
* ``pending >= max_size`` dispatches at once (``"full"``); otherwise ``policy.decide(QueueState)`` is
  asked and its time is capped at ``oldest_arrival + max_wait`` (``"max_wait"``);
* the dispatcher sleeps until that time unless an arrival or a finishing batch wakes it first, and then
  decides again;
* a batch takes the ``max_size`` oldest requests; leftovers open a new window at the dispatch time;
* ``policy.on_arrival`` is called per request, ``policy.on_batch_done`` per finished batch.

The handler is any ``cost(n, chars, now) -> seconds`` callable: :class:`LinearHandler` is the
simulated ``a + b * n`` handler (with seeded noise, outliers and a slow-down); a callable that runs a
real model and returns its measured time replays a real handler in virtual time.

Not imported by :mod:`batchsieve.policies` (it needs NumPy): ``from batchsieve.policies.simulator import
simulate``.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .base import BatchRecord, DispatchPolicy, DispatchReason
from .decision import EPS, dispatch_time

__all__ = ["LinearHandler", "SimResult", "bursty_arrivals", "poisson_arrivals", "simulate"]


@dataclass
class LinearHandler:
    """Simulated handler: ``a + b * n + per_char * chars`` seconds, times a seeded noise factor.

    ``noise``: relative standard deviation of a Gaussian factor (floored at 0.2). ``outlier_p``: chance
    that a batch takes ``outlier_factor`` times as long. From ``slow_at`` (virtual time) on, every batch
    costs ``slow_factor`` times as much.
    """

    a: float
    b: float
    per_char: float = 0.0
    noise: float = 0.0
    outlier_p: float = 0.0
    outlier_factor: float = 5.0
    slow_at: float = math.inf
    slow_factor: float = 1.0
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def mean(self, n: float, chars: float = 0.0, now: float = 0.0) -> float:
        """The noise-free cost of a batch."""
        base = self.a + self.b * n + self.per_char * chars
        return base * self.slow_factor if now >= self.slow_at else base

    def __call__(self, n: int, chars: int, now: float) -> float:
        cost = self.mean(n, chars, now)
        if self.noise:
            cost *= max(0.2, 1.0 + self._rng.gauss(0.0, 1.0) * self.noise)
        if self.outlier_p and self._rng.random() < self.outlier_p:
            cost *= self.outlier_factor
        return cost


def poisson_arrivals(rate: float, duration: float, rng: random.Random, start: float = 0.0) -> list[float]:
    """Arrival times of a Poisson stream of ``rate`` per second over ``[start, start + duration)``."""
    out: list[float] = []
    t = start
    end = start + duration
    while True:
        t += rng.expovariate(rate)
        if t >= end:
            return out
        out.append(t)


def bursty_arrivals(rate: float, duration: float, rng: random.Random, *, on_s: float = 0.25,
                    off_s: float = 0.75, start: float = 0.0) -> list[float]:
    """An on/off (Markov-modulated) Poisson stream whose long-run mean rate is ``rate``.

    ON periods (mean ``on_s``) arrive at ``rate * (on_s + off_s) / on_s``; OFF periods (mean ``off_s``)
    are silent; both lengths are exponential.
    """
    peak = rate * (on_s + off_s) / on_s
    out: list[float] = []
    t = start
    end = start + duration
    on = rng.random() < on_s / (on_s + off_s)
    while t < end:
        length = rng.expovariate(1.0 / (on_s if on else off_s))
        if on:
            out.extend(poisson_arrivals(peak, min(length, end - t), rng, start=t))
        t += length
        on = not on
    return out


@dataclass
class SimResult:
    """What one simulated run produced."""

    latencies: np.ndarray  # per request, seconds (arrival order)
    completions: np.ndarray  # per request, completion time
    arrivals: np.ndarray
    batches: list[tuple[float, int, str, float]]  # (dispatched_at, size, reason, service_s)
    windows: list[tuple[float, float]]  # (time, policy.window_s) after every finished batch
    reasons: Counter[str]
    busy_s: float
    deadline_misses: int

    def summary(self) -> dict[str, float]:
        """Throughput (req/s), latency percentiles (ms), mean batch size, handler busy time."""
        lat = self.latencies * 1e3
        span = float(self.completions.max() - self.arrivals.min()) if len(lat) else 0.0
        p50, p95, p99 = np.percentile(lat, [50, 95, 99]) if len(lat) else (math.nan,) * 3
        sizes = [b[1] for b in self.batches]
        return {
            "throughput": len(lat) / span if span > 0 else 0.0,
            "p50": float(p50), "p95": float(p95), "p99": float(p99),
            "mean_batch": float(np.mean(sizes)) if sizes else 0.0,
            "batches": len(sizes),
            "busy_s": self.busy_s,
        }


class _Pending:
    """The simulator's pending requests, as :func:`~batchsieve.policies.decision.dispatch_time` reads them."""

    __slots__ = ("_arrivals", "_deadlines", "_queue", "_taken", "window_start")
    cost = 0.0  # the simulator sizes batches by count only

    def __init__(self, arrivals: list[float], n: int) -> None:
        self._arrivals = arrivals
        self._queue: deque[int] = deque()
        self._deadlines: list[tuple[float, int]] = []  # heap; entries of taken requests linger (lazy deletion)
        self._taken = [False] * n
        self.window_start = math.inf

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, i: int, now: float, deadline: float) -> None:
        """Request ``i`` arrives at ``now``; an arrival into an empty queue opens the window."""
        if not self._queue:
            self.window_start = now
        self._queue.append(i)
        if deadline != math.inf:
            heapq.heappush(self._deadlines, (deadline, i))

    def take(self, max_size: int, now: float) -> list[int]:
        """The ``max_size`` oldest requests; leftovers open a new window at ``now``."""
        queue = self._queue
        idx = [queue.popleft() for _ in range(min(max_size, len(queue)))]
        for j in idx:
            self._taken[j] = True
        self.window_start = now if queue else math.inf
        return idx

    def oldest_arrival(self) -> float:
        return self._arrivals[self._queue[0]]

    def earliest_deadline(self) -> float:
        heap, taken = self._deadlines, self._taken
        while heap and taken[heap[0][1]]:
            heapq.heappop(heap)
        return heap[0][0] if heap else math.inf


def simulate(policy: DispatchPolicy, arrivals: Sequence[float], handler: Callable[[int, int, float], float],
             *, chars: Sequence[int] | None = None, deadlines: Sequence[float] | None = None,
             max_size: int = 32, max_wait_s: float = math.inf, max_concurrent: int = 1,
             on_dispatch: Callable[[float, list[int]], None] | None = None) -> SimResult:
    """Run ``policy`` over the (sorted) ``arrivals`` with ``handler`` as the batch cost; see the module doc.

    ``chars``: characters per request (default 60); ``deadlines``: absolute caller deadlines (counted as
    ``deadline_misses`` when a request completes after its own); ``on_dispatch(now, indices)`` is told
    which requests each batch carries.
    """
    n_req = len(arrivals)
    arr = list(arrivals)
    chars = list(chars) if chars is not None else [60] * n_req
    done_at = [math.nan] * n_req
    pending = _Pending(arr, n_req)
    running: list[tuple[float, int, float, list[int], DispatchReason, float]] = []  # heap of finishing batches
    in_flight = 0
    seq = 0
    timer = math.inf
    batches: list[tuple[float, int, str, float]] = []
    windows: list[tuple[float, float]] = []
    reasons: Counter[str] = Counter()
    busy = 0.0
    i = 0

    def dispatch(now: float, reason: DispatchReason) -> None:
        nonlocal in_flight, seq, busy
        idx = pending.take(max_size, now)
        n_chars = sum(chars[j] for j in idx)
        cost = handler(len(idx), n_chars, now)
        busy += cost
        seq += 1
        heapq.heappush(running, (now + cost, seq, now, idx, reason, cost))
        in_flight += 1
        reasons[reason] += 1
        batches.append((now, len(idx), reason, cost))
        if on_dispatch is not None:
            on_dispatch(now, idx)

    def pump(now: float) -> float:
        """The dispatcher's loop body; returns when it next wants to wake (inf: only when poked)."""
        while pending and in_flight < max_concurrent:
            at, reason = dispatch_time(policy, pending, now, in_flight=in_flight, max_size=max_size,
                                       max_wait_s=max_wait_s)
            if at > now + EPS:
                return at
            dispatch(now, reason)
        return math.inf

    while True:
        t_arr = arr[i] if i < n_req else math.inf
        t_done = running[0][0] if running else math.inf
        now = min(t_arr, t_done, timer)
        if now == math.inf:
            break
        if t_done <= t_arr and t_done <= timer:
            _, _, dispatched_at, idx, reason, cost = heapq.heappop(running)
            in_flight -= 1
            for j in idx:
                done_at[j] = now
            policy.on_batch_done(BatchRecord(
                dispatched_at=dispatched_at, size=len(idx), n_requests=len(idx),
                chars=sum(chars[j] for j in idx), oldest_wait_s=dispatched_at - arr[idx[0]],
                handler_s=cost, reason=reason))
            windows.append((now, policy.window_s))
        elif t_arr <= timer:
            pending.add(i, now, deadlines[i] if deadlines is not None else math.inf)
            policy.on_arrival(now)
            i += 1
        else:
            timer = math.inf
        timer = pump(now)

    arrivals_np = np.asarray(arr, dtype=float)
    completions = np.asarray(done_at, dtype=float)
    misses = 0
    if deadlines is not None:
        misses = int(np.sum(completions > np.asarray(deadlines, dtype=float) + 1e-9))
    return SimResult(completions - arrivals_np, completions, arrivals_np, batches, windows, reasons, busy,
                     misses)
