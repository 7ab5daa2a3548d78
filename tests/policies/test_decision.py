"""The dispatch decision shared by the engine's dispatcher and the simulator: ``dispatch_time``."""

from __future__ import annotations

import math

import pytest
from batchsieve.policies import Decision, DispatchReason, QueueState
from batchsieve.policies.decision import EPS, dispatch_time


class _Pending:
    """A pending queue that counts how often its lazily computed parts are read."""

    def __init__(self, n: int, *, window_start: float = 1.0, oldest: float = 1.0,
                 deadline: float = math.inf) -> None:
        self.n = n
        self.window_start = window_start
        self._oldest = oldest
        self._deadline = deadline
        self.reads = {"oldest_arrival": 0, "earliest_deadline": 0}

    def __len__(self) -> int:
        return self.n

    def oldest_arrival(self) -> float:
        self.reads["oldest_arrival"] += 1
        return self._oldest

    def earliest_deadline(self) -> float:
        self.reads["earliest_deadline"] += 1
        return self._deadline


class _Policy:
    """Answers ``Decision(at, reason)`` and remembers the states it was asked about."""

    def __init__(self, at: float, reason: DispatchReason = "window") -> None:
        self.decision = Decision(at, reason)
        self.states: list[QueueState] = []

    @property
    def window_s(self) -> float:
        return 0.0

    def decide(self, state: QueueState) -> Decision:
        self.states.append(state)
        return self.decision

    def on_arrival(self, now: float) -> None:
        pass

    def on_batch_done(self, record) -> None:
        pass

    def snapshot(self) -> dict[str, object]:
        return {}


def _decide(policy: _Policy, pending: _Pending, now: float = 2.0, **kw) -> tuple[float, str]:
    args = {"in_flight": 0, "max_size": 8, "max_wait_s": 0.5, **kw}
    return dispatch_time(policy, pending, now, **args)


def test_closing_dispatches_now_without_asking() -> None:
    policy, pending = _Policy(10.0), _Pending(3)
    assert _decide(policy, pending, closing=True) == (2.0, "close")
    assert policy.states == []
    assert pending.reads == {"oldest_arrival": 0, "earliest_deadline": 0}


@pytest.mark.parametrize("n", [8, 9])
def test_a_full_batch_goes_now_without_asking(n: int) -> None:
    policy, pending = _Policy(10.0), _Pending(n)
    assert _decide(policy, pending) == (2.0, "full")
    assert policy.states == []
    assert pending.reads == {"oldest_arrival": 0, "earliest_deadline": 0}


def test_closing_wins_over_a_full_batch() -> None:
    assert _decide(_Policy(10.0), _Pending(8), closing=True) == (2.0, "close")


def test_max_wait_bound_overrides_a_later_decision() -> None:
    policy = _Policy(5.0, "window")
    assert _decide(policy, _Pending(3, oldest=1.8), max_wait_s=0.5) == (pytest.approx(2.3), "max_wait")
    # an infinite wait (e.g. min_size not reached) is bounded as well
    assert _decide(_Policy(math.inf), _Pending(1, oldest=1.9), max_wait_s=0.5) == (pytest.approx(2.4),
                                                                                  "max_wait")


def test_a_bound_already_passed_means_now() -> None:
    at, reason = _decide(_Policy(5.0), _Pending(3, oldest=1.0), max_wait_s=0.5)
    assert (at, reason) == (1.5, "max_wait")
    assert at <= 2.0 + EPS  # the dispatcher goes at once


@pytest.mark.parametrize("reason", ["window", "deadline", "idle"])
def test_a_decision_earlier_than_the_bound_is_kept_with_its_reason(reason: DispatchReason) -> None:
    assert _decide(_Policy(2.1, reason), _Pending(3, oldest=1.8), max_wait_s=0.5) == (2.1, reason)


def test_a_decision_at_the_bound_keeps_the_policy_reason() -> None:
    assert _decide(_Policy(2.0, "window"), _Pending(3, oldest=1.5), max_wait_s=0.5) == (2.0, "window")


def test_the_queue_state_the_policy_sees() -> None:
    policy = _Policy(2.1)
    pending = _Pending(5, window_start=1.7, oldest=1.6, deadline=2.25)
    _decide(policy, pending, in_flight=2, max_size=8)
    assert policy.states == [QueueState(now=2.0, pending=5, window_start=1.7, oldest_arrival=1.6,
                                        earliest_deadline=2.25, in_flight=2)]
    assert pending.reads == {"oldest_arrival": 1, "earliest_deadline": 1}


def test_no_deadline_is_passed_as_infinity() -> None:
    policy = _Policy(2.1)
    _decide(policy, _Pending(1))
    assert policy.states[0].earliest_deadline == math.inf


# ---------------------------------------------------------------- cost budgets


@pytest.mark.parametrize("cost", [10.0, 12.5])
def test_pending_requests_costing_the_budget_go_now_without_asking(cost: float) -> None:
    policy, pending = _Policy(10.0), _Pending(3)
    pending.cost = cost
    assert _decide(policy, pending, max_cost=10.0) == (2.0, "budget")
    assert policy.states == []
    assert pending.reads == {"oldest_arrival": 0, "earliest_deadline": 0}


def test_under_the_budget_the_policy_decides_and_sees_the_pending_cost() -> None:
    policy, pending = _Policy(2.2), _Pending(3, oldest=1.9)
    pending.cost = 9.5
    assert _decide(policy, pending, max_cost=10.0) == (2.2, "window")
    assert policy.states[0].pending_cost == 9.5


def test_without_a_budget_the_cost_is_never_read() -> None:
    policy, pending = _Policy(2.2), _Pending(3, oldest=1.9)  # no cost attribute at all
    assert _decide(policy, pending) == (2.2, "window")
    assert policy.states[0].pending_cost == 0.0


def test_a_full_count_wins_over_the_budget_and_closing_over_both() -> None:
    pending = _Pending(8)
    pending.cost = 100.0
    assert _decide(_Policy(10.0), pending, max_cost=10.0) == (2.0, "full")
    assert _decide(_Policy(10.0), pending, max_cost=10.0, closing=True) == (2.0, "close")
