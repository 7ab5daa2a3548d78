"""The adaptive policy's rules one at a time, on hand-made records and queue states with exact values: the
reasons it gives, the warm-up boundary, the deadline guard's direction, the predicted service time of the
batch it plans, what one record teaches it (the unique fraction, the late share and its weight, the budget
factor's largest step), and the infeasible-target messages, said once each with their figures."""

from __future__ import annotations

import logging
import math

import pytest
from batchsieve.policies import BatchRecord, QueueState
from batchsieve.policies.adaptive import AdaptiveWindowPolicy

TARGET = 0.0625  # 1/16 s: sums of binary fractions below are exact


def policy(**kw) -> AdaptiveWindowPolicy:
    return AdaptiveWindowPolicy(**{"target_latency_s": TARGET, "min_window_s": 0.01, "max_window_s": 0.2, **kw})


def record(size: int = 4, n_requests: int | None = None, handler_s: float = 0.008, *, chars: int | None = None,
           oldest_wait_s: float = 0.0, failed: bool = False, dedup_s: float = 0.0, cost: float = 0.0) -> BatchRecord:
    return BatchRecord(dispatched_at=0.0, size=size, n_requests=size if n_requests is None else n_requests,
                       chars=60 * size if chars is None else chars, oldest_wait_s=oldest_wait_s,
                       handler_s=handler_s, dedup_s=dedup_s, failed=failed, cost=cost)


def linear(p: AdaptiveWindowPolicy, batches: int = 40, a: float = 0.005, b: float = 0.001) -> None:
    """Noise-free batches of 1..max_size requests costing ``a + b n`` seconds (60 characters each)."""
    for k in range(batches):
        n = 1 + k % p.max_size
        p.on_batch_done(record(n, handler_s=a + b * n))


def state(now: float = 10.0, pending: int = 1, deadline: float = math.inf) -> QueueState:
    return QueueState(now=now, pending=pending, window_start=now, oldest_arrival=now, earliest_deadline=deadline)


def arrivals(p: AdaptiveWindowPolicy, rate: float, until: float, count: int = 200) -> None:
    for k in range(count):
        p.on_arrival(until - (count - 1 - k) / rate)


# ------------------------------------------------------------------ decide


def test_below_min_size_without_a_deadline_the_window_waits_with_reason_window():
    p = policy(min_size=3)
    decision = p.decide(state(pending=2))
    assert (decision.at, decision.reason) == (math.inf, "window")
    assert p.snapshot()["decisions"] == {"window": 1}


def test_before_warm_up_a_deadline_is_served_at_once_with_reason_deadline():
    p = policy()
    arrivals(p, 1000.0, until=5.0)  # requests keep coming: waiting would grow the batch
    decision = p.decide(state(now=5.0, deadline=1000.0))
    assert (decision.at, decision.reason) == (5.0, "deadline")


def trained(batches: int = 40) -> AdaptiveWindowPolicy:
    p = policy(max_size=8)
    linear(p, batches)
    arrivals(p, 100.0, until=10.0)
    return p


def test_at_exactly_warm_up_observations_a_far_deadline_no_longer_forces_a_dispatch():
    plan = trained(3).decide(state())  # warm-up is three batches
    assert plan.reason == "window" and plan.at > 10.0
    assert trained(3).decide(state(deadline=1000.0)) == plan


def test_a_far_deadline_leaves_the_plan_alone_and_a_near_one_brings_it_forward():
    plan = trained().decide(state())
    assert plan.reason == "window" and plan.at > 10.001
    assert trained().decide(state(deadline=1000.0)) == plan
    near = trained().decide(state(deadline=plan.at))  # the plan's own time is too late for it
    assert near.reason == "deadline" and 10.0 <= near.at < plan.at


def test_with_nobody_coming_a_close_deadline_is_served_at_once_as_idle():
    p = policy()
    linear(p)
    p.on_arrival(0.0)
    p.on_arrival(0.001)  # a rate, then ten seconds of quiet
    decision = p.decide(state(deadline=10.001))
    assert (decision.at, decision.reason) == (10.0, "idle")


def test_each_decision_is_counted_once():
    p = policy(min_size=2)
    for _ in range(3):
        p.decide(state(pending=1))
    assert p.snapshot()["decisions"] == {"window": 3}


def test_the_predicted_service_time_is_that_of_the_batch_expected_at_dispatch():
    """100 new requests a second for the ``d`` seconds it waits: ``S(p + 100 d)`` with ``S(n) = 5 + n`` ms."""
    p = policy(max_size=16)
    linear(p, 80)
    arrivals(p, 100.0, until=10.0)
    decision = p.decide(state(pending=2))
    wait = decision.at - 10.0
    assert wait > 0.02
    expected_ms = 5.0 + 1.0 * (2 + 100.0 * wait)
    assert p.snapshot()["predicted_service_ms"] == pytest.approx(expected_ms, rel=0.03)


def test_the_snapshot_predicts_a_single_request_and_a_full_batch_from_the_learned_line():
    p = policy(max_size=16)
    linear(p)
    snap = p.snapshot()
    assert snap["predicted_single_ms"] == pytest.approx(6.0, rel=0.03)
    assert snap["predicted_full_ms"] == pytest.approx(5.0 + 16.0, rel=0.03)


# ------------------------------------------------------------------ what one record teaches


def test_failed_batches_are_each_counted():
    p = policy()
    for _ in range(3):
        p.on_batch_done(record(failed=True))
    snap = p.snapshot()
    assert (snap["failed_batches"], snap["batches"], snap["service_model"]["observations"]) == (3, 3, 0)


@pytest.mark.parametrize(("size", "n_requests", "unique"), [
    (0, 3, 1.0),  # an empty call (every caller left): nothing learnt of the unique fraction
    (1, 2, 1.0 + 0.05 * (0.5 - 1.0)),
    (3, 1, 1.0),  # more handler slots than callers is capped at 1
])
def test_the_unique_fraction_learns_size_over_callers(size, n_requests, unique):
    p = policy()
    p.on_batch_done(record(size, n_requests))
    assert p.snapshot()["unique_fraction"] == pytest.approx(unique, abs=1e-12)


def test_a_single_request_batch_moves_a_lowered_unique_fraction_back_up():
    p = policy()
    p.on_batch_done(record(1, 4))
    low = 1.0 + 0.05 * (0.25 - 1.0)
    p.on_batch_done(record(1, 1))
    assert p.snapshot()["unique_fraction"] == pytest.approx(low + 0.05 * (1.0 - low), abs=1e-12)


def test_a_batch_exactly_at_the_target_is_not_late():
    p = policy()
    p.on_batch_done(record(2, handler_s=0.03125, oldest_wait_s=0.03125))  # 1/32 + 1/32 = the target
    snap = p.snapshot()
    assert snap["late_share"] == 0.0 and snap["budget_factor"] == 1.0


@pytest.mark.parametrize(("size", "n_requests", "late_share"), [
    (0, 0, 0.02),  # a batch that answered nobody still weighs one
    (1, 1, 0.02),
    (2, 5, 0.10),
    (5, 2, 0.10),  # the larger of callers and handler slots
    (80, 80, 1.0),  # the running share moves at most all the way
])
def test_a_late_batch_weighs_its_callers_in_the_late_share(size, n_requests, late_share):
    p = policy()
    p.on_batch_done(record(size, n_requests, handler_s=0.05, oldest_wait_s=0.05))
    assert p.snapshot()["late_share"] == pytest.approx(late_share, abs=1e-12)


def test_one_very_late_batch_cuts_the_budget_factor_by_at_most_its_largest_step():
    p = policy()
    p.on_batch_done(record(100, handler_s=0.05, oldest_wait_s=0.05))  # step 0.01 * 100 * (0.03 - 1) < -0.5
    assert p.snapshot()["budget_factor"] == pytest.approx(math.exp(-0.5), abs=1e-12)


def test_a_slightly_late_batch_cuts_the_budget_factor_by_its_own_step():
    p = policy()
    p.on_batch_done(record(10, handler_s=0.05, oldest_wait_s=0.05))
    assert p.snapshot()["budget_factor"] == pytest.approx(math.exp(0.01 * 10 * (0.03 - 1.0)), abs=1e-12)


def test_the_oldest_latency_is_a_running_mean_in_milliseconds():
    p = policy()
    p.on_batch_done(record(handler_s=0.010, oldest_wait_s=0.030, dedup_s=0.002))
    p.on_batch_done(record(handler_s=0.010, oldest_wait_s=0.0))
    first = 0.05 * 42.0
    assert p.snapshot()["oldest_latency_ms"] == pytest.approx(first + 0.05 * (10.0 - first), abs=1e-9)


def test_a_lower_unique_fraction_allows_a_longer_window():
    """Exact duplicates do not grow a batch: at the same arrival rate, fewer new slots mean more time."""
    def trained(n_requests_per_slot: int) -> AdaptiveWindowPolicy:
        p = policy(max_size=64)
        arrivals(p, 2000.0, until=10.0)
        for k in range(60):
            n = 1 + k % 8
            p.on_batch_done(record(n, n * n_requests_per_slot, handler_s=0.005 + 0.002 * n))
        return p

    assert trained(4).snapshot()["ideal_window_ms"] > 1.2 * trained(1).snapshot()["ideal_window_ms"]


def test_the_window_change_count_matches_the_changes_seen():
    p = policy(max_size=64)
    arrivals(p, 500.0, until=10.0)
    seen, last = 0, p.window_s
    for k in range(60):
        n = 1 + k % 8
        p.on_batch_done(record(n, handler_s=0.002 + 0.0005 * n))
        if p.window_s != last:
            seen, last = seen + 1, p.window_s
    assert seen >= 2 and p.snapshot()["window_changes"] == seen


# ------------------------------------------------------------------ an infeasible target


def test_infeasible_at_the_third_batch_then_feasible_again_with_exact_messages_then_never_warned_twice(caplog):
    p = policy()
    with caplog.at_level(logging.INFO, logger="batchsieve"):
        for _ in range(2):
            p.on_batch_done(record(1, handler_s=0.080))
        assert p.feasible and caplog.records == []  # two batches are not enough to judge
        p.on_batch_done(record(1, handler_s=0.080))
        assert not p.feasible and p.window_s == 0.0
        single = p.snapshot()["predicted_single_ms"]
        assert single == pytest.approx(80.0, rel=0.01)
        assert [(r.levelname, r.getMessage()) for r in caplog.records] == [(
            "WARNING", f"adaptive window: target_latency_ms=62.5 is infeasible: a single request alone takes "
                       f"about {single:.1f} ms; dispatching at once to minimise latency")]
        caplog.clear()
        while not p.feasible:
            p.on_batch_done(record(1, handler_s=0.004))
        single = p.snapshot()["predicted_single_ms"]
        assert single < 62.5 * 0.9
        assert [(r.levelname, r.getMessage()) for r in caplog.records] == [(
            "INFO", f"adaptive window: target_latency_ms=62.5 is feasible again (single request about "
                    f"{single:.1f} ms)")]
        caplog.clear()
        while p.feasible:
            p.on_batch_done(record(1, handler_s=0.080))
    assert caplog.records == []  # the warning is said once per policy


def test_the_target_becomes_feasible_again_only_below_its_headroom():
    """Recovery needs a single request under 90 % of the target: at about 95 % it stays infeasible."""
    p = policy()
    for _ in range(3):
        p.on_batch_done(record(1, handler_s=0.080))
    assert not p.feasible
    for _ in range(40):
        p.on_batch_done(record(1, handler_s=0.0595))
    assert p.snapshot()["predicted_single_ms"] == pytest.approx(59.5, rel=0.01)
    assert not p.feasible


# ------------------------------------------------------------------ more of the same rules, on what they combine


def test_a_queue_already_past_its_budget_goes_now_for_the_window_not_as_idle():
    p = trained()
    decision = p.decide(QueueState(now=10.0, pending=3, window_start=9.0, oldest_arrival=9.0))
    assert (decision.at, decision.reason) == (10.0, "window")


def test_the_planned_batch_grows_by_the_new_slots_only_when_callers_repeat_themselves():
    p = policy(max_size=16)
    for k in range(80):
        n = 1 + k % 16
        p.on_batch_done(record(n, 4 * n, handler_s=0.005 + 0.001 * n))  # four callers per handler slot
    arrivals(p, 400.0, until=10.0)
    unique = p.snapshot()["unique_fraction"]
    assert 0.25 < unique < 0.3
    decision = p.decide(state(pending=2))
    wait = decision.at - 10.0
    assert wait > 0.02
    assert p.snapshot()["predicted_service_ms"] == pytest.approx(5.0 + (2 + 400.0 * unique * wait), rel=0.03)


def test_the_predicted_service_of_a_planned_single_or_full_batch_is_the_snapshot_s_single_or_full_cost():
    single = trained()  # a lone request with nobody coming: dispatched at once, alone
    single.arrivals = type(single.arrivals)()
    assert single.decide(state(pending=1)).reason == "idle"
    snap = single.snapshot()
    assert snap["predicted_service_ms"] == snap["predicted_single_ms"]
    full = trained()  # more pending than a batch holds: a full batch is planned
    full.decide(state(pending=20))
    snap = full.snapshot()
    assert snap["predicted_service_ms"] == snap["predicted_full_ms"]


def test_the_late_share_is_a_running_mean_over_batches():
    p = policy()
    p.on_batch_done(record(1, handler_s=0.05, oldest_wait_s=0.05))  # late, weight 1
    p.on_batch_done(record(1, handler_s=0.001))  # on time, weight 1
    assert p.snapshot()["late_share"] == pytest.approx(0.02 + 0.02 * (0.0 - 0.02), abs=1e-12)
