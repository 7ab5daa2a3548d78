"""The virtual-time simulator: its dispatcher loop, its pending queue and its arrival streams.

Everything runs in virtual time; no test sleeps or reads the wall clock, every random stream is seeded.
"""

from __future__ import annotations

import math
import random

import pytest
from batchsieve.policies import Decision, FixedWindowPolicy, QueueState
from batchsieve.policies import simulator as sim
from batchsieve.policies.simulator import LinearHandler, bursty_arrivals, poisson_arrivals, simulate

MAX_SIZE = 32


class _Recording(FixedWindowPolicy):
    """Dispatches the moment it is asked, and remembers every state it was shown."""

    def __init__(self) -> None:
        super().__init__(0.0)
        self.states: list[QueueState] = []

    def decide(self, state: QueueState) -> Decision:
        self.states.append(state)
        return Decision(state.now, "window")


def test_fixed_window_behaviour_is_unchanged_in_the_simulator() -> None:
    """Sanity check of the simulator against the fixed policy: a lone request waits exactly the window."""
    res = simulate(FixedWindowPolicy(0.02), [0.0, 1.0, 1.005], LinearHandler(0.01, 0.0), max_size=MAX_SIZE)
    assert res.latencies.tolist() == pytest.approx([0.03, 0.03, 0.025])


def test_full_batch_goes_at_once_and_leftovers_wait_for_max_wait() -> None:
    res = simulate(FixedWindowPolicy(1.0), [0.0] * 40, LinearHandler(0.01, 0.0), max_size=MAX_SIZE,
                   max_wait_s=0.5)
    assert [(at, n, reason) for (at, n, reason, _) in res.batches] == [(0.0, 32, "full"), (0.5, 8, "max_wait")]
    assert res.reasons == {"full": 1, "max_wait": 1}
    assert res.latencies.tolist() == pytest.approx([0.01] * 32 + [0.51] * 8)


def test_every_decision_goes_through_dispatch_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[float] = []
    shared = sim.dispatch_time

    def counting(policy, pending, now, **kw):
        calls.append(now)
        return shared(policy, pending, now, **kw)

    monkeypatch.setattr(sim, "dispatch_time", counting)
    policy = FixedWindowPolicy(0.02)
    res = simulate(policy, [0.0, 1.0, 1.005], LinearHandler(0.01, 0.0), max_size=MAX_SIZE)
    assert calls == pytest.approx([0.0, 0.02, 1.0, 1.005, 1.02])
    assert len(res.batches) == 2


def test_queue_state_carries_deadlines_of_pending_requests_only() -> None:
    """The deadline of a request already dispatched is not reported again (lazy deletion)."""
    policy = _Recording()
    res = simulate(policy, [0.0, 0.1], LinearHandler(0.01, 0.0), deadlines=[0.05, 0.3], max_size=MAX_SIZE)
    assert [(s.now, s.pending, s.earliest_deadline) for s in policy.states] == [(0.0, 1, 0.05), (0.1, 1, 0.3)]
    assert all(s.window_start == s.oldest_arrival == s.now for s in policy.states)
    assert res.deadline_misses == 0
    res = simulate(_Recording(), [0.0, 0.1], LinearHandler(0.2, 0.0), deadlines=[0.05, math.inf],
                   max_size=MAX_SIZE)
    assert res.deadline_misses == 1  # 0.2 s of handler time against a 50 ms deadline


def test_in_flight_batches_and_the_concurrency_limit() -> None:
    policy = _Recording()
    res = simulate(policy, [0.0, 0.01, 0.02], LinearHandler(0.1, 0.0), max_size=MAX_SIZE, max_concurrent=2)
    # two batches run at once; the third request waits for the first to finish at 0.1
    assert [s.now for s in policy.states] == pytest.approx([0.0, 0.01, 0.1])
    assert [s.in_flight for s in policy.states] == [0, 1, 1]
    assert [b[0] for b in res.batches] == pytest.approx([0.0, 0.01, 0.1])
    assert res.busy_s == pytest.approx(0.3)


def test_on_dispatch_sees_each_batch_in_arrival_order() -> None:
    seen: list[tuple[float, list[int]]] = []
    simulate(FixedWindowPolicy(0.05), [0.0, 0.01, 0.02, 1.0], LinearHandler(0.01, 0.0), max_size=2,
             on_dispatch=lambda now, idx: seen.append((now, idx)))
    # the second arrival fills the batch; the third opens a window when it arrives
    assert [idx for (_, idx) in seen] == [[0, 1], [2], [3]]
    assert [now for (now, _) in seen] == pytest.approx([0.01, 0.07, 1.05])


def test_linear_handler_is_seeded_and_slows_down_on_schedule() -> None:
    h = LinearHandler(0.01, 0.001, per_char=1e-5, slow_at=5.0, slow_factor=3.0)
    assert h(4, 100, 0.0) == pytest.approx(0.015)
    assert h(4, 100, 5.0) == pytest.approx(0.045)
    noisy = [LinearHandler(0.01, 0.0, noise=0.1, outlier_p=0.1, seed=7)(1, 0, 0.0) for _ in range(2)]
    assert noisy[0] == noisy[1]


@pytest.mark.parametrize("make", [poisson_arrivals, bursty_arrivals])
def test_arrival_streams(make) -> None:
    times = make(200.0, 50.0, random.Random(8), start=10.0)
    assert times == sorted(times)
    assert times[0] >= 10.0 and times[-1] < 60.0
    assert len(times) / 50.0 == pytest.approx(200.0, rel=0.2)
    assert make(200.0, 50.0, random.Random(8), start=10.0) == times
