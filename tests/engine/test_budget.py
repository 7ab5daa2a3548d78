"""Cost budgets below the engine: the settings' checks, a request's cost, and which entries the queue takes
within the budget (FIFO, priorities, overdue entries, bucketing), with the exact batch compositions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from batchsieve import BatchConfig
from batchsieve._budget import cost_of
from batchsieve.queue import RequestQueue
from batchsieve.request import IN_FLIGHT, QUEUED, Entry


class _Fut:  # the queue never touches a caller's future
    pass


def _entry(seq: int, cost: float, *, arrival: float = 0.0, priority: int = 0) -> Entry:
    text = f"q{seq}"
    return Entry(text, text, text, (), None, text, priority, seq, arrival, _Fut(), float(cost))


def _queue(costs: list[float], *, priorities: bool = False, arrivals: list[float] | None = None,
           prios: list[int] | None = None) -> RequestQueue:
    q = RequestQueue(priorities=priorities)
    for i, c in enumerate(costs):
        q.push(_entry(i, c, arrival=0.0 if arrivals is None else arrivals[i],
                      priority=0 if prios is None else prios[i]))
    return q


def _seqs(entries: list[Entry]) -> list[int]:
    return [e.seq for e in entries]


# ---------------------------------------------------------------- settings


def test_the_cost_settings_default_to_count_only_batches():
    config = BatchConfig()
    assert (config.max_batch_cost, config.cost_fn, config.bucket_by_cost, config.costed) == (None, None, False, False)
    assert BatchConfig(max_batch_cost=512).costed is True
    assert BatchConfig(bucket_by_cost=True).costed is True
    assert BatchConfig(max_batch_cost=0.5).max_batch_cost == 0.5


@pytest.mark.parametrize(("options", "error", "message"), [
    ({"max_batch_cost": "512"}, TypeError, "max_batch_cost must be a number, got str '512'"),
    ({"max_batch_cost": True}, TypeError, "max_batch_cost must be a number, got bool True"),
    ({"max_batch_cost": 0}, ValueError, "max_batch_cost must be > 0, got 0"),
    ({"max_batch_cost": -3.0}, ValueError, "max_batch_cost must be > 0, got -3.0"),
    ({"max_batch_cost": math.inf}, ValueError, "max_batch_cost must be finite, got inf"),
    ({"max_batch_cost": math.nan}, ValueError, "max_batch_cost must be finite, got nan"),
    ({"bucket_by_cost": 1}, TypeError, "bucket_by_cost must be a bool, got int 1"),
    ({"cost_fn": "len", "max_batch_cost": 10}, TypeError, "cost_fn must be callable or None, got str 'len'"),
    ({"cost_fn": len}, ValueError, "cost_fn is only used with max_batch_cost= or bucket_by_cost=True"),
])
def test_each_cost_setting_is_checked_by_name(options, error, message):
    with pytest.raises(error) as info:
        BatchConfig(**options)
    assert str(info.value) == message


def test_a_cost_fn_is_accepted_with_a_budget_or_with_bucketing():
    assert BatchConfig(cost_fn=len, max_batch_cost=10).cost_fn is len
    assert BatchConfig(cost_fn=len, bucket_by_cost=True).cost_fn is len


# ---------------------------------------------------------------- a request's cost


def test_the_default_cost_is_the_texts_length_in_characters():
    assert cost_of({"query": "ignored"}, "héllo", None) == 5.0
    assert cost_of("", "", None) == 0.0


@pytest.mark.parametrize("value", [7, 7.0, np.int64(7), np.float32(7.0), 0])
def test_a_cost_fn_returns_any_real_number_at_or_above_zero(value):
    assert cost_of("x", "x", lambda r: value) == float(value)


@pytest.mark.parametrize(("value", "error", "message"), [
    ("7", TypeError, "cost_fn must return a number, returned str '7'"),
    (None, TypeError, "cost_fn must return a number, returned NoneType None"),
    (True, TypeError, "cost_fn must return a number, returned bool True"),
    (-1, ValueError, "cost_fn must return a finite number >= 0, returned -1"),
    (math.nan, ValueError, "cost_fn must return a finite number >= 0, returned nan"),
    (math.inf, ValueError, "cost_fn must return a finite number >= 0, returned inf"),
    (10 ** 400, ValueError, "cost_fn must return a finite number >= 0, returned " + str(10 ** 400)),
])
def test_a_cost_fn_returning_a_bad_cost_raises_a_clear_error(value, error, message):
    with pytest.raises(error) as info:
        cost_of("x", "x", lambda r: value)
    assert str(info.value) == message


# ---------------------------------------------------------------- FIFO takes within the budget


def test_the_queue_keeps_the_total_cost_of_what_is_queued():
    q = _queue([3, 4, 5])
    assert q.cost == 12.0
    q.discard(q.by_key["q1"])
    assert q.cost == 8.0
    assert _seqs(q.take(1, now=0.0, max_wait=1.0, max_cost=100)) == [0]
    assert q.cost == 5.0
    q.take(5, now=0.0, max_wait=1.0, max_cost=100)
    assert (q.cost, len(q)) == (0.0, 0)


def test_a_fifo_take_stops_before_the_request_that_would_pass_the_budget():
    q = _queue([4, 4, 3, 1, 1])
    first = q.take(10, now=0.0, max_wait=1.0, max_cost=10)
    assert _seqs(first) == [0, 1]  # 4 + 4 = 8; with the 3 it would be 11 > 10: the 1s behind do not jump it
    assert all(e.state == IN_FLIGHT for e in first)
    assert (len(q), q.waiting, q.cost) == (3, 3, 5.0)
    assert _seqs(q.take(10, now=0.0, max_wait=1.0, max_cost=10)) == [2, 3, 4]


def test_a_batch_may_cost_exactly_the_budget():
    q = _queue([5, 5, 1])
    assert _seqs(q.take(10, now=0.0, max_wait=1.0, max_cost=10)) == [0, 1]


def test_a_request_costing_more_than_the_budget_goes_alone():
    q = _queue([2, 50, 2, 2])
    assert _seqs(q.take(10, now=0.0, max_wait=1.0, max_cost=10)) == [0]  # the 50 would pass the budget
    assert _seqs(q.take(10, now=0.0, max_wait=1.0, max_cost=10)) == [1]  # alone, never refused
    assert _seqs(q.take(10, now=0.0, max_wait=1.0, max_cost=10)) == [2, 3]


def test_the_count_still_caps_a_cheap_batch():
    q = _queue([1] * 6)
    assert _seqs(q.take(4, now=0.0, max_wait=1.0, max_cost=100)) == [0, 1, 2, 3]


def test_zero_cost_requests_always_fit():
    q = _queue([10, 0, 0, 1])
    assert _seqs(q.take(10, now=0.0, max_wait=1.0, max_cost=10)) == [0, 1, 2]


def test_with_priorities_the_budget_walks_overdue_first_then_priority_order():
    # entry 0 is overdue (arrived at 0, max_wait 1 s, now 1 s); then priorities 9, 5, 5, 0
    q = _queue([3, 3, 3, 6, 1], priorities=True, arrivals=[0.0, 0.5, 0.6, 0.7, 0.8], prios=[0, 5, 9, 5, 0])
    assert _seqs(q.take(10, now=1.0, max_wait=1.0, max_cost=10)) == [0, 2, 1]  # 3 + 3 + 3; the 6 does not fit
    assert _seqs(q.take(10, now=1.0, max_wait=1.0, max_cost=10)) == [3, 4]
    assert (len(q), q.cost) == (0, 0.0)


def test_a_raised_priority_is_walked_once_in_its_new_place():
    q = _queue([1, 1, 1], priorities=True, prios=[0, 0, 0])
    q.raise_priority(q.by_key["q2"], 4)
    assert _seqs(q.take(10, now=0.0, max_wait=1.0, max_cost=100)) == [2, 0, 1]


def test_entries_taken_from_the_middle_are_skipped_later():
    q = _queue([1, 8, 1, 1], priorities=True, prios=[0, 9, 0, 0])
    assert _seqs(q.take(10, now=0.0, max_wait=1.0, max_cost=9)) == [1, 0]  # the priority 9 first, then FIFO
    assert q.oldest_arrival() == 0.0
    assert _seqs(q.take(10, now=0.0, max_wait=1.0, max_cost=9)) == [2, 3]
    assert q.oldest_arrival() == math.inf


# ---------------------------------------------------------------- bucketing


def test_bucketing_takes_the_oldest_and_the_requests_closest_to_its_cost():
    q = _queue([10, 500, 12, 480, 9, 30, 520])
    assert _seqs(q.take(3, now=0.0, max_wait=1.0, bucket=True)) == [0, 4, 2]  # 10 with 9 and 12, closest first
    assert _seqs(q.take(3, now=0.0, max_wait=1.0, bucket=True)) == [1, 6, 3]  # 500 with 520 (4 % off), 480 (4.2 %)
    assert _seqs(q.take(3, now=0.0, max_wait=1.0, bucket=True)) == [5]


def test_bucketing_compares_costs_by_ratio_and_breaks_ties_by_arrival():
    # costs are compared as cost + 1: anchor 99 (100), 199 (twice) and 49 (half) are equally far from it,
    # so the earlier of them comes first; 140 is nearer than both
    q = _queue([99, 199, 49, 300])
    assert _seqs(q.take(2, now=0.0, max_wait=1.0, bucket=True)) == [0, 1]
    q = _queue([99, 49, 199, 300])
    assert _seqs(q.take(2, now=0.0, max_wait=1.0, bucket=True)) == [0, 1]
    q = _queue([99, 49, 199, 140])
    assert _seqs(q.take(2, now=0.0, max_wait=1.0, bucket=True)) == [0, 3]


def test_bucketing_takes_everything_when_everything_fits():
    q = _queue([10, 500, 12])
    assert _seqs(q.take(3, now=0.0, max_wait=1.0, max_cost=1000, bucket=True)) == [0, 1, 2]  # in take order


def test_bucketing_stops_at_the_budget():
    q = _queue([100, 10, 110, 90, 95])
    # anchor 100, then by closeness: 95, 110, 90, 10; 100 + 95 = 195, + 110 would be 305 > 300
    assert _seqs(q.take(10, now=0.0, max_wait=1.0, max_cost=300, bucket=True)) == [0, 4]
    # anchor 10 alone is the oldest now; 10 + 110 + 90 = 210 fits; every remaining entry fits: take order
    assert _seqs(q.take(10, now=0.0, max_wait=1.0, max_cost=300, bucket=True)) == [1, 2, 3]


def test_bucketing_sends_an_oversize_oldest_request_alone():
    q = _queue([900, 10, 11])
    assert _seqs(q.take(10, now=0.0, max_wait=1.0, max_cost=100, bucket=True)) == [0]
    assert _seqs(q.take(10, now=0.0, max_wait=1.0, max_cost=100, bucket=True)) == [1, 2]


def test_bucketing_puts_every_overdue_request_first_whatever_its_cost():
    # 0 and 1 are overdue at now = 1 (max_wait 1 s): both go, then the closest to the first one's cost
    q = _queue([500, 5, 480, 6, 7], arrivals=[0.0, 0.0, 0.5, 0.6, 0.7])
    assert _seqs(q.take(3, now=1.0, max_wait=1.0, bucket=True)) == [0, 1, 2]
    q = _queue([500, 5, 480, 6, 7], arrivals=[0.0, 0.0, 0.5, 0.6, 0.7])
    assert _seqs(q.take(1, now=1.0, max_wait=1.0, bucket=True)) == [0]


def test_bucketing_keeps_priorities_before_cost():
    # anchor: the priority-9 request (cost 500); the priority-5 ones come before any priority-0 one,
    # the closest to 500 first within each priority
    q = _queue([5, 500, 6, 20, 490, 7], priorities=True, prios=[0, 9, 5, 5, 0, 5])
    assert _seqs(q.take(4, now=0.0, max_wait=1.0, bucket=True)) == [1, 3, 5, 2]
    assert _seqs(q.take(4, now=0.0, max_wait=1.0, bucket=True)) == [0, 4]


def test_bucketing_with_priorities_still_sends_overdue_requests_first():
    q = _queue([50, 1, 1, 1], priorities=True, arrivals=[0.0, 0.9, 0.9, 0.9], prios=[0, 9, 9, 9])
    assert _seqs(q.take(2, now=1.0, max_wait=1.0, bucket=True)) == [0, 1]


def test_bucketing_chooses_among_a_bounded_view_of_a_long_queue():
    # 64 cheap requests then an exact match of the anchor's cost: the view (max(4 * n, 64) = 64 entries
    # for n = 2) does not reach it, so the closest in view goes
    q = _queue([100] + [1] * 63 + [100])
    batch = q.take(2, now=0.0, max_wait=1.0, bucket=True)
    assert _seqs(batch) == [0, 1]
    q = _queue([100] + [1] * 62 + [100])  # now it is in view
    assert _seqs(q.take(2, now=0.0, max_wait=1.0, bucket=True)) == [0, 63]


def test_the_view_of_a_bucketed_take_is_four_batches_for_larger_batches():
    # n = 20: the view is 80 entries (4 * n, more than 64): the anchor's equals (cost 100) behind 79 cheap
    # entries are out of view, behind 60 they are in (a view of 64 would hold only 3 of them)
    far_out = _queue([100] + [1] * 79 + [100] * 19)
    assert _seqs(far_out.take(20, now=0.0, max_wait=1.0, bucket=True)) == [0, *range(1, 20)]
    far_in = _queue([100] + [1] * 60 + [100] * 19)
    assert _seqs(far_in.take(20, now=0.0, max_wait=1.0, bucket=True)) == [0, *range(61, 80)]


def test_bucketed_takes_leave_the_rest_queued_in_order():
    q = _queue([10, 500, 12, 480])
    q.take(2, now=0.5, max_wait=1.0, bucket=True)
    assert [e.state for e in (q.by_key[f"q{i}"] for i in range(4))] == [IN_FLIGHT, QUEUED, IN_FLIGHT, QUEUED]
    assert (len(q), q.waiting, q.cost, q.window_start) == (2, 2, 980.0, 0.5)
    assert _seqs(q.take(5, now=0.5, max_wait=1.0)) == [1, 3]  # the plain take skips the taken ones too


# ---------------------------------------------------------------- edges of a bucketed take


def test_bucketing_takes_overdue_requests_only_while_they_fit():
    q = _queue([4, 4, 3, 1], arrivals=[0.0, 0.0, 0.0, 0.9])  # the first three are overdue at now = 1
    assert _seqs(q.take(10, now=1.0, max_wait=1.0, max_cost=10, bucket=True)) == [0, 1]  # 4 + 4; 3 more is 11
    q = _queue([5, 5, 1], arrivals=[0.0, 0.0, 0.0])
    assert _seqs(q.take(10, now=1.0, max_wait=1.0, max_cost=10, bucket=True)) == [0, 1]  # exactly the budget


def test_bucketing_keeps_take_order_when_everything_fits_exactly():
    q = _queue([10, 50, 12, 28])  # 100 in all: everything goes, in take order, not in order of closeness
    assert _seqs(q.take(10, now=0.0, max_wait=1.0, max_cost=100, bucket=True)) == [0, 1, 2, 3]


def test_bucketing_takes_a_close_request_that_fills_the_budget_exactly():
    q = _queue([10, 50, 12, 30])  # anchor 10; 12 is the closest and makes exactly 22
    assert _seqs(q.take(10, now=0.0, max_wait=1.0, max_cost=22, bucket=True)) == [0, 2]


def test_without_priorities_bucketing_ignores_the_priority_callers_passed():
    q = _queue([10, 500, 11], prios=[0, 9, 0])  # a queue without priorities: the 9 means nothing
    assert _seqs(q.take(2, now=0.0, max_wait=1.0, max_cost=30, bucket=True)) == [0, 2]


def _after_a_priority_take() -> RequestQueue:
    """A priority queue whose arrival order holds a taken entry ahead of two overdue ones."""
    q = _queue([1, 1, 1], priorities=True, arrivals=[0.0, 0.0, 0.1], prios=[0, 9, 0])
    assert _seqs(q.take(1, now=0.5, max_wait=1.0, bucket=True)) == [1]  # the priority 9 goes first
    q.push(_entry(3, 1, arrival=0.9, priority=9))
    return q


def test_with_priorities_overdue_requests_behind_a_taken_one_still_go_first():
    q = _after_a_priority_take()
    # at now = 1.2 (max_wait 1 s) a and c are overdue; d has priority 9 but is not overdue
    assert _seqs(q.take(2, now=1.2, max_wait=1.0, bucket=True)) == [0, 2]


def test_with_priorities_an_overdue_request_is_taken_once():
    q = _after_a_priority_take()
    assert _seqs(q.take(4, now=1.2, max_wait=1.0, bucket=True)) == [0, 2, 3]
