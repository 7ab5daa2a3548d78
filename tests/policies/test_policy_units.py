"""Direct checks of the policies' small parts with exact values: the fixed window, the adaptive policy's
reported figures, a level shift of the service model, the simulator's summary and its bursty stream."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest
from batchsieve.policies import Decision, FixedWindowPolicy, QueueState
from batchsieve.policies.adaptive import AdaptiveWindowPolicy
from batchsieve.policies.estimators import ServiceTimeModel
from batchsieve.policies.simulator import SimResult, bursty_arrivals

A, B = 0.008, 0.0008


def _state(pending: int, window_start: float = 1.0) -> QueueState:
    return QueueState(now=1.0, pending=pending, window_start=window_start, oldest_arrival=window_start)


def test_the_fixed_window_waits_for_min_size_and_takes_a_new_window_at_run_time():
    policy = FixedWindowPolicy(0.05, 1)
    assert policy.decide(_state(1)) == Decision(pytest.approx(1.05), "window")
    policy.set_window(0.01, 3)
    assert (policy.window_s, policy.min_size) == (0.01, 3)
    assert policy.decide(_state(2)) == Decision(math.inf, "window")  # below min_size: wait (max_wait bounds it)
    assert policy.decide(_state(3, window_start=2.0)) == Decision(pytest.approx(2.01), "window")
    assert policy.snapshot() == {"policy": "fixed", "window_ms": 10.0}


def test_a_new_adaptive_policy_reports_its_starting_figures():
    policy = AdaptiveWindowPolicy(target_latency_s=0.050, min_window_s=0.02, max_window_s=0.2, max_size=32,
                                  max_wait_s=0.2)
    snap = policy.snapshot()
    assert (snap["window_ms"], snap["ideal_window_ms"], snap["budget_ms"], snap["budget_factor"]) == (
        pytest.approx(20.0), pytest.approx(20.0), pytest.approx(45.0), 1.0)  # the budget: target less 10 %
    assert (snap["batches"], snap["window_changes"], snap["feasible"]) == (0, 0, True)


def test_each_level_shift_is_counted_and_rescales_the_residual_scale():
    model = ServiceTimeModel(32)
    rng = random.Random(3)
    for _ in range(100):
        n = rng.randint(1, 32)
        model.observe(n, 60 * n, (A + B * n) * (1 + 0.03 * rng.gauss(0, 1)))
    for factor in (2.5, 5.0):  # two slow-downs, each seen in three consistent outliers
        before = None
        for k in range(3):
            n = 8 + k
            before = model.scale
            model.observe(n, 60 * n, factor * (A + B * n))
        assert model.scale == pytest.approx(before * 2.5 if factor == 2.5 else before * 2.0, rel=0.05)
    assert model.level_shifts == 2
    assert model.predict(16, 960) == pytest.approx(5.0 * (A + 16 * B), rel=0.1)
    model.observe(16, 960, 5.0 * (A + 16 * B))  # and it goes on learning
    assert model.margin_scale() < 0.01


def _result(latencies_s, completions, arrivals, sizes, busy_s) -> SimResult:
    return SimResult(latencies=np.array(latencies_s), completions=np.array(completions), arrivals=np.array(arrivals),
                     batches=[(0.0, n, "window", 0.01) for n in sizes], windows=[], reasons=Counter(),
                     busy_s=busy_s, deadline_misses=0)


def test_the_simulators_summary_values():
    res = _result([0.010, 0.020, 0.030, 0.040, 0.100], [0.1, 0.2, 0.3, 0.4, 2.1], [0.1, 0.2, 0.3, 0.4, 2.0],
                  [2, 3], 0.03)
    # linear interpolation between order statistics: p95 at 3.8 of 4, p99 at 3.96
    assert res.summary() == {"throughput": pytest.approx(5 / 2.0), "p50": pytest.approx(30.0),
                             "p95": pytest.approx(88.0), "p99": pytest.approx(97.6), "mean_batch": 2.5, "batches": 2,
                             "busy_s": 0.03}
    empty = _result([], [], [], [], 0.0).summary()
    assert (empty["throughput"], empty["mean_batch"], empty["batches"], empty["busy_s"]) == (0.0, 0.0, 0, 0.0)
    assert all(math.isnan(empty[k]) for k in ("p50", "p95", "p99"))


def test_bursty_streams_keep_their_mean_rate_and_their_bounds_for_any_on_off_split():
    counts = []
    for seed in range(100):
        times = bursty_arrivals(20.0, 50.0, random.Random(seed), on_s=0.5, off_s=1.5)
        assert times == sorted(times) and times[0] >= 0.0 and times[-1] < 50.0
        counts.append(len(times))
    assert sum(counts) / (100 * 50.0) == pytest.approx(20.0, rel=0.06)  # ON at 80/s a quarter of the time
    # short streams: an ON spell never runs past the end
    for seed in range(200):
        times = bursty_arrivals(400.0, 0.3, random.Random(seed), on_s=0.5, off_s=0.5)
        assert all(0.0 <= t < 0.3 for t in times)
    # a stream starts ON with probability on / (on + off) = 1/4: then its first arrival comes within 5 ms (at
    # 4,000/s); starting OFF (mean 0.6 s) it almost never does
    quick = sum(bool(t := bursty_arrivals(1000.0, 0.2, random.Random(s), on_s=0.2, off_s=0.6)) and t[0] < 0.005
                for s in range(1000))
    assert quick / 1000 == pytest.approx(0.25 + 0.75 * (1 - math.exp(-0.005 / 0.6)), abs=0.05)


def test_the_adaptive_snapshot_reports_the_learned_costs_in_milliseconds():
    """Noise-free batches costing 8 ms + 0.8 ms per request + 2 ms per 1,000 characters."""
    from batchsieve.policies import BatchRecord

    policy = AdaptiveWindowPolicy(target_latency_s=0.050, min_window_s=0.02, max_window_s=0.2, max_size=32,
                                  max_wait_s=0.2)
    rng = random.Random(8)
    cpr = None
    for k in range(80):
        n = rng.randint(1, 32)
        chars = 60 * n + rng.randint(0, 3000)
        cpr = chars / n if cpr is None else cpr + 0.05 * (chars / n - cpr)  # the running mean of chars per request
        policy.on_batch_done(BatchRecord(dispatched_at=float(k), size=n, n_requests=n, chars=chars,
                                         oldest_wait_s=0.005, handler_s=0.008 + 0.0008 * n + 2e-6 * chars))
    snap = policy.snapshot()
    assert set(snap) == {"policy", "window_ms", "ideal_window_ms", "target_latency_ms", "budget_ms", "budget_factor",
                         "late_share", "oldest_latency_ms", "min_window_ms", "max_window_ms", "feasible",
                         "arrival_rate_per_s", "unique_fraction", "service_model", "predicted_service_ms",
                         "predicted_single_ms", "predicted_full_ms", "window_changes", "batches", "failed_batches",
                         "max_concurrent_batches", "decisions", "dispatches", "max_batch_cost", "batch_cap"}
    assert (snap["max_batch_cost"], snap["batch_cap"]) == (None, 32)  # no cost budget: the count alone caps
    model = snap["service_model"]
    assert set(model) == {"intercept_ms", "per_request_ms", "per_kchar_ms", "chars_per_request", "residual_scale_ms",
                          "observations", "outliers_clipped", "level_shifts", "feature"}
    assert model["feature"] == "chars"
    # the fit (a ridge regression: slightly biased) in the snapshot's units: ms, ms per request, ms per 1,000 chars
    from batchsieve.policies.estimators import _C0

    theta = policy.model.theta
    assert (model["intercept_ms"], model["per_request_ms"], model["per_kchar_ms"]) == (
        pytest.approx(theta[0] * 1e3, rel=1e-12), pytest.approx(theta[1] / 32 * 1e3, rel=1e-12),
        pytest.approx(theta[2] / (32 * _C0) * 1e6, rel=1e-12))
    assert (model["intercept_ms"], model["per_request_ms"], model["per_kchar_ms"]) == (
        pytest.approx(8.0, rel=0.01), pytest.approx(0.8, rel=0.01), pytest.approx(2.0, rel=0.01))
    assert model["chars_per_request"] == pytest.approx(cpr)
    assert model["residual_scale_ms"] == pytest.approx(policy.model.margin_scale() * 1e3)
    assert (model["observations"], model["outliers_clipped"], model["level_shifts"]) == (80, 0, 0)
    assert snap["late_share"] == 0.0  # no batch's oldest request was late
    # the oldest requests' latency: a running mean (5 % per batch) of 5 ms waits plus each batch's cost
    assert 5.0 < snap["oldest_latency_ms"] < 5.0 + 8.0 + 0.8 * 32 + 2e-3 * 4000
    assert snap["budget_ms"] == pytest.approx(45.0 - 2.0 * model["residual_scale_ms"])  # less the noise margin
    assert snap["ideal_window_ms"] == pytest.approx(snap["window_ms"], rel=0.06)  # settled (dead band 5 %)


def _adaptive(**kw) -> AdaptiveWindowPolicy:
    return AdaptiveWindowPolicy(**{"target_latency_s": 0.05, "min_window_s": 0.02, "max_window_s": 0.2, **kw})


def test_the_adaptive_policys_documented_defaults():
    policy = _adaptive()
    assert (policy.min_size, policy.max_size, policy.max_wait_s, policy.max_concurrent_batches) == (1, 32, math.inf, 1)
    assert (policy.headroom, policy.noise_margin, policy.smoothing, policy.deadband, policy.idle_arrivals,
            policy.deadline_margin_s) == (0.1, 2.0, 0.2, 0.05, 0.5, 0.002)
    assert (policy.model.forgetting, policy.model.outlier_k, policy.model.shift_after) == (0.95, 3.0, 3)
    assert (policy.late_share, policy.feedback_gain, policy.min_budget_factor) == (0.03, 0.01, 0.3)
    assert _adaptive(max_wait_s=math.inf).max_wait_s == math.inf  # no bound is a valid bound


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"target_latency_s": "50"}, TypeError, "target_latency_s must be a number, got str '50'"),
    ({"min_window_s": -1}, ValueError, "min_window_s must be >= 0, got -1"),
    ({"max_window_s": "x"}, TypeError, "max_window_s must be a number, got str 'x'"),
    ({"max_wait_s": 0.0}, ValueError, "max_wait_s must be > 0, got 0.0"),
    ({"max_wait_s": "x"}, TypeError, "max_wait_s must be a number, got str 'x'"),
    ({"max_concurrent_batches": 0}, ValueError, "max_concurrent_batches must be >= 1, got 0"),
    ({"headroom": -0.1}, ValueError, "headroom must be in [0, 1), got -0.1"),
    ({"headroom": 1.0}, ValueError, "headroom must be in [0, 1), got 1.0"),
    ({"noise_margin": -1.0}, ValueError, "noise_margin must be in [0, 100], got -1.0"),
    ({"noise_margin": 101.0}, ValueError, "noise_margin must be in [0, 100], got 101.0"),
    ({"smoothing": 0.0}, ValueError, "smoothing must be in (0, 1], got 0.0"),
    ({"deadband": -0.01}, ValueError, "deadband must be in [0, 1), got -0.01"),
    ({"deadband": 1.0}, ValueError, "deadband must be in [0, 1), got 1.0"),
    ({"idle_arrivals": -1.0}, ValueError, "idle_arrivals must be >= 0, got -1.0"),
    ({"idle_arrivals": "x"}, TypeError, "idle_arrivals must be a number, got str 'x'"),
    ({"deadline_margin_s": -1.0}, ValueError, "deadline_margin_s must be >= 0, got -1.0"),
    ({"deadline_margin_s": "x"}, TypeError, "deadline_margin_s must be a number, got str 'x'"),
    ({"noise_margin": "x"}, TypeError, "noise_margin must be a number, got str 'x'"),
    ({"smoothing": "x"}, TypeError, "smoothing must be a number, got str 'x'"),
    ({"deadband": "x"}, TypeError, "deadband must be a number, got str 'x'"),
    ({"headroom": "x"}, TypeError, "headroom must be a number, got str 'x'"),
])
def test_each_adaptive_setting_is_checked_by_name(kwargs, error, message):
    with pytest.raises(error) as info:
        _adaptive(**kwargs)
    assert str(info.value) == message


def test_edge_values_of_the_adaptive_settings_are_accepted():
    policy = _adaptive(headroom=0.0, noise_margin=100.0, smoothing=1.0, deadband=0.0, idle_arrivals=0.0,
                       deadline_margin_s=0.0)
    assert (policy.headroom, policy.noise_margin, policy.smoothing, policy.deadband) == (0.0, 100.0, 1.0, 0.0)


def test_the_adaptive_policys_running_figures_after_two_batches():
    from batchsieve.policies import BatchRecord

    policy = _adaptive()
    for _ in range(3):
        policy.on_arrival(1.0)
    # 4 callers in 2 handler slots; oldest waited 20 ms, handler 30 ms, dedup 10 ms: 60 ms, over the target
    policy.on_batch_done(BatchRecord(dispatched_at=1.0, size=2, n_requests=4, chars=100, oldest_wait_s=0.020,
                                     handler_s=0.030, dedup_s=0.010, reason="full"))
    policy.on_batch_done(BatchRecord(dispatched_at=2.0, size=1, n_requests=1, chars=10, oldest_wait_s=0.0,
                                     handler_s=0.5, failed=True))  # a failed batch teaches nothing
    snap = policy.snapshot()
    assert snap["unique_fraction"] == pytest.approx(1.0 + 0.05 * (0.5 - 1.0))
    assert snap["late_share"] == pytest.approx(0.02 * 4)  # a late batch counts each of its 4 callers
    assert snap["oldest_latency_ms"] == pytest.approx(0.05 * 60.0)
    assert (snap["batches"], snap["failed_batches"], snap["dispatches"]) == (2, 1, {"full": 1, "window": 1})
    assert snap["service_model"]["observations"] == 1
    assert policy.arrivals.arrivals == 3
    decision = policy.decide(QueueState(now=3.0, pending=1, window_start=3.0, oldest_arrival=3.0))
    assert snap["decisions"] == {} and policy.snapshot()["decisions"] == {decision.reason: 1}
