"""The adaptive window's online estimators: the service-time model and the arrival rate.

Fed directly with seeded synthetic observations; no clock is read and nothing sleeps.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from batchsieve.policies.estimators import ArrivalRateEstimator, ServiceTimeModel
from batchsieve.policies.simulator import poisson_arrivals

A, B = 0.008, 0.0008  # the simulated handler: 8 ms + 0.8 ms per request
MAX_SIZE = 32


def test_service_model_recovers_a_linear_cost() -> None:
    model = ServiceTimeModel(MAX_SIZE)
    rng = random.Random(1)
    for _ in range(60):
        n = rng.randint(1, MAX_SIZE)
        model.observe(n, 60 * n, A + B * n)
    a, beta = model.line()
    assert a == pytest.approx(A, rel=0.02)
    assert beta == pytest.approx(B, rel=0.02)
    assert model.predict(10, 600) == pytest.approx(A + 10 * B, rel=0.01)


def test_service_model_is_robust_to_outliers() -> None:
    model = ServiceTimeModel(MAX_SIZE)
    rng = random.Random(2)
    ys, xs = [], []
    for k in range(400):
        n = rng.randint(1, MAX_SIZE)
        y = (A + B * n) * (1 + 0.05 * rng.gauss(0, 1))
        if k > 10 and rng.random() < 0.05:
            y *= 10  # a GC pause, a cold cache, a noisy neighbour
        model.observe(n, 60 * n, y)
        xs.append(n)
        ys.append(y)
    # the robust fit stays near the truth, much nearer than plain least squares on the same data
    for n in (1, 16, 32):
        assert model.predict(n, 60 * n) == pytest.approx(A + B * n, rel=0.06)
    slope, icpt = np.polyfit(xs, ys, 1)
    truth = A + 16 * B
    assert abs(model.predict(16, 960) - truth) < 0.3 * abs(icpt + 16 * slope - truth)
    assert model.outliers > 5
    assert model.level_shifts == 0


def test_service_model_follows_a_real_slowdown_within_a_few_batches() -> None:
    model = ServiceTimeModel(MAX_SIZE)
    rng = random.Random(3)
    for _ in range(100):
        n = rng.randint(1, MAX_SIZE)
        model.observe(n, 60 * n, (A + B * n) * (1 + 0.03 * rng.gauss(0, 1)))
    for _ in range(8):  # the handler is now 2.5x slower
        n = rng.randint(1, MAX_SIZE)
        model.observe(n, 60 * n, 2.5 * (A + B * n) * (1 + 0.03 * rng.gauss(0, 1)))
    assert model.level_shifts == 1
    for n in (1, 16, 32):
        assert model.predict(n, 60 * n) == pytest.approx(2.5 * (A + B * n), rel=0.12)


def test_arrival_rate_estimate_and_quiet_discount() -> None:
    est = ArrivalRateEstimator()
    assert est.rate == 0.0 and est.rate_at(1.0) == 0.0
    times = poisson_arrivals(200.0, 5.0, random.Random(4))
    for t in times:
        est.on_arrival(t)
    assert est.rate == pytest.approx(200.0, rel=0.3)
    last = times[-1]
    assert est.rate_at(last) == pytest.approx(est.rate)
    assert est.rate_at(last + 1.0) == pytest.approx(1.0)  # a second of silence: about 1/s
    # one long pause moves the steady estimate only a little (the gap is clipped) ...
    est.on_arrival(last + 10.0)
    assert est.rate > 100.0
    # ... but the first request after it expects no company
    assert est.rate_at(last + 10.0) < 1.0
