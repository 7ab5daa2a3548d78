r"""The online estimators behind the adaptive window: what a batch costs, and how fast requests come.

Both are plain objects updated one observation at a time (O(1) per arrival, one 3x3 solve per batch);
:class:`~batchsieve.policies.adaptive.AdaptiveWindowPolicy` turns them into a dispatch time.

Service-time model (:class:`ServiceTimeModel`)
    A batch of :math:`n` unique requests with :math:`c` characters in all costs

    .. math:: S(n, c) = \theta_0 + \theta_1 \frac{n}{M} + \theta_2 \frac{c}{M C_0}

    seconds of handler time plus encoder/kernel time (``BatchRecord.handler_s + dedup_s``; on a GPU the
    engine times that work with CUDA events). :math:`M` is ``max_size`` and :math:`C_0` (``unit``) is 100
    characters, so the features are of order one. With a cost budget :math:`c` is the batch's cost
    (``cost_fn``: tokens, say) instead, and :math:`C_0` the cost per request at which a batch of
    :math:`M` just fills the budget (``max_batch_cost / max_size``). :math:`\theta` is the exponentially
    weighted ridge least-squares fit

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
    with :math:`\bar c` a running mean of characters per request. That gives the line
    (:meth:`ServiceTimeModel.line`) that the decision rule of :mod:`.adaptive` uses,

    .. math:: S(n) = a + \beta n, \qquad a = \max(\theta_0, 0), \quad
              \beta = \max\Big(\frac{\theta_1}{M} + \frac{\theta_2 \bar c}{M C_0},\, 0\Big).

Arrival rate (:class:`ArrivalRateEstimator`)
    An EWMA over inter-arrival gaps (weight ``alpha``, default 1/32 per arrival, so its memory is
    counted in requests and it reacts as fast at 10 req/s as at 10k req/s), each gap clipped to
    10 times the current mean so that one long pause does not wreck it: :math:`\lambda = 1/\bar g`. For a
    decision *now* the rate is discounted when the stream has gone quiet:
    :math:`\lambda_{now} = 1 / \max(\bar g,\ t_{now} - t_{last},\ g_{last} / 4)` (the last term catches the
    first request after a long pause).
"""

from __future__ import annotations

import math

__all__ = ["ArrivalRateEstimator", "ServiceTimeModel"]

_C0 = 100.0  # characters per request that scale the chars feature to order one
_RIDGE = (1e-9, 1e-2, 1e-2)  # ridge on (intercept, size slope, chars slope), in weight units


class ServiceTimeModel:
    """Online, outlier-robust linear model of a batch's service time in its size and characters.

    See the module docstring for the math. ``observe`` costs one 3x3 solve; ``predict`` is O(1).
    """

    def __init__(self, max_size: int, *, forgetting: float = 0.95, outlier_k: float = 3.0,
                 scale_alpha: float = 0.1, shift_after: int = 3, shift_discount: float = 0.3,
                 warmup: int = 3, unit: float = _C0) -> None:
        self.max_size = max_size
        self.unit = unit  # characters (or cost) per request that scale the second feature to order one
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
        self.chars_per_request = unit  # running mean of characters (or cost) per request
        self.observations = 0
        self.outliers = 0
        self.level_shifts = 0
        self._run: list[tuple[tuple[float, float, float], float, float]] = []  # same-sign outliers (x, y, ŷ)
        self._run_sign = 0

    def _features(self, n: float, chars: float) -> tuple[float, float, float]:
        m = self.max_size
        return (1.0, n / m, chars / (m * self.unit))

    def predict(self, n: float, chars: float) -> float:
        """Predicted service seconds of a batch of ``n`` requests with ``chars`` characters in all."""
        x = self._features(n, chars)
        t = self.theta
        return max(t[0] * x[0] + t[1] * x[1] + t[2] * x[2], 0.0)

    def line(self) -> tuple[float, float]:
        """``(a, beta)``: service seconds ``a + beta * n`` of a future batch of ``n`` typical requests."""
        t = self.theta
        m = self.max_size
        beta = t[1] / m + t[2] * self.chars_per_request / (m * self.unit)
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

