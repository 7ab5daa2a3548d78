"""Direct tests of the pending-request queue: order, the ``max_wait`` rule, the exact-key map it owns,
lazy deletion, and the counts the dispatcher reads."""

from __future__ import annotations

import math

import pytest
from batchsieve.queue import RequestQueue
from batchsieve.request import DONE, DROPPED, IN_FLIGHT, Entry


class _Fut:  # the queue never touches a caller's future
    pass


def _entry(seq: int, *, arrival: float = 0.0, priority: int = 0, key: object = None) -> Entry:
    text = f"q{seq}"
    return Entry(text, text, text, (), None, key if key is not None else text, priority, seq, arrival, _Fut())


def _seqs(entries: list[Entry]) -> list[int]:
    return [e.seq for e in entries]


def test_fifo_take_in_arrival_order_and_counts():
    q = RequestQueue(priorities=False)
    entries = [_entry(i, arrival=i * 0.01) for i in range(5)]
    for e in entries:
        q.push(e)
    assert (len(q), q.waiting, q.window_start, q.oldest_arrival()) == (5, 5, 0.0, 0.0)
    batch = q.take(3, now=0.1, max_wait=1.0)
    assert _seqs(batch) == [0, 1, 2]
    assert all(e.state == IN_FLIGHT for e in batch)
    assert (len(q), q.waiting) == (2, 2)
    assert q.window_start == 0.1  # leftovers open a new window at the take
    assert q.oldest_arrival() == pytest.approx(0.03)  # their max_wait still counts from arrival
    assert _seqs(q.take(10, now=0.2, max_wait=1.0)) == [3, 4]
    assert (len(q), q.waiting, q.window_start, q.oldest_arrival()) == (0, 0, math.inf, math.inf)


def test_priority_order_then_fifo_within_a_priority():
    q = RequestQueue(priorities=True)
    for seq, prio in [(1, 0), (2, 5), (3, 0), (4, 5), (5, 9)]:
        q.push(_entry(seq, arrival=0.0, priority=prio))
    assert _seqs(q.take(5, now=0.0, max_wait=1.0)) == [5, 2, 4, 1, 3]


def test_overdue_entries_go_first_whatever_their_priority():
    q = RequestQueue(priorities=True)
    q.push(_entry(1, arrival=0.0, priority=0))  # will be overdue
    q.push(_entry(2, arrival=0.5, priority=0))
    q.push(_entry(3, arrival=0.9, priority=9))
    q.push(_entry(4, arrival=0.9, priority=8))
    # at now = 1.0 with max_wait = 1.0 only entry 1 has waited max_wait: it goes before both high priorities
    assert _seqs(q.take(2, now=1.0, max_wait=1.0)) == [1, 3]
    assert _seqs(q.take(2, now=1.0, max_wait=1.0)) == [4, 2]


def test_raise_priority_moves_an_entry_up_and_leaves_no_duplicate():
    q = RequestQueue(priorities=True)
    a, b = _entry(1, priority=1), _entry(2, priority=2)
    q.push(a)
    q.push(b)
    q.raise_priority(a, 0)  # lower: ignored
    assert a.priority == 1
    q.raise_priority(a, 7)
    assert _seqs(q.take(5, now=0.0, max_wait=10.0)) == [1, 2]  # a once, first; its stale tuple skipped


def test_the_queue_owns_the_exact_key_map():
    q = RequestQueue(priorities=False)
    a = _entry(1, key="k")
    q.push(a)
    assert q.by_key == {"k": a}
    (taken,) = q.take(1, now=0.0, max_wait=1.0)
    assert q.by_key == {"k": a}  # still findable while its batch runs (in-flight coalescing)
    taken.state = DONE
    q.finish(taken)
    assert q.by_key == {}
    # finish only removes the entry the key maps to
    b, c = _entry(2, key="k2"), _entry(3, key="k2")
    q.push(b)
    q.by_key["k2"] = c
    q.finish(b)
    assert q.by_key == {"k2": c}


def test_discard_drops_a_queued_entry_once():
    q = RequestQueue(priorities=True)
    a, b = _entry(1), _entry(2)
    q.push(a)
    q.push(b)
    q.waiting -= 1  # the processor counts the leaving caller
    q.discard(a)
    assert a.state == DROPPED and "q1" not in q.by_key and len(q) == 1
    q.discard(a)  # twice: no effect
    assert len(q) == 1
    assert _seqs(q.take(5, now=0.0, max_wait=1.0)) == [2]
    assert a.state == DROPPED


def test_discarding_the_last_entry_resets_the_window_and_the_lazy_heaps():
    q = RequestQueue(priorities=True)
    a = _entry(1, arrival=2.0)
    q.push(a)
    q.add_deadline(a, 5.0)
    q.waiting -= 1
    q.discard(a)
    assert (len(q), q.window_start, q.oldest_arrival(), q.earliest_deadline()) == (0, math.inf, math.inf, math.inf)
    assert not q._arrivals and not q._heap and not q._deadlines


def test_earliest_deadline_skips_stale_and_superseded_deadlines():
    q = RequestQueue(priorities=False)
    a, b = _entry(1), _entry(2)
    q.push(a)
    q.push(b)
    q.add_deadline(a, 3.0)
    q.add_deadline(b, 4.0)
    q.add_deadline(a, 2.0)  # an earlier caller deadline on the same entry
    q.add_deadline(a, 9.0)  # a later one changes nothing
    assert a.deadline == 2.0
    assert q.earliest_deadline() == 2.0
    q.take(1, now=0.0, max_wait=1.0)  # a leaves the queue
    assert q.earliest_deadline() == 4.0


def test_take_skips_entries_that_left_and_returns_empty_when_none_queued():
    q = RequestQueue(priorities=False)
    a = _entry(1)
    q.push(a)
    a.state = DROPPED
    q.size -= 1
    assert q.take(4, now=0.0, max_wait=1.0) == []
    assert a.state == DROPPED and not q._arrivals


def test_an_empty_queue_has_no_window_nor_arrival_nor_deadline():
    q = RequestQueue(priorities=True)
    assert (len(q), q.waiting, q.window_start, q.oldest_arrival(), q.earliest_deadline()) == (
        0, 0, math.inf, math.inf, math.inf)
    assert q.take(5, now=0.0, max_wait=1.0) == []


def test_priority_take_marks_taken_entries_in_flight():
    q = RequestQueue(priorities=True)
    overdue, fresh = _entry(1, arrival=0.0), _entry(2, arrival=1.9, priority=3)
    q.push(overdue)
    q.push(fresh)
    assert _seqs(q.take(5, now=2.0, max_wait=1.0)) == [1, 2]  # one overdue, one by priority
    assert (overdue.state, fresh.state) == (IN_FLIGHT, IN_FLIGHT)


def test_overdue_entries_fill_the_batch_up_to_n_and_no_more():
    q = RequestQueue(priorities=True)
    for seq in range(1, 4):
        q.push(_entry(seq, arrival=0.0))
    q.push(_entry(9, arrival=4.5, priority=9))
    assert _seqs(q.take(2, now=5.0, max_wait=1.0)) == [1, 2]  # all three are overdue: the two oldest
    assert _seqs(q.take(10, now=5.0, max_wait=1.0)) == [3, 9]  # more room than overdue entries: no error


def test_a_stale_head_does_not_hide_the_overdue_entries_behind_it():
    q = RequestQueue(priorities=True)
    gone, late, urgent = _entry(1, arrival=0.0), _entry(2, arrival=0.1), _entry(3, arrival=1.0, priority=9)
    for e in (gone, late, urgent):
        q.push(e)
    q.waiting -= 1
    q.discard(gone)  # its record stays at the head of the arrival order (lazy deletion)
    assert _seqs(q.take(1, now=1.5, max_wait=1.0)) == [2]  # overdue, before the higher priority


def test_raising_to_the_same_priority_or_deadline_adds_no_record():
    q = RequestQueue(priorities=True)
    a = _entry(1, priority=4)
    q.push(a)
    q.add_deadline(a, 2.0)
    q.raise_priority(a, 4)
    q.add_deadline(a, 2.0)
    assert (len(q._heap), len(q._deadlines)) == (1, 1)


def test_discard_leaves_the_key_map_to_the_entry_that_owns_the_key():
    q = RequestQueue(priorities=False)
    a, b, c = _entry(1, key="k"), _entry(2, key="k"), _entry(3)
    q.push(a)
    q.push(c)
    q.push(b)  # a later entry with the same key now owns it
    q.waiting -= 1
    q.discard(a)
    assert q.by_key == {"k": b, "q3": c}


def _drop(q: RequestQueue, entries: list[Entry]) -> None:
    for e in entries:
        q.waiting -= 1
        q.discard(e)


@pytest.mark.parametrize("priorities", [False, True])
def test_stale_records_are_compacted_exactly_past_twice_the_live_entries_plus_the_slack(priorities):
    """200 entries, then drops: the lazy-deletion records are rebuilt from the live entries only once they
    hold more than 2 * live + 64 records (after 133 drops: 200 > 2 * 67 + 64), never before."""
    q = RequestQueue(priorities=priorities)
    entries = [_entry(i, arrival=i * 1e-3, priority=5) for i in range(200)]
    for e in entries:
        q.push(e)
        q.add_deadline(e, 10.0 + e.seq)
    _drop(q, entries[:132])
    assert (len(q), len(q._arrivals), len(q._deadlines)) == (68, 200, 200)  # 200 <= 2 * 68 + 64: kept
    assert len(q._heap) == (200 if priorities else 0)
    _drop(q, entries[132:133])
    live = entries[133:]
    assert list(q._arrivals) == live
    assert sorted(t[2].seq for t in q._deadlines) == [e.seq for e in live]
    if priorities:
        assert sorted(t[2].seq for t in q._heap) == [e.seq for e in live]
    assert q.earliest_deadline() == 10.0 + 133
    assert _seqs(q.take(100, now=0.0, max_wait=10.0)) == [e.seq for e in live]


def test_superseded_deadlines_are_compacted():
    q = RequestQueue(priorities=False)
    a = _entry(1)
    q.push(a)
    for k in range(200):
        q.add_deadline(a, 1000.0 - k)  # each new caller's deadline is earlier: the previous record goes stale
    assert len(q._deadlines) <= 2 * 1 + 64 + 1
    assert q.earliest_deadline() == 801.0
