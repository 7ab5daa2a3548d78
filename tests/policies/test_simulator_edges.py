"""The simulator at its edges: its defaults, the order of simultaneous events (a finishing batch, an arrival,
the dispatcher's timer), what the policy is told, deadline misses at the deadline itself, the summary of a
short run, the handler's defaults and the shape of the bursty stream.

Times are binary fractions (0.125, 0.25, ...) so that ties are exact."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from batchsieve.policies import Decision, FixedWindowPolicy, QueueState
from batchsieve.policies.simulator import LinearHandler, bursty_arrivals, simulate


class Log(FixedWindowPolicy):
    """A fixed window that logs every call the simulator makes, in order."""

    def __init__(self, window_s: float = 0.0) -> None:
        super().__init__(window_s)
        self.events: list[tuple] = []

    def on_arrival(self, now: float) -> None:
        self.events.append(("arrival", now))

    def decide(self, state: QueueState) -> Decision:
        self.events.append(("decide", state.now, state.pending, state.window_start, state.in_flight))
        return super().decide(state)

    def on_batch_done(self, record) -> None:
        self.events.append(("done", record.dispatched_at, record.size))


def recording_handler(cost: float = 0.125):
    calls: list[tuple[int, int, float]] = []

    def handler(n: int, chars: int, now: float) -> float:
        calls.append((n, chars, now))
        return cost
    return handler, calls


def test_the_default_batch_is_32_and_each_request_counts_60_characters():
    handler, calls = recording_handler()
    res = simulate(FixedWindowPolicy(0.125), [0.0] * 40, handler)
    assert [(n, chars) for n, chars, _ in calls] == [(32, 32 * 60), (8, 8 * 60)]
    assert res.deadline_misses == 0  # no deadlines given: none missed


def test_given_characters_are_summed_per_batch():
    handler, calls = recording_handler()
    simulate(FixedWindowPolicy(0.125), [0.0, 0.0, 0.0], handler, chars=[5, 7, 11], max_size=2)
    assert [(n, chars) for n, chars, _ in calls] == [(2, 12), (1, 11)]


def test_a_batch_finishing_as_a_request_arrives_is_reported_first():
    policy = Log()
    simulate(policy, [0.0, 0.125], LinearHandler(0.125, 0.0))
    assert [e[0] for e in policy.events] == ["arrival", "decide", "done", "arrival", "decide", "done"]


def test_an_arrival_at_the_window_end_joins_the_batch():
    handler, calls = recording_handler()
    res = simulate(FixedWindowPolicy(0.125), [0.0, 0.125], handler)
    assert [(b[0], b[1]) for b in res.batches] == [(0.125, 2)]
    assert [n for n, _, _ in calls] == [2]


def test_a_batch_finishing_at_the_timer_is_reported_before_the_next_decision():
    policy = Log(0.125)
    # request 0 goes at 0.125 and runs until 0.375; request 1 (0.25) has its window end at 0.375 too
    simulate(policy, [0.0, 0.25], LinearHandler(0.25, 0.0), max_concurrent=2)
    done, decide = policy.events.index(("done", 0.125, 1)), policy.events.index(("decide", 0.375, 1, 0.25, 0))
    assert done < decide


def test_batches_finishing_together_are_reported_in_dispatch_order():
    policy = Log()
    costs = iter([0.25, 0.125])  # dispatched at 0 and 0.125, both finish at 0.25
    simulate(policy, [0.0, 0.125], lambda n, c, now: next(costs), max_concurrent=2)
    assert [e for e in policy.events if e[0] == "done"] == [("done", 0.0, 1), ("done", 0.125, 1)]


def test_leftovers_open_a_window_at_the_dispatch():
    policy = Log()
    # request 0 runs until 0.5; the three queued behind it go as a full batch of 2 at 0.5 and one leftover
    simulate(policy, [0.0, 0.0625, 0.125, 0.1875], LinearHandler(0.5, 0.0), max_size=2)
    decides = [e for e in policy.events if e[0] == "decide"]
    assert decides[-1] == ("decide", 1.0, 1, 0.5, 0)  # the leftover's window opened at the dispatch, 0.5


def test_completing_exactly_at_the_deadline_is_not_a_miss():
    res = simulate(FixedWindowPolicy(0.0625), [0.0, 0.0], LinearHandler(0.125, 0.0), deadlines=[0.1875, 0.125])
    assert res.completions.tolist() == [0.1875, 0.1875]
    assert res.deadline_misses == 1


def test_the_summary_of_a_run_shorter_than_a_second():
    # two requests go at 0.125 and finish at 0.375; the third waits for them and finishes at 0.625
    res = simulate(FixedWindowPolicy(0.125), [0.0, 0.0, 0.25], LinearHandler(0.25, 0.0))
    summary = res.summary()
    assert summary["throughput"] == 3 / 0.625
    assert (summary["batches"], summary["mean_batch"], summary["busy_s"]) == (2, 1.5, 0.5)
    assert summary["p50"] == summary["p99"] == 375.0


def test_the_handler_s_defaults_are_no_characters_at_time_zero():
    h = LinearHandler(0.5, 0.125, per_char=1.0, slow_at=0.5, slow_factor=4.0)
    assert h.mean(4) == 1.0
    assert h.mean(4, 2.0, 0.5) == 12.0
    assert h(4, 0, 0.0) == 1.0  # no noise, no outliers: the mean


def test_bursty_periods_have_the_documented_mean_lengths():
    # ON 0.25 s / OFF 0.75 s: about one OFF period per second; nearly all of them leave a gap over 0.2 s
    # (with halved means, there would be about two, 1.2 gaps per second)
    times = bursty_arrivals(400.0, 200.0, random.Random(3))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    long_gaps = sum(g > 0.2 for g in gaps) / 200.0
    assert 0.6 <= long_gaps <= 0.95
    assert math.isclose(len(times) / 200.0, 400.0, rel_tol=0.15)


@pytest.mark.parametrize("window", [0.0, 0.125])
def test_every_request_completes_once(window):
    res = simulate(FixedWindowPolicy(window), [0.0, 0.0625, 0.25, 0.25], LinearHandler(0.125, 0.0), max_size=3)
    assert sum(b[1] for b in res.batches) == 4
    assert not any(math.isnan(c) for c in res.completions)
