"""The adaptive decision at its edges: a window that ends right now, no idle arrivals expected at all, a
deadline with no cost model yet, the cost budget's share of the pending queue, the prediction while too
few requests wait, a record without callers, the cost budget's batch cap, a new policy's figures, and the
closed-form wait while requests trickle in. Times are binary fractions so that ties are exact."""

from __future__ import annotations

import logging
import math

import pytest
from batchsieve.policies import QueueState
from batchsieve.policies._waits import longest_wait
from batchsieve.policies.adaptive import AdaptiveWindowPolicy

from .test_adaptive_units import record

WINDOW = 0.015625  # 1/64 s


def policy(**kw) -> AdaptiveWindowPolicy:
    return AdaptiveWindowPolicy(**{"target_latency_s": 0.0625, "min_window_s": WINDOW, "max_window_s": 0.25, **kw})


def trained(p: AdaptiveWindowPolicy, batches: int = 40, cost_each: float = 1.0) -> AdaptiveWindowPolicy:
    for k in range(batches):
        n = 1 + k % 8
        p.on_batch_done(record(n, handler_s=0.002 + 0.001 * n, cost=cost_each * n))
    return p


def state(now: float, window_start: float, pending: int = 1, **kw) -> QueueState:
    return QueueState(now=now, pending=pending, window_start=window_start, oldest_arrival=window_start, **kw)


def test_a_window_ending_now_dispatches_for_the_window_not_for_idleness():
    p = policy()
    decision = p.decide(state(10.0 + WINDOW, 10.0))
    assert (decision.at, decision.reason) == (10.0 + WINDOW, "window")


def test_a_far_deadline_at_the_window_end_is_no_deadline_dispatch():
    p = policy()  # no cost model yet: a deadline alone would dispatch at once, but the window ends now anyway
    decision = p.decide(state(10.0 + WINDOW, 10.0, earliest_deadline=20.0))
    assert (decision.at, decision.reason) == (10.0 + WINDOW, "window")


def test_with_no_idle_arrivals_expected_a_quiet_queue_waits_for_its_window():
    p = policy(idle_arrivals=0.0)  # no arrivals seen: an expected 0 arrivals is not fewer than 0
    decision = p.decide(state(10.0, 10.0))
    assert (decision.at, decision.reason) == (10.0 + WINDOW, "window")


def test_pending_cost_counts_only_under_a_cost_budget():
    plain, other = trained(policy()), trained(policy())
    # 600 would be 10 requests at the 60 characters per request learned (were it counted)
    a = plain.decide(state(10.0, 10.0, pending=1, pending_cost=600.0))
    b = other.decide(state(10.0, 10.0, pending=1))
    assert (a, plain.snapshot()["predicted_service_ms"]) == (b, other.snapshot()["predicted_service_ms"])
    more = trained(policy())
    more.decide(state(10.0, 10.0, pending=4))
    assert more.snapshot()["predicted_service_ms"] > other.snapshot()["predicted_service_ms"]  # it would show


@pytest.mark.parametrize("pending_cost", [1.0, 8.0])
def test_under_a_cost_budget_the_pending_cost_is_counted_in_typical_requests(pending_cost):
    # max_batch_cost 16 over max_size 32; the requests observed cost 0.5 each
    by_cost = trained(policy(max_batch_cost=16.0), cost_each=0.5)
    assert by_cost.model.chars_per_request == pytest.approx(0.5, rel=1e-12)
    by_cost.decide(state(10.0, 10.0, pending=1, pending_cost=pending_cost))
    by_count = trained(policy(max_batch_cost=16.0), cost_each=0.5)
    by_count.decide(state(10.0, 10.0, pending=round(pending_cost / 0.5)))
    one = trained(policy(max_batch_cost=16.0), cost_each=0.5)
    one.decide(state(10.0, 10.0, pending=1))
    assert by_cost.snapshot()["predicted_service_ms"] == by_count.snapshot()["predicted_service_ms"]
    assert by_cost.snapshot()["predicted_service_ms"] > one.snapshot()["predicted_service_ms"]


def test_while_too_few_wait_the_prediction_is_for_the_queue_as_it_is():
    p = trained(policy(min_size=4))
    for t in (9.0, 9.25, 9.5, 9.75):  # arrivals at 4 per second
        p.on_arrival(t)
    decision = p.decide(state(10.0, 10.0, pending=1))
    snap = p.snapshot()
    assert (decision.at, decision.reason) == (math.inf, "window")
    assert snap["predicted_service_ms"] == snap["predicted_single_ms"] < snap["predicted_full_ms"]


def test_a_record_without_callers_teaches_no_unique_fraction():
    p = policy()
    p.on_batch_done(record(2, n_requests=0, handler_s=0.01))
    assert p.snapshot()["unique_fraction"] == 1.0


def test_the_batch_cap_follows_the_observed_cost_per_request():
    p = policy(max_batch_cost=4.0)  # 32 requests at the starting 0.125 each fill it
    assert p.snapshot()["batch_cap"] == 32
    p.on_batch_done(record(2, handler_s=0.01, cost=2.0))  # 1.0 per request: 4 fill the budget
    assert p.snapshot()["batch_cap"] == 4.0


def test_a_new_policy_predicts_nothing_yet():
    snap = policy().snapshot()
    model = snap["service_model"]
    assert (model["intercept_ms"], model["per_request_ms"], model["per_kchar_ms"], model["residual_scale_ms"]) \
        == (0.0, 0.0, 0.0, 0.0)
    assert snap["predicted_service_ms"] == 0.0


def test_the_longest_wait_while_requests_trickle_in():
    # budget 1 s, a batch costs 0.125 s per request, 1 waiting, 0.5 more arriving per second:
    # 0.125 (1 + 0.5 d) + d = 1  ->  d = 0.875 / 1.0625
    assert longest_wait(1.0, 0.0, 1.0, 0.5, 0.0, 0.125, 32.0) == 0.875 / 1.0625
    assert longest_wait(1.0, 0.0, 1.0, 0.0, 0.0, 0.125, 32.0) == 0.875  # nobody arriving: the slack


def test_the_feasible_again_message_gives_the_single_request_in_milliseconds(caplog):
    # a 10 s target, so that the single request's figure has enough digits to show its unit
    p = AdaptiveWindowPolicy(10.0, 0.0, 1.0)
    with caplog.at_level(logging.INFO, logger="batchsieve"):
        for _ in range(3):
            p.on_batch_done(record(1, handler_s=16.0))
        assert not p.feasible
        caplog.clear()
        while not p.feasible:
            p.on_batch_done(record(1, handler_s=0.5))
    single = p.snapshot()["predicted_single_ms"]
    assert 100.0 < single < 9000.0
    assert [r.getMessage() for r in caplog.records] == [
        f"adaptive window: target_latency_ms=10000.0 is feasible again (single request about {single:.1f} ms)"]
