r"""The adaptive collection window: learn what a batch costs and how fast requests come, then wait as
long as the latency target allows.

:class:`AdaptiveWindowPolicy` implements :class:`~batchsieve.policy.DispatchPolicy`. It keeps two
online estimates and turns them into a dispatch time.

Service-time model (:class:`ServiceTimeModel`)
    A batch of :math:`n` unique requests with :math:`c` characters in all costs

    .. math:: S(n, c) = \theta_0 + \theta_1 \frac{n}{M} + \theta_2 \frac{c}{M C_0}

    seconds of handler time plus encoder/kernel time (``BatchRecord.handler_s + dedup_s``; on a GPU the
    engine times that work with CUDA events). :math:`M` is ``max_size`` and :math:`C_0 = 100` characters,
    so the features are of order one. :math:`\theta` is the exponentially weighted ridge least-squares
    fit

    .. math:: \theta = \arg\min_\theta \sum_k \gamma^{K-k} (y_k - x_k^\top \theta)^2
              + \rho \, (\theta_1^2 + \theta_2^2)

    (forgetting factor :math:`\gamma`, default 0.95: about 20 batches of memory; the small ridge
    :math:`\rho` keeps the slopes at zero until batch sizes vary), kept as running sums
    :math:`A = \sum \gamma^{K-k} x_k x_k^\top`, :math:`b = \sum \gamma^{K-k} x_k y_k` and solved (3x3)
    once per batch. Robustness: with :math:`\hat y` the prediction and :math:`s` a running scale of the
    absolute residuals, a residual :math:`r = y - \hat y` beyond :math:`k s` (default :math:`k = 3`) is an
    outlier and enters the fit clipped (Huber), :math:`y' = \hat y + k s \,\mathrm{sign}(r)`; the scale
    follows :math:`s \leftarrow (1 - \alpha_s) s + \alpha_s \min(|r|, k s)` (:math:`\alpha_s` = 0.1), so it
    can grow by at most :math:`1 + \alpha_s (k - 1)` per batch. One slow batch therefore moves the fit little. But when
    ``shift_after`` (default 3) outliers of the same sign come in a row and agree on the size of the change
    (their ratios :math:`y / \hat y` within a factor of two of each other), the handler really changed
    speed (a level shift) by the median ratio :math:`\rho`: the history is re-expressed at the new speed
    (:math:`b \leftarrow 0.3\,\rho\, b`, :math:`A \leftarrow 0.3\, A`, which keeps the shape of the
    fit) and those batches enter unclipped, so a slow-down is followed within a few batches.

    For a *future* batch the characters are not known yet; they are predicted as :math:`c = n \bar c`
    with :math:`\bar c` a running mean of characters per request. That gives the line used below,

    .. math:: S(n) = a + \beta n, \qquad a = \max(\theta_0, 0), \quad
              \beta = \max\Big(\frac{\theta_1}{M} + \frac{\theta_2 \bar c}{M C_0},\, 0\Big).

Arrival rate (:class:`ArrivalRateEstimator`)
    An EWMA over inter-arrival gaps (weight ``rate_alpha``, default 1/32 per arrival, so its memory is
    counted in requests and it reacts as fast at 10 req/s as at 10k req/s), each gap clipped to
    10 times the current mean so that one long pause does not wreck it: :math:`\lambda = 1/\bar g`. For a
    decision *now* the rate is discounted when the stream has gone quiet:
    :math:`\lambda_{now} = 1 / \max(\bar g,\ t_{now} - t_{last},\ g_{last} / 4)` (the last term catches the
    first request after a long pause). Exact duplicates do not grow a batch, so the rate of *new handler
    slots* is :math:`\lambda u`, with :math:`u` a running mean of ``size / n_requests``.

Decision rule
    The end-to-end latency of the oldest pending request (waiting since :math:`t_0`, with :math:`p`
    pending) if the batch is dispatched :math:`d` seconds from now is predicted as

    .. math:: L(d) = (t_{now} - t_0) + d + S\big(\min(M,\ p + \lambda u d)\big),

    which is increasing in :math:`d`, so the longest wait that keeps it under the budget
    :math:`B = f\,(1 - h)\,T - z s` (feedback factor :math:`f`, below; target :math:`T`, headroom
    :math:`h` = 0.1, noise margin :math:`z s`, :math:`z` = 2) has a closed form (:func:`_longest_wait`;
    O(1), no search). Three waits are taken:

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

from .base import BatchRecord, Decision, DispatchReason, QueueState

__all__ = ["AdaptiveWindowPolicy", "ArrivalRateEstimator", "ServiceTimeModel"]

logger = logging.getLogger("batchsieve")

_C0 = 100.0  # characters per request that scale the chars feature to order one
_RIDGE = (1e-9, 1e-2, 1e-2)  # ridge on (intercept, size slope, chars slope), in weight units


# ---------------------------------------------------------------------------------------- validation


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if math.isnan(value):
        raise ValueError(f"{name} must not be NaN, got {value!r}")
    return float(value)


def _integer(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    return value


def _in_range(name: str, value: float, lo: float, hi: float, *, lo_open: bool = False,
              hi_open: bool = False) -> None:
    bad_lo = value <= lo if lo_open else value < lo
    bad_hi = value >= hi if hi_open else value > hi
    if bad_lo or bad_hi:
        left, right = "(" if lo_open else "[", ")" if hi_open else "]"
        raise ValueError(f"{name} must be in {left}{lo}, {hi}{right}, got {value!r}")


# ---------------------------------------------------------------------------------------- estimators


class ServiceTimeModel:
    """Online, outlier-robust linear model of a batch's service time in its size and characters.

    See the module docstring for the math. ``observe`` costs one 3x3 solve; ``predict`` is O(1).
    """

    def __init__(self, max_size: int, *, forgetting: float = 0.95, outlier_k: float = 3.0,
                 scale_alpha: float = 0.1, shift_after: int = 3, shift_discount: float = 0.3,
                 warmup: int = 3) -> None:
        self.max_size = max_size
        self.forgetting = forgetting
        self.outlier_k = outlier_k
        self.scale_alpha = scale_alpha
        self.shift_after = shift_after
        self.shift_discount = shift_discount
        self.warmup = warmup
        self._a = [[0.0] * 3 for _ in range(3)]
        self._b = [0.0, 0.0, 0.0]
        self.theta = [0.0, 0.0, 0.0]
        self.scale: float | None = None  # running mean absolute residual, seconds
        self.chars_per_request = _C0
        self.observations = 0
        self.outliers = 0
        self.level_shifts = 0
        self._run: list[tuple[tuple[float, float, float], float, float]] = []  # same-sign outliers (x, y, ŷ)
        self._run_sign = 0

    def _features(self, n: float, chars: float) -> tuple[float, float, float]:
        m = self.max_size
        return (1.0, n / m, chars / (m * _C0))

    def predict(self, n: float, chars: float) -> float:
        """Predicted service seconds of a batch of ``n`` requests with ``chars`` characters in all."""
        x = self._features(n, chars)
        t = self.theta
        return max(t[0] * x[0] + t[1] * x[1] + t[2] * x[2], 0.0)

    def line(self) -> tuple[float, float]:
        """``(a, beta)``: service seconds ``a + beta * n`` of a future batch of ``n`` typical requests."""
        t = self.theta
        m = self.max_size
        beta = t[1] / m + t[2] * self.chars_per_request / (m * _C0)
        return max(t[0], 0.0), max(beta, 0.0)

    def size_spread(self) -> tuple[float, float]:
        """``(mean, standard deviation)`` of the batch sizes in the fit's (decayed) memory."""
        a = self._a
        w = a[0][0]
        if w <= 0:
            return 0.0, 0.0
        m = self.max_size
        mean = a[0][1] / w
        var = max(a[1][1] / w - mean * mean, 0.0)
        return mean * m, math.sqrt(var) * m

    def lines(self) -> tuple[tuple[float, float], ...]:
        """The lines ``(a, beta)`` whose maximum is the cost used for decisions.

        While the batch sizes seen so far barely varied (standard deviation under one request) the slope
        is not identified (the ridge holds it near zero), so a pessimistic second line through the origin
        and the cost at the mean size, ``S(n) = S(n_mean) n / n_mean`` (no batching gain), caps what a
        larger batch is assumed to cost until larger batches have been measured.
        """
        main = self.line()
        mean, sd = self.size_spread()
        if self.observations == 0 or sd >= 1.0 or mean <= 0 or mean >= self.max_size - 0.5:
            return (main,)
        a, beta = main
        return main, (0.0, (a + beta * mean) / mean)

    def margin_scale(self) -> float:
        """The residual scale (seconds) used for safety margins; 0 before any observation."""
        return self.scale or 0.0

    def observe(self, n: int, chars: int, seconds: float) -> None:
        """Add one finished batch: ``n`` unique requests, ``chars`` characters, ``seconds`` of service."""
        if n <= 0 or not math.isfinite(seconds) or seconds < 0:
            return
        x = self._features(n, chars)
        if self.observations == 0:
            self.chars_per_request = chars / n if chars > 0 else self.chars_per_request
        else:
            self.chars_per_request += 0.05 * (chars / n - self.chars_per_request)
        y = seconds
        self.observations += 1
        if self.scale is None:  # first batch: nothing to compare with yet
            self.scale = max(0.1 * seconds, 1e-5)
            self._add(x, y)
            self._solve()
            return
        yhat = self.predict(n, chars)
        r = y - yhat
        floor = max(1e-5, 0.01 * yhat)
        self.scale = max(self.scale, floor)
        lim = self.outlier_k * self.scale
        if abs(r) > lim and self.observations > self.warmup:
            sign = 1 if r > 0 else -1
            if sign != self._run_sign:
                self._run.clear()
                self._run_sign = sign
            self._run.append((x, y, max(yhat, 1e-9)))
            if len(self._run) >= self.shift_after:
                ratios = [yy / yh for _, yy, yh in self._run]
                if max(ratios) <= 2.0 * min(ratios):  # consistent: the handler changed speed
                    self._level_shift(sorted(ratios)[len(ratios) // 2])
                    return
                del self._run[0]  # a mixed run (noise tail, stray outliers): keep looking
            self.outliers += 1
            y = yhat + sign * lim
        else:
            self._run.clear()
            self._run_sign = 0
        self.scale += self.scale_alpha * (min(abs(r), lim) - self.scale)
        self._add(x, y)
        self._solve()

    def _level_shift(self, ratio: float) -> None:
        """A consistent run of same-sign outliers: the handler changed speed by about ``ratio``.

        The history is re-expressed at the new speed (its costs scaled by ``ratio``, so the shape of the
        fit survives), down-weighted, and the run is added unclipped.
        """
        self.level_shifts += 1
        d = self.shift_discount
        for row in self._a:
            for j in range(3):
                row[j] *= d
        self._b = [v * d * ratio for v in self._b]
        run, self._run, self._run_sign = self._run, [], 0
        for x, y, _ in run:
            self._add(x, y, decay=False)
        self._solve()
        self.scale = max((self.scale or 0.0) * ratio, 1e-5)

    def _add(self, x: tuple[float, float, float], y: float, *, decay: bool = True) -> None:
        g = self.forgetting if decay else 1.0
        a, b = self._a, self._b
        for i in range(3):
            b[i] = g * b[i] + x[i] * y
            row = a[i]
            for j in range(3):
                row[j] = g * row[j] + x[i] * x[j]

    def _solve(self) -> None:
        m = [[self._a[i][j] + (_RIDGE[i] if i == j else 0.0) for j in range(3)] + [self._b[i]]
             for i in range(3)]
        for col in range(3):  # Gauss-Jordan with partial pivoting
            piv = max(range(col, 3), key=lambda r: abs(m[r][col]))
            if abs(m[piv][col]) < 1e-15:
                return  # singular: keep the previous estimate
            m[col], m[piv] = m[piv], m[col]
            p = m[col][col]
            m[col] = [v / p for v in m[col]]
            for r in range(3):
                if r != col and m[r][col] != 0.0:
                    f = m[r][col]
                    m[r] = [vr - f * vc for vr, vc in zip(m[r], m[col], strict=True)]
        self.theta = [m[i][3] for i in range(3)]


class ArrivalRateEstimator:
    """Arrival rate from an EWMA of inter-arrival gaps (memory counted in arrivals), robust to pauses."""

    def __init__(self, *, alpha: float = 1 / 32, clip: float = 10.0, quiet_factor: float = 4.0) -> None:
        self.alpha = alpha
        self.clip = clip
        self.quiet_factor = quiet_factor
        self.mean_gap: float | None = None
        self.last: float | None = None
        self.last_gap = 0.0
        self.arrivals = 0

    def on_arrival(self, now: float) -> None:
        """Record one arrival at ``now``."""
        self.arrivals += 1
        last, self.last = self.last, now
        if last is None:
            return
        gap = max(now - last, 0.0)
        self.last_gap = gap
        mean = self.mean_gap
        if mean is None:
            self.mean_gap = gap
        else:
            self.mean_gap = mean + self.alpha * (min(gap, self.clip * mean) - mean)

    @property
    def rate(self) -> float:
        """Steady arrival rate, per second (0 until two arrivals were seen)."""
        mean = self.mean_gap
        if mean is None:
            return 0.0
        return 1.0 / mean if mean > 0 else math.inf

    def rate_at(self, now: float) -> float:
        """The rate to expect from ``now`` on: the steady rate, discounted when the stream went quiet."""
        mean = self.mean_gap
        if mean is None or self.last is None:
            return 0.0
        gap = max(mean, now - self.last, self.last_gap / self.quiet_factor)
        return 1.0 / gap if gap > 0 else math.inf


# ---------------------------------------------------------------------------------------- the policy


def _longest_wait(budget: float, elapsed: float, p: float, lam: float, a: float, beta: float,
                  m: float) -> float:
    """Longest ``d >= 0`` with ``elapsed + d + a + beta * min(m, p + lam * d) <= budget`` (0 if none).

    The left side is increasing in ``d`` (piecewise linear), so the answer is closed-form.
    """
    n0 = min(p, m)
    slack = budget - elapsed - a - beta * n0
    if slack <= 0.0:
        return 0.0
    if lam <= 0.0 or n0 >= m:
        return slack  # the batch cannot grow: its cost is fixed
    d = slack / (1.0 + beta * lam)
    if p + lam * d <= m:
        return d
    return budget - elapsed - a - beta * m  # the batch fills first; past that, S stays at S(m)


def _longest_wait_all(budget: float, elapsed: float, p: float, lam: float,
                      lines: tuple[tuple[float, float], ...], m: float) -> float:
    """:func:`_longest_wait` for a cost that is the maximum of ``lines``: the shortest of their waits."""
    best = math.inf
    for a, beta in lines:
        d = _longest_wait(budget, elapsed, p, lam, a, beta, m)
        if d < best:
            best = d
    return best


def _cost(lines: tuple[tuple[float, float], ...], n: float) -> float:
    return max(a + beta * n for a, beta in lines)


class AdaptiveWindowPolicy:
    """A :class:`~batchsieve.policy.DispatchPolicy` that tunes the collection window from measured latency.

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
    share of the budget it may leave, 0.3).
    """

    def __init__(self, target_latency_s: float, min_window_s: float, max_window_s: float, min_size: int = 1,
                 max_size: int = 32, max_wait_s: float = math.inf, max_concurrent_batches: int = 1, *,
                 headroom: float = 0.1, noise_margin: float = 2.0, smoothing: float = 0.2,
                 deadband: float = 0.05, idle_arrivals: float = 0.5, deadline_margin_s: float = 0.002,
                 forgetting: float = 0.95, outlier_k: float = 3.0, shift_after: int = 3,
                 rate_alpha: float = 1 / 32, late_share: float = 0.03, feedback_gain: float = 0.01,
                 min_budget_factor: float = 0.3) -> None:
        self.target_latency_s = _number("target_latency_s", target_latency_s)
        self.min_window_s = _number("min_window_s", min_window_s)
        self.max_window_s = _number("max_window_s", max_window_s)
        self.min_size = _integer("min_size", min_size)
        self.max_size = _integer("max_size", max_size)
        self.max_wait_s = _number("max_wait_s", max_wait_s)
        self.max_concurrent_batches = _integer("max_concurrent_batches", max_concurrent_batches)
        self.headroom = _number("headroom", headroom)
        self.noise_margin = _number("noise_margin", noise_margin)
        self.smoothing = _number("smoothing", smoothing)
        self.deadband = _number("deadband", deadband)
        self.idle_arrivals = _number("idle_arrivals", idle_arrivals)
        self.deadline_margin_s = _number("deadline_margin_s", deadline_margin_s)
        forgetting = _number("forgetting", forgetting)
        outlier_k = _number("outlier_k", outlier_k)
        shift_after = _integer("shift_after", shift_after)
        rate_alpha = _number("rate_alpha", rate_alpha)
        self.late_share = _number("late_share", late_share)
        self.feedback_gain = _number("feedback_gain", feedback_gain)
        self.min_budget_factor = _number("min_budget_factor", min_budget_factor)
        if not (self.target_latency_s > 0 and math.isfinite(self.target_latency_s)):
            raise ValueError(f"target_latency_s must be a finite number > 0, got {target_latency_s!r}")
        if not (self.min_window_s >= 0 and math.isfinite(self.min_window_s)):
            raise ValueError(f"min_window_s must be a finite number >= 0, got {min_window_s!r}")
        if not (self.max_window_s >= self.min_window_s and math.isfinite(self.max_window_s)):
            raise ValueError(f"max_window_s ({max_window_s!r}) must be finite and >= min_window_s "
                             f"({min_window_s!r})")
        if self.min_size < 1:
            raise ValueError(f"min_size must be >= 1, got {min_size!r}")
        if self.max_size < self.min_size:
            raise ValueError(f"max_size ({max_size!r}) must be >= min_size ({min_size!r})")
        if not self.max_wait_s > 0:
            raise ValueError(f"max_wait_s must be > 0, got {max_wait_s!r}")
        if self.max_concurrent_batches < 1:
            raise ValueError(f"max_concurrent_batches must be >= 1, got {max_concurrent_batches!r}")
        _in_range("headroom", self.headroom, 0.0, 1.0, hi_open=True)
        _in_range("noise_margin", self.noise_margin, 0.0, 100.0)
        _in_range("smoothing", self.smoothing, 0.0, 1.0, lo_open=True)
        _in_range("deadband", self.deadband, 0.0, 1.0, hi_open=True)
        _in_range("idle_arrivals", self.idle_arrivals, 0.0, math.inf, hi_open=True)
        _in_range("deadline_margin_s", self.deadline_margin_s, 0.0, math.inf, hi_open=True)
        _in_range("forgetting", forgetting, 0.0, 1.0, lo_open=True)
        _in_range("outlier_k", outlier_k, 0.0, math.inf, lo_open=True, hi_open=True)
        if shift_after < 1:
            raise ValueError(f"shift_after must be >= 1, got {shift_after!r}")
        _in_range("rate_alpha", rate_alpha, 0.0, 1.0, lo_open=True)
        _in_range("late_share", self.late_share, 0.0, 1.0, lo_open=True, hi_open=True)
        _in_range("feedback_gain", self.feedback_gain, 0.0, 1.0)
        _in_range("min_budget_factor", self.min_budget_factor, 0.0, 1.0, lo_open=True)

        self.model = ServiceTimeModel(self.max_size, forgetting=forgetting, outlier_k=outlier_k,
                                      shift_after=shift_after)
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
        m = self.max_size
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
            guard = now + _longest_wait_all(self._budget, now - t0, p, lam_now, lines, m)
            if guard < at:  # the queue is older or larger than the window assumed
                at = guard
            if at > now and lam_now * (at - now) < self.idle_arrivals:
                at, reason = now, "idle"
        deadline = state.earliest_deadline
        if deadline != math.inf and at > now and self.model.observations < self.model.warmup:
            at, reason = now, "deadline"  # no cost model yet: a caller with a deadline is not held
        if deadline != math.inf and at > now:
            margin = self.deadline_margin_s + self.noise_margin * self.model.margin_scale()
            guard = now + _longest_wait_all(deadline - margin, now, p, lam_now, lines, m)
            if guard <= at:
                at, reason = guard, "deadline"
        # A plan is never pushed later within one window: later decisions only bring it forward.
        if state.window_start == self._plan_key and self._plan_at < at:
            at, reason = self._plan_at, self._plan_reason
        self._plan_key, self._plan_at, self._plan_reason = state.window_start, at, reason
        if at < now:
            at = now
        n_pred = p if at == math.inf else min(m, p + lam_now * (at - now))
        self._predicted_s = _cost(lines, n_pred)
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
        self.model.observe(record.size, record.chars, service)
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
                "per_kchar_ms": theta[2] / (self.max_size * _C0) * 1e6,
                "chars_per_request": self.model.chars_per_request,
                "residual_scale_ms": self.model.margin_scale() * 1e3,
                "observations": self.model.observations,
                "outliers_clipped": self.model.outliers,
                "level_shifts": self.model.level_shifts,
            },
            "predicted_service_ms": self._predicted_s * 1e3,
            "predicted_single_ms": _cost(lines, 1) * 1e3,
            "predicted_full_ms": _cost(lines, self.max_size) * 1e3,
            "window_changes": self.window_changes,
            "batches": self.batches,
            "failed_batches": self.failed_batches,
            "max_concurrent_batches": self.max_concurrent_batches,
            "decisions": dict(self.decisions),
            "dispatches": dict(self.dispatches),
        }

    # ------------------------------------------------------------------ internals

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
        single = _cost(lines, 1)
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
        ideal = _longest_wait_all(self._budget, 0.0, 1.0, lam, lines, self.max_size)
        ideal = min(max(ideal, self._min_window_eff), self._max_window_eff)
        self._ideal = ideal
        self._smooth += self.smoothing * (ideal - self._smooth)
        if abs(self._smooth - self._window) > max(5e-4, self.deadband * self._window):
            self._window = self._smooth
            self.window_changes += 1
