r"""The adaptive collection window: learn what a batch costs and how fast requests come, then wait as
long as the latency target allows.

:class:`AdaptiveWindowPolicy` implements :class:`~batchsieve.policies.DispatchPolicy`. It keeps two
online estimates (:mod:`.estimators`) and turns them into a dispatch time:

* the service time :math:`S(n) = a + \beta n` of a future batch of :math:`n` typical requests
  (:class:`~batchsieve.policies.estimators.ServiceTimeModel`, an outlier-robust online fit in the batch's
  size and characters that follows a change of the handler's speed);
* the arrival rate :math:`\lambda` and the rate :math:`\lambda_{now}` to expect from now on, discounted
  when the stream has gone quiet (:class:`~batchsieve.policies.estimators.ArrivalRateEstimator`). Exact
  duplicates do not grow a batch, so the rate of *new handler slots* is :math:`\lambda u`, with :math:`u`
  a running mean of ``size / n_requests``.

Decision rule
    The end-to-end latency of the oldest pending request (waiting since :math:`t_0`, with :math:`p`
    pending) if the batch is dispatched :math:`d` seconds from now is predicted as

    .. math:: L(d) = (t_{now} - t_0) + d + S\big(\min(M,\ p + \lambda u d)\big),

    which is increasing in :math:`d`, so the longest wait that keeps it under the budget
    :math:`B = f\,(1 - h)\,T - z s` (feedback factor :math:`f`, below; target :math:`T`, headroom
    :math:`h` = 0.1, noise margin :math:`z s`, :math:`z` = 2) has a closed form
    (:func:`~batchsieve.policies._waits.longest_wait`; O(1), no search). Three waits are taken:

    * the **window** :math:`w`: the longest wait for a request that opens an empty queue
      (:math:`p = 1`, :math:`t_0 = t_{now}`), clipped to ``[min_window, max_window]`` (and to
      ``max_wait``), recomputed after every batch and smoothed: an EWMA (weight ``smoothing``) of the
      ideal value, adopted only when it moves by more than the dead band
      (``max(0.5 ms, 5 %)``), so the window does not chatter at a steady load;
    * the **latency guard**: the longest wait for the actual queue (its age, its size);
    * the **deadline guard**: the longest wait such that
      :math:`t_{now} + d + S(\cdot) + \mathrm{margin} \le` the earliest caller deadline.

    The cost :math:`S` used here is the model's line, but while the batch sizes measured so far barely
    varied (standard deviation under one request: the slope is not identified yet) it is the maximum of
    that line and a pessimistic one through the origin, :math:`S(n) = S(\bar n)\, n / \bar n` (no
    batching gain), so the window grows only as fast as larger batches are actually measured. The
    closed form still applies: the longest wait under a maximum of lines is the shortest of their waits.

    The dispatch time is the earliest of ``window_start + w``, the latency guard and the deadline
    guard (reason ``"window"``, or ``"deadline"`` when the deadline guard is the binding one; before the
    first three batches have been measured a request with a deadline is dispatched at once). When the
    expected number of new slots before that time, :math:`\lambda_{now} u\, d`, is below
    ``idle_arrivals`` (default 0.5), waiting cannot grow the batch: dispatch now, reason ``"idle"``.
    The engine itself dispatches a full batch (``"full"``) and enforces ``max_wait``.

    With a cost budget (``max_batch_cost``) the model learns from each batch's cost (``cost_fn``: tokens,
    say) instead of its characters; a batch then holds at most :math:`M = \min(\text{max\_size},\
    \text{max\_batch\_cost} / \bar c)` typical requests (:math:`\bar c` the running mean cost per request),
    and the latency guard counts the actual queue as :math:`\max(p,\ C_{pending} / \bar c)` typical
    requests, so a queue of long requests is predicted to cost what it costs.

    ``min_window``/``max_window`` bound the learned window. The latency guard may cut a window below
    ``min_window`` when even that wait would miss the target for the queue at hand (a request that
    already waited behind a busy handler, the first requests of a burst): waiting cannot meet the target
    then, and going at once is the least late.

Feedback on realised latency
    The model predicts the mean; what it cannot see (requests queued behind a slow batch, heavy-tailed
    handler times, a dispatcher that wakes late) shows up in the realised latency of each batch's oldest
    request, ``oldest_wait_s + handler_s + dedup_s``. A quantile-tracking loop scales the budget by a factor
    :math:`f \in [f_{min}, 1]`: after each batch, with :math:`w` its requests and
    :math:`\ell = 1` if its oldest request was later than the target,
    :math:`f \leftarrow f\, e^{\eta w (q - \ell)}`. At the fixed point a share :math:`q`
    (``late_share``, 3 %) of requests sit in late batches, an upper bound on the requests that are late,
    so the p95 stays under the target. With a well-behaved handler no batch is late and :math:`f = 1`.

Infeasible target
    When the predicted cost of a single request, :math:`S(1)`, is at or above the target (after at least
    three batches), no wait can meet the target: the policy logs one warning on the ``"batchsieve"``
    logger, sets ``feasible: false`` in :meth:`~AdaptiveWindowPolicy.snapshot` and minimises latency
    instead: every decision is "dispatch now" (window 0) until :math:`S(1)` falls below
    :math:`(1 - h) T` again (hysteresis; the recovery is logged at INFO).
"""

from __future__ import annotations

import logging
import math
from collections import Counter

from .._checks import check_int, check_number
from ._waits import line_cost, longest_wait_all
from .base import BatchRecord, Decision, DispatchReason, QueueState
from .estimators import _C0, ArrivalRateEstimator, ServiceTimeModel

__all__ = ["AdaptiveWindowPolicy"]

logger = logging.getLogger("batchsieve")


class AdaptiveWindowPolicy:
    """A :class:`~batchsieve.policies.DispatchPolicy` that tunes the collection window from measured latency.

    It learns the batch service time (size and characters) and the arrival rate online, and dispatches
    at the latest time at which the oldest pending request is still predicted to finish within
    ``target_latency_s``; see the module docstring for the model and the decision rule. All times are
    seconds on the engine's loop clock.

    Keyword-only tuning knobs: ``headroom`` (share of the target kept in reserve, 0.1), ``noise_margin``
    (residual scales kept in reserve, 2.0), ``smoothing`` (EWMA weight of a new ideal window, 0.2),
    ``deadband`` (relative change below which the window is kept, 0.05), ``idle_arrivals`` (expected new
    requests below which waiting is pointless, 0.5), ``deadline_margin_s`` (reserve before a caller's
    deadline, 2 ms), ``forgetting`` (service model memory per batch, 0.95), ``outlier_k`` (residual scales
    beyond which a batch is an outlier, 3.0), ``shift_after`` (same-sign outliers in a row taken as a
    change of speed, 3), ``rate_alpha`` (EWMA weight of one inter-arrival gap, 1/32), ``late_share``
    (share of requests allowed past the target before the feedback loop shrinks the budget, 0.03),
    ``feedback_gain`` (its step per request, 0.01; 0 turns it off), ``min_budget_factor`` (the least
    share of the budget it may leave, 0.3), ``max_batch_cost`` (the engine's cost budget per batch, or
    ``None``: the model then learns from characters).
    """

    def __init__(self, target_latency_s: float, min_window_s: float, max_window_s: float, min_size: int = 1,
                 max_size: int = 32, max_wait_s: float = math.inf, max_concurrent_batches: int = 1, *,
                 headroom: float = 0.1, noise_margin: float = 2.0, smoothing: float = 0.2,
                 deadband: float = 0.05, idle_arrivals: float = 0.5, deadline_margin_s: float = 0.002,
                 forgetting: float = 0.95, outlier_k: float = 3.0, shift_after: int = 3,
                 rate_alpha: float = 1 / 32, late_share: float = 0.03, feedback_gain: float = 0.01,
                 min_budget_factor: float = 0.3, max_batch_cost: float | None = None) -> None:
        self.target_latency_s = check_number("target_latency_s", target_latency_s, lo=0.0, lo_open=True)
        self.min_window_s = check_number("min_window_s", min_window_s, lo=0.0)
        self.max_window_s = check_number("max_window_s", max_window_s)
        if self.max_window_s < self.min_window_s:
            raise ValueError(f"max_window_s ({max_window_s!r}) must be >= min_window_s ({min_window_s!r})")
        self.min_size = check_int("min_size", min_size, lo=1)
        self.max_size = check_int("max_size", max_size)
        if self.max_size < self.min_size:
            raise ValueError(f"max_size ({max_size!r}) must be >= min_size ({min_size!r})")
        self.max_wait_s = check_number("max_wait_s", max_wait_s, lo=0.0, lo_open=True, finite=False)
        self.max_concurrent_batches = check_int("max_concurrent_batches", max_concurrent_batches, lo=1)
        self.headroom = check_number("headroom", headroom, lo=0.0, hi=1.0, hi_open=True)
        self.noise_margin = check_number("noise_margin", noise_margin, lo=0.0, hi=100.0)
        self.smoothing = check_number("smoothing", smoothing, lo=0.0, hi=1.0, lo_open=True)
        self.deadband = check_number("deadband", deadband, lo=0.0, hi=1.0, hi_open=True)
        self.idle_arrivals = check_number("idle_arrivals", idle_arrivals, lo=0.0)
        self.deadline_margin_s = check_number("deadline_margin_s", deadline_margin_s, lo=0.0)
        forgetting = check_number("forgetting", forgetting, lo=0.0, hi=1.0, lo_open=True)
        outlier_k = check_number("outlier_k", outlier_k, lo=0.0, lo_open=True)
        shift_after = check_int("shift_after", shift_after, lo=1)
        rate_alpha = check_number("rate_alpha", rate_alpha, lo=0.0, hi=1.0, lo_open=True)
        self.late_share = check_number("late_share", late_share, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        self.feedback_gain = check_number("feedback_gain", feedback_gain, lo=0.0, hi=1.0)
        self.min_budget_factor = check_number("min_budget_factor", min_budget_factor, lo=0.0, hi=1.0,
                                              lo_open=True)

        self.max_batch_cost = (None if max_batch_cost is None
                               else check_number("max_batch_cost", max_batch_cost, lo=0.0, lo_open=True))
        # the cost feature's unit: the cost per request at which a batch of max_size just fills the budget
        unit = _C0 if self.max_batch_cost is None else self.max_batch_cost / self.max_size
        self.model = ServiceTimeModel(self.max_size, forgetting=forgetting, outlier_k=outlier_k,
                                      shift_after=shift_after, unit=unit)
        self.arrivals = ArrivalRateEstimator(alpha=rate_alpha)
        self._max_window_eff = min(self.max_window_s, self.max_wait_s)
        self._min_window_eff = min(self.min_window_s, self._max_window_eff)
        self._window = self._min_window_eff  # start cautious: the shortest window
        self._smooth = self._window
        self._ideal = self._window
        self._lines: tuple[tuple[float, float], ...] = ((0.0, 0.0),)  # cost lines, cached per batch
        self._budget = self.target_latency_s * (1.0 - self.headroom)
        self._unique = 1.0  # running mean of size / n_requests
        self._factor = 1.0  # the feedback loop's share of the budget, in [min_budget_factor, 1]
        self._late = 0.0  # running share of requests in batches whose oldest request was late
        self._oldest_ms = 0.0  # running mean of the realised latency of each batch's oldest request
        self._feasible = True
        self._warned = False
        self._predicted_s = 0.0
        self._plan_key = math.nan  # window_start of the last plan, and that plan (never pushed later)
        self._plan_at = math.inf
        self._plan_reason: DispatchReason = "window"
        self.window_changes = 0
        self.batches = 0
        self.failed_batches = 0
        self.decisions: Counter[str] = Counter()
        self.dispatches: Counter[str] = Counter()

    # ------------------------------------------------------------------ DispatchPolicy

    @property
    def window_s(self) -> float:
        """The current collection window in seconds (0 while the target is infeasible)."""
        return self._window if self._feasible else 0.0

    @property
    def feasible(self) -> bool:
        """``False`` while a single request alone is predicted to take longer than the target."""
        return self._feasible

    def on_arrival(self, now: float) -> None:
        """One request was accepted at ``now``."""
        self.arrivals.on_arrival(now)

    def decide(self, state: QueueState) -> Decision:
        """When to dispatch the pending requests (see the module docstring)."""
        now = state.now
        p = state.pending
        m = self._batch_cap()
        load = float(p)  # the queue, in typical requests
        if state.pending_cost > 0.0 and self.max_batch_cost is not None and self.model.chars_per_request > 0:
            load = max(load, state.pending_cost / self.model.chars_per_request)
        lines = self._lines
        lam_now = self.arrivals.rate_at(now) * self._unique
        reason: DispatchReason
        if not self._feasible:
            at, reason = now, "window"
        elif p < self.min_size:
            at, reason = math.inf, "window"
        else:
            t0 = min(state.oldest_arrival, state.window_start)
            at, reason = state.window_start + self._window, "window"
            guard = now + longest_wait_all(self._budget, now - t0, load, lam_now, lines, m)
            if guard < at:  # the queue is older or larger than the window assumed
                at = guard
            if at > now and lam_now * (at - now) < self.idle_arrivals:
                at, reason = now, "idle"
        deadline = state.earliest_deadline
        if deadline != math.inf and at > now and self.model.observations < self.model.warmup:
            at, reason = now, "deadline"  # no cost model yet: a caller with a deadline is not held
        if deadline != math.inf and at > now:
            margin = self.deadline_margin_s + self.noise_margin * self.model.margin_scale()
            guard = now + longest_wait_all(deadline - margin, now, load, lam_now, lines, m)
            if guard <= at:
                at, reason = guard, "deadline"
        # A plan is never pushed later within one window: later decisions only bring it forward.
        if state.window_start == self._plan_key and self._plan_at < at:
            at, reason = self._plan_at, self._plan_reason
        self._plan_key, self._plan_at, self._plan_reason = state.window_start, at, reason
        if at < now:
            at = now
        n_pred = min(m, load) if at == math.inf else min(m, load + lam_now * (at - now))
        self._predicted_s = line_cost(lines, n_pred)
        self.decisions[reason] += 1
        return Decision(at, reason)

    def on_batch_done(self, record: BatchRecord) -> None:
        """Learn from one finished batch and re-tune the window."""
        self.batches += 1
        self.dispatches[record.reason] += 1
        if record.failed:
            self.failed_batches += 1
            return
        if record.size > 0 and record.n_requests > 0:
            self._unique += 0.05 * (min(record.size / record.n_requests, 1.0) - self._unique)
        service = record.handler_s + record.dedup_s
        self.model.observe(record.size, record.chars if self.max_batch_cost is None else record.cost, service)
        self._feedback(record.oldest_wait_s + service, max(record.n_requests, record.size, 1))
        self._retune()

    def snapshot(self) -> dict[str, object]:
        """The controller's state and estimates, as plain JSON-able values."""
        theta = self.model.theta
        lines = self._lines
        return {
            "policy": "adaptive",
            "window_ms": self.window_s * 1e3,
            "ideal_window_ms": self._ideal * 1e3,
            "target_latency_ms": self.target_latency_s * 1e3,
            "budget_ms": self._budget * 1e3,
            "budget_factor": self._factor,
            "late_share": self._late,
            "oldest_latency_ms": self._oldest_ms,
            "min_window_ms": self._min_window_eff * 1e3,
            "max_window_ms": self._max_window_eff * 1e3,
            "feasible": self._feasible,
            "arrival_rate_per_s": self.arrivals.rate,
            "unique_fraction": self._unique,
            "service_model": {
                "intercept_ms": theta[0] * 1e3,
                "per_request_ms": theta[1] / self.max_size * 1e3,
                "per_kchar_ms": theta[2] / (self.max_size * self.model.unit) * 1e6,  # per 1000 cost units
                "chars_per_request": self.model.chars_per_request,  # with a cost budget: cost per request
                "feature": "chars" if self.max_batch_cost is None else "cost",
                "residual_scale_ms": self.model.margin_scale() * 1e3,
                "observations": self.model.observations,
                "outliers_clipped": self.model.outliers,
                "level_shifts": self.model.level_shifts,
            },
            "predicted_service_ms": self._predicted_s * 1e3,
            "predicted_single_ms": line_cost(lines, 1) * 1e3,
            "predicted_full_ms": line_cost(lines, self._batch_cap()) * 1e3,
            "max_batch_cost": self.max_batch_cost,
            "batch_cap": self._batch_cap(),
            "window_changes": self.window_changes,
            "batches": self.batches,
            "failed_batches": self.failed_batches,
            "max_concurrent_batches": self.max_concurrent_batches,
            "decisions": dict(self.decisions),
            "dispatches": dict(self.dispatches),
        }

    # ------------------------------------------------------------------ internals

    def _batch_cap(self) -> float:
        """The most typical requests a batch holds: ``max_size``, or fewer when they fill the cost budget first."""
        budget = self.max_batch_cost
        per = self.model.chars_per_request
        if budget is None or per <= 0.0:
            return self.max_size
        return min(float(self.max_size), max(1.0, budget / per))

    def _feedback(self, oldest_latency: float, weight: int) -> None:
        """Quantile tracking on realised latency: shrink the budget when too many requests are late.

        A batch whose oldest request took longer than the target counts all its ``weight`` requests as
        late (an upper bound). The factor moves by ``exp(gain * weight * (late_share - late))``, whose
        fixed point is a late share of ``late_share``: it corrects for whatever the model does not see
        (queueing behind a slow batch, event-loop overhead, heavy-tailed handler times).
        """
        late = oldest_latency > self.target_latency_s
        self._late += min(0.02 * weight, 1.0) * (float(late) - self._late)
        self._oldest_ms += 0.05 * (oldest_latency * 1e3 - self._oldest_ms)
        step = self.feedback_gain * weight * (self.late_share - float(late))
        self._factor = min(max(self._factor * math.exp(max(step, -0.5)), self.min_budget_factor), 1.0)

    def _retune(self) -> None:
        model = self.model
        lines = self._lines = model.lines()
        target = self.target_latency_s
        margin = self.noise_margin * model.margin_scale()
        self._budget = self._factor * target * (1.0 - self.headroom) - margin
        single = line_cost(lines, 1)
        if model.observations >= model.warmup:
            if self._feasible and single >= target:
                self._feasible = False
                if not self._warned:
                    self._warned = True
                    logger.warning(
                        "adaptive window: target_latency_ms=%.1f is infeasible: a single request alone "
                        "takes about %.1f ms; dispatching at once to minimise latency",
                        target * 1e3, single * 1e3)
            elif not self._feasible and single < target * (1.0 - self.headroom):
                self._feasible = True
                logger.info("adaptive window: target_latency_ms=%.1f is feasible again (single request "
                            "about %.1f ms)", target * 1e3, single * 1e3)
        lam = self.arrivals.rate * self._unique
        ideal = longest_wait_all(self._budget, 0.0, 1.0, lam, lines, self._batch_cap())
        ideal = min(max(ideal, self._min_window_eff), self._max_window_eff)
        self._ideal = ideal
        self._smooth += self.smoothing * (ideal - self._smooth)
        if abs(self._smooth - self._window) > max(5e-4, self.deadband * self._window):
            self._window = self._smooth
            self.window_changes += 1
