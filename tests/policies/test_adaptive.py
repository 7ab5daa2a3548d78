"""The adaptive window controller, on an injected (virtual) clock.

Each scenario runs :mod:`batchsieve.policies.simulator`: a discrete-event simulator that drives the policy
through the engine's own dispatch decision, with a simulated handler costing ``a + b * n`` seconds (plus
seeded noise). No test sleeps or reads the wall clock; every random stream is seeded.
"""

from __future__ import annotations

import logging
import math
import random

import numpy as np
import pytest
from batchsieve.policies import BatchRecord, DispatchPolicy, FixedWindowPolicy, QueueState
from batchsieve.policies._waits import longest_wait
from batchsieve.policies.adaptive import AdaptiveWindowPolicy
from batchsieve.policies.simulator import LinearHandler, bursty_arrivals, poisson_arrivals, simulate

TARGET = 0.050
A, B = 0.008, 0.0008  # the simulated handler: 8 ms + 0.8 ms per request
MAX_SIZE = 32


def _policy(**kw: object) -> AdaptiveWindowPolicy:
    args: dict = dict(target_latency_s=TARGET, min_window_s=0.02, max_window_s=0.2, min_size=1,
                      max_size=MAX_SIZE, max_wait_s=0.2, max_concurrent_batches=1)
    args.update(kw)
    return AdaptiveWindowPolicy(**args)


def _ideal_window(rate: float, a: float = A, b: float = B, budget: float = 0.9 * TARGET,
                  lo: float = 0.02, hi: float = 0.2) -> float:
    """The window the decision rule should settle on, from the true handler and arrival rate, found here by
    bisection on the rule's definition (not with the policy's own closed form): the longest wait ``d`` for a
    request that opens an empty queue such that ``d + a + b * min(M, 1 + rate * d) <= budget`` (the budget
    is the target less the 10 % headroom), clipped to ``[min_window, max_window]``."""
    def late(d: float) -> bool:
        return d + a + b * min(MAX_SIZE, 1 + rate * d) > budget

    if late(0.0):
        return lo
    left, right = 0.0, 10.0
    for _ in range(200):
        mid = (left + right) / 2
        left, right = (left, mid) if late(mid) else (mid, right)
    return min(max(left, lo), hi)


def _window_at(result, t: float) -> float:
    """The policy's window after the last batch that finished before ``t``."""
    w = [win for (when, win) in result.windows if when <= t]
    return w[-1]


def _lat_between(result, t0: float, t1: float) -> np.ndarray:
    mask = (result.arrivals >= t0) & (result.arrivals < t1)
    return result.latencies[mask]


# ---------------------------------------------------------------------------------------- the rule


def test_longest_wait_matches_brute_force() -> None:
    rng = random.Random(5)
    for _ in range(500):
        budget, elapsed = rng.uniform(0.0, 0.1), rng.uniform(0.0, 0.08)
        p, lam = rng.randint(1, 40), rng.choice([0.0, rng.uniform(0, 5000)])
        a, beta, m = rng.uniform(0, 0.03), rng.uniform(0, 0.003), 32

        d = longest_wait(budget, elapsed, p, lam, a, beta, m)
        assert d >= 0.0
        at_d = elapsed + d + a + beta * min(m, p + lam * d)
        if d > 0:
            assert at_d == pytest.approx(budget, abs=1e-9)
        else:
            assert at_d >= budget - 1e-12


def test_validation() -> None:
    with pytest.raises(TypeError, match="target_latency_s"):
        _policy(target_latency_s="50")
    with pytest.raises(TypeError, match="max_size"):
        _policy(max_size=32.0)
    with pytest.raises(TypeError, match="min_window_s"):
        _policy(min_window_s=True)
    with pytest.raises(ValueError, match="target_latency_s"):
        _policy(target_latency_s=0)
    with pytest.raises(ValueError, match="max_window_s"):
        _policy(min_window_s=0.3, max_window_s=0.2)
    with pytest.raises(ValueError, match="min_window_s"):
        _policy(min_window_s=-1)
    with pytest.raises(ValueError, match="max_concurrent_batches"):
        _policy(max_concurrent_batches=0)
    with pytest.raises(ValueError, match="headroom"):
        _policy(headroom=1.0)
    with pytest.raises(ValueError, match="max_size"):
        _policy(min_size=4, max_size=2)


def test_protocol_and_snapshot_are_json_able() -> None:
    import json

    policy = _policy()
    assert isinstance(policy, DispatchPolicy)
    arr = poisson_arrivals(300.0, 2.0, random.Random(6))
    res = simulate(policy, arr, LinearHandler(A, B, noise=0.1, seed=6), max_size=MAX_SIZE, max_wait_s=0.2)
    snap = policy.snapshot()
    assert json.loads(json.dumps(snap)) == snap
    assert snap["policy"] == "adaptive" and snap["feasible"] is True
    assert snap["window_ms"] == pytest.approx(policy.window_s * 1e3)
    assert snap["target_latency_ms"] == pytest.approx(50.0)
    assert (snap["min_window_ms"], snap["max_window_ms"]) == (pytest.approx(20.0), pytest.approx(200.0))
    assert snap["arrival_rate_per_s"] == pytest.approx(300.0, rel=0.3)
    model = snap["service_model"]
    assert model["intercept_ms"] + model["per_request_ms"] == pytest.approx((A + B) * 1e3, rel=0.1)
    assert model["observations"] == snap["batches"] == len(res.batches)
    assert snap["dispatches"] == dict(res.reasons)
    assert sum(snap["decisions"].values()) >= snap["batches"]


def test_max_window_is_capped_by_max_wait() -> None:
    policy = _policy(max_window_s=0.5, max_wait_s=0.1)
    assert policy.snapshot()["max_window_ms"] == pytest.approx(100.0)


# ---------------------------------------------------------------------------------------- scenarios


def test_converges_after_a_load_step() -> None:
    """50 req/s for 10 s, then 400 req/s: the window moves to the new optimum within a second."""
    rng = random.Random(10)
    arr = poisson_arrivals(50.0, 10.0, rng) + poisson_arrivals(400.0, 10.0, rng, start=10.0)
    policy = _policy()
    res = simulate(policy, arr, LinearHandler(A, B, noise=0.05, seed=10), max_size=MAX_SIZE, max_wait_s=0.2)
    lo, hi = _ideal_window(50.0), _ideal_window(400.0)
    assert lo > hi * 1.1  # the step really moves the optimum
    assert _window_at(res, 9.9) == pytest.approx(lo, rel=0.12)
    for t in (11.0, 15.0, 19.9):
        assert _window_at(res, t) == pytest.approx(hi, rel=0.12)
    assert policy.arrivals.rate == pytest.approx(400.0, rel=0.3)
    for t0, t1 in ((1.0, 10.0), (10.5, 20.0)):
        assert np.percentile(_lat_between(res, t0, t1), 95) <= TARGET
    assert np.percentile(_lat_between(res, 10.0, 10.5), 95) <= 1.15 * TARGET  # during the transient


def test_follows_a_handler_slowdown() -> None:
    """At t = 10 s the handler becomes 2x slower: the model notices in a few batches, latency holds."""
    handler = LinearHandler(A, B, noise=0.05, slow_at=10.0, slow_factor=2.0, seed=11)
    arr = poisson_arrivals(100.0, 20.0, random.Random(11))
    policy = _policy()
    res = simulate(policy, arr, handler, max_size=MAX_SIZE, max_wait_s=0.2)
    snap = policy.snapshot()
    assert snap["service_model"]["level_shifts"] >= 1
    a, beta = policy.model.line()
    assert a + 4 * beta == pytest.approx(2 * (A + 4 * B), rel=0.1)
    assert _window_at(res, 9.9) == pytest.approx(_ideal_window(100.0), rel=0.12)
    assert _window_at(res, 19.9) == pytest.approx(_ideal_window(100.0, 2 * A, 2 * B), rel=0.12)
    assert np.percentile(_lat_between(res, 10.0, 10.5), 95) <= 1.15 * TARGET  # the transient
    assert np.percentile(_lat_between(res, 10.5, 20.0), 95) <= TARGET


def test_burst_after_idle() -> None:
    """Steady 50 req/s, 5 s of silence, then a 0.3 s burst at 600 req/s."""
    rng = random.Random(12)
    steady = poisson_arrivals(50.0, 5.0, rng)
    burst = poisson_arrivals(600.0, 0.3, rng, start=10.0)
    dispatches: list[tuple[float, list[int]]] = []
    policy = _policy()
    res = simulate(policy, steady + burst, LinearHandler(A, B, noise=0.05, seed=12), max_size=MAX_SIZE,
                   max_wait_s=0.2, on_dispatch=lambda now, idx: dispatches.append((now, idx)))
    first = len(steady)
    # the lone first request after the silence expects no company: it goes at once
    (at, _), reason = next((d, r) for d, r in zip(dispatches, (b[2] for b in res.batches), strict=True)
                             if first in d[1])
    assert at == pytest.approx(burst[0]) and reason == "idle"
    # the burst is then batched and every request in it meets the target
    lat = res.latencies[first:]
    assert lat.max() <= TARGET
    assert np.mean([len(i) for (t, i) in dispatches if t >= 10.0]) > 4
    assert policy.arrivals.rate > 300.0


def test_infeasible_target_is_reported_once_and_latency_minimised(caplog: pytest.LogCaptureFixture) -> None:
    """The handler alone takes 60 ms against a 50 ms target: say so once, then dispatch at once."""
    handler = LinearHandler(0.060, 0.001, noise=0.05, seed=13)
    arr = poisson_arrivals(30.0, 20.0, random.Random(13))
    policy = _policy()
    with caplog.at_level(logging.WARNING, logger="batchsieve"):
        res = simulate(policy, arr, handler, max_size=MAX_SIZE, max_wait_s=0.2)
    warnings = [r for r in caplog.records if "infeasible" in r.getMessage()]
    assert len(warnings) == 1
    snap = policy.snapshot()
    assert snap["feasible"] is False and snap["window_ms"] == 0.0
    # after the first batches every batch leaves the moment the handler is free
    late = [b for b in res.batches if b[0] > 1.0]
    assert all(reason == "window" for (_, _, reason, _) in late)
    ref = simulate(FixedWindowPolicy(0.0), arr, LinearHandler(0.060, 0.001, noise=0.05, seed=13),
                   max_size=MAX_SIZE, max_wait_s=0.2)
    mask = res.arrivals > 1.0
    assert np.percentile(res.latencies[mask], 95) <= 1.02 * np.percentile(ref.latencies[mask], 95)


def test_infeasible_then_feasible_again(caplog: pytest.LogCaptureFixture) -> None:
    handler = LinearHandler(0.070, 0.0, noise=0.02, slow_at=5.0, slow_factor=0.1, seed=14)
    arr = poisson_arrivals(40.0, 10.0, random.Random(14))
    policy = _policy()
    with caplog.at_level(logging.INFO, logger="batchsieve"):
        simulate(policy, arr, handler, max_size=MAX_SIZE, max_wait_s=0.2)
    assert policy.feasible and policy.window_s >= 0.02
    messages = [r.getMessage() for r in caplog.records]
    assert sum("infeasible" in m for m in messages) == 1
    assert sum("feasible again" in m for m in messages) == 1


@pytest.mark.parametrize("rate", [100.0, 400.0, 700.0])
def test_no_oscillation_at_a_steady_load(rate: float) -> None:
    """At a steady load (10 % handler noise) the window settles and stays within a narrow band."""
    arr = poisson_arrivals(rate, 30.0, random.Random(int(rate)))
    policy = _policy()
    res = simulate(policy, arr, LinearHandler(A, B, noise=0.1, seed=15), max_size=MAX_SIZE, max_wait_s=0.2)
    w = np.array([win for (t, win) in res.windows if t > 5.0])
    changes = int(np.sum(np.diff(w) != 0))
    assert (w.max() - w.min()) / w.mean() < 0.2
    assert changes <= 0.08 * len(w)
    assert np.percentile(res.latencies[res.arrivals > 5.0], 95) <= TARGET


@pytest.mark.parametrize(("max_concurrent", "shortest"), [(1, 0.045), (3, 0.025)])
def test_deadlines_are_never_exceeded(max_concurrent: int, shortest: float) -> None:
    """Callers with timeouts of ``shortest``-80 ms under a lax 150 ms target: none is answered late.

    With one batch at a time a request that arrives just after a dispatch waits for that batch
    (about 20 ms here) before its own can start, whatever the policy does; hence the longer shortest
    timeout there.
    """
    rng = random.Random(16 + max_concurrent)
    arr = poisson_arrivals(250.0, 20.0, rng) + poisson_arrivals(60.0, 5.0, rng, start=25.0)
    arr.sort()
    deadlines = [t + rng.uniform(shortest, 0.080) if rng.random() < 0.3 else math.inf for t in arr]
    policy = _policy(target_latency_s=0.150, max_window_s=0.3, max_wait_s=0.3,
                     max_concurrent_batches=max_concurrent)
    res = simulate(policy, arr, LinearHandler(A, B, noise=0.03, seed=16), deadlines=deadlines,
                   max_size=MAX_SIZE, max_wait_s=0.3, max_concurrent=max_concurrent)
    assert res.deadline_misses == 0
    assert res.reasons["deadline"] > 10  # the deadline guard, not luck, did it
    assert policy.window_s > 0.08  # the lax target alone would have held them longer


def test_queue_state_deadline_before_the_window_dispatches_now() -> None:
    policy = _policy()
    for k in range(5):
        policy.on_batch_done(BatchRecord(dispatched_at=k, size=4, n_requests=4, chars=240, oldest_wait_s=0.01,
                                         handler_s=A + 4 * B))
    for t in np.arange(0.0, 1.0, 0.01):
        policy.on_arrival(float(t))
    state = QueueState(now=1.0, pending=2, window_start=1.0, oldest_arrival=1.0, earliest_deadline=1.005)
    d = policy.decide(state)
    assert d.at == 1.0 and d.reason == "deadline"


@pytest.mark.parametrize("pattern", ["poisson", "bursty"])
def test_adaptive_meets_the_target_where_a_fixed_window_does(pattern: str) -> None:
    """A small version of the benchmark's acceptance check, over loads from light to near capacity."""
    for rate in (20.0, 150.0, 450.0):
        rng = random.Random(int(rate) + len(pattern))
        arr = (poisson_arrivals if pattern == "poisson" else bursty_arrivals)(rate, 15.0, rng)
        ad = simulate(_policy(), arr, LinearHandler(A, B, noise=0.1, seed=17), max_size=MAX_SIZE,
                      max_wait_s=0.2).summary()
        meeting = []
        for w in (0.005, 0.02, 0.05, 0.1, 0.2):
            s = simulate(FixedWindowPolicy(w), arr, LinearHandler(A, B, noise=0.1, seed=17),
                         max_size=MAX_SIZE, max_wait_s=0.2).summary()
            if s["p95"] <= TARGET * 1e3:
                meeting.append(s["throughput"])
        # which loads some fixed window can serve within the target (RESULTS.md: Poisson up to 500 req/s,
        # bursty up to 200 req/s): stated, so that a load no window meets is not silently skipped
        assert bool(meeting) == (pattern == "poisson" or rate <= 200.0), (pattern, rate)
        if not meeting:
            continue
        assert ad["p95"] <= 1.15 * TARGET * 1e3, (rate, ad)
        assert ad["throughput"] >= 0.9 * max(meeting), (rate, ad)


def test_feedback_makes_room_for_queueing_behind_slow_batches() -> None:
    """1 % of batches take 5x as long near capacity; requests queue behind them, which the cost model
    (it clips those batches as outliers) does not see but the realised latency does."""
    worst_open_loop = 0.0
    for seed in (18, 19, 20):
        arr = poisson_arrivals(400.0, 30.0, random.Random(seed))
        p95 = {}
        for gain in (0.01, 0.0):
            policy = _policy(feedback_gain=gain)
            handler = LinearHandler(A, B, noise=0.1, outlier_p=0.01, outlier_factor=5.0, seed=seed)
            res = simulate(policy, arr, handler, max_size=MAX_SIZE, max_wait_s=0.2)
            p95[gain] = float(np.percentile(res.latencies[res.arrivals > 3.0], 95))
            if gain:
                assert policy.snapshot()["budget_factor"] < 0.9
        assert p95[0.01] <= TARGET
        worst_open_loop = max(worst_open_loop, p95[0.0])
    assert worst_open_loop > 1.15 * TARGET  # without the feedback the target is missed at one seed
    # with a well-behaved handler the feedback leaves the budget alone
    clean = _policy()
    simulate(clean, arr, LinearHandler(A, B, noise=0.05, seed=18), max_size=MAX_SIZE, max_wait_s=0.2)
    assert clean.snapshot()["budget_factor"] == pytest.approx(1.0, abs=0.02)


@pytest.mark.looptime
async def test_the_engine_runs_the_adaptive_policy() -> None:
    """``BatchProcessor(adaptive=True)`` builds this policy, feeds it and reports it (virtual loop time)."""
    import asyncio

    from batchsieve import BatchProcessor

    async def handler(requests: list[dict]) -> list[str]:
        await asyncio.sleep(A + B * len(requests))
        return [r["query"].upper() for r in requests]

    batch = BatchProcessor(handler=handler, adaptive=True, target_latency_ms=50, min_window_ms=20,
                           max_window_ms=200, max_wait_ms=100, max_size=MAX_SIZE, dedup_strategy="exact")
    assert isinstance(batch.policy, AdaptiveWindowPolicy)
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks = []
    for i, t in enumerate(poisson_arrivals(200.0, 3.0, random.Random(19))):
        await asyncio.sleep(max(0.0, start + t - loop.time()))
        tasks.append(asyncio.create_task(batch.process({"query": f"q{i % 50}"})))
    results = await asyncio.gather(*tasks)
    await batch.close()
    assert results == [f"Q{i % 50}" for i in range(len(tasks))]
    stats = batch.get_stats()
    snap = stats.policy
    assert snap["policy"] == "adaptive"
    assert snap["batches"] == stats.total_batches
    assert sum(snap["dispatches"].values()) == stats.total_batches
    assert snap["dispatches"] == stats.dispatch_reasons
    assert 20.0 <= stats.current_window_ms <= 100.0  # max_window is capped by max_wait
    assert snap["arrival_rate_per_s"] == pytest.approx(200.0, rel=0.35)
    assert 0.0 < snap["unique_fraction"] <= 1.0
