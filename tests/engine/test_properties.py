"""Property tests: every request is resolved exactly once, with its own answer, never across scopes, and a
caller who leaves (while its request is queued, or while the handler works on it) takes nothing from the
callers who stay.

The expected exact-match form of each sample text is written out by hand (``CANON``), not computed with the
engine's own ``normalize_text``.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from batchsieve import BatchProcessingError
from batchsieve import BatchProcessor as _BatchProcessor
from hypothesis import given, settings
from hypothesis import strategies as st


def BatchProcessor(*args, **kwargs):  # these properties are about exact dedup
    kwargs.setdefault("dedup_strategy", "exact")
    return _BatchProcessor(*args, **kwargs)


#: sample text -> its exact-match form (NFKC, case-folded, whitespace runs collapsed), by hand
CANON = {"hi": "hi", "HI ": "hi", "h i": "h i", "what's up": "what's up", "What's  up": "what's up", "bye": "bye",
         "Bye!": "bye!", "ÄBC": "äbc", "äbc": "äbc", "": ""}
_texts = st.sampled_from(sorted(CANON))
_requests = st.one_of(
    _texts,
    st.builds(lambda t: {"query": t}, _texts),
    st.builds(lambda t, m: {"query": t, "model": m}, _texts, st.sampled_from(["a", "b"])),
)
#: when a caller gives up: never, while its request is queued, or while the first handler call runs
_LEAVE = st.sampled_from([None, None, "queued", "running"])
_calls = st.lists(st.tuples(_requests, st.sampled_from([None, "alice", "bob"]), st.booleans(), _LEAVE),
                  min_size=1, max_size=40)


def _text(request) -> str:
    return request if isinstance(request, str) else request["query"]


def _model(request):
    return None if isinstance(request, str) else request.get("model")


def _identity(n: int, request, scope, dedup) -> tuple:
    """What makes two calls one handler slot: scope, canonical text, other fields; dedup=False is alone."""
    return (scope, CANON[_text(request)], _model(request)) if dedup else ("alone", n)


@settings(max_examples=150, deadline=None)
@given(calls=_calls, max_size=st.integers(1, 8), fail_marker=st.sampled_from(["bye", "hi", None]))
def test_every_request_resolved_exactly_once_with_its_own_answer(calls, max_size, fail_marker):
    """A blocker holds the only handler slot while every call is queued behind it; callers marked "queued"
    leave then, callers marked "running" leave while the next handler call (the first batch of the calls)
    is running. Everyone else gets the answer to their own question, exactly once."""
    handled: list[list] = []
    gates = [asyncio.Event(), asyncio.Event()]  # the blocker's call, then the first batch's call
    entered = [asyncio.Event(), asyncio.Event()]

    async def handler(requests):
        k = len(handled)
        handled.append(list(requests))
        if k < 2:
            entered[k].set()
            await gates[k].wait()
        out = []
        for r in requests:
            key = CANON.get(_text(r), _text(r))
            out.append(ValueError(key) if key == fail_marker else ("answer", key, _model(r)))
        return out

    async def main():
        batch = BatchProcessor(handler, window_ms=0, max_size=max_size)
        blocker = asyncio.ensure_future(batch.process("blocker"))
        async with asyncio.timeout(30):  # guards against a hang; everything here takes milliseconds
            await entered[0].wait()
            tasks = [asyncio.ensure_future(batch.process(req, scope=scope, dedup=dedup))
                     for req, scope, dedup, _ in calls]
            await asyncio.sleep(0)  # every call has run up to its wait: all are queued behind the blocker
            assert batch.get_stats().queue_depth == len(calls)
            for task, (*_, leave) in zip(tasks, calls, strict=True):
                if leave == "queued":
                    task.cancel()
            await asyncio.sleep(0)  # the cancelled callers leave (the slot is still busy: nothing dispatches)
            gates[0].set()
            assert await blocker == ("answer", "blocker", None)
            if any(leave != "queued" for *_, leave in calls):  # something is left to dispatch
                await entered[1].wait()
                for task, (*_, leave) in zip(tasks, calls, strict=True):
                    if leave == "running":
                        task.cancel()
            gates[1].set()
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            await batch.close()
        return outcomes, batch.get_stats()

    outcomes, stats = asyncio.run(main())
    for (req, _scope, _dedup, leave), outcome in zip(calls, outcomes, strict=True):
        key = CANON[_text(req)]
        if leave is not None:
            assert isinstance(outcome, asyncio.CancelledError)
        elif key == fail_marker:
            assert type(outcome) is ValueError and outcome.args == (key,)
        else:
            assert outcome == ("answer", key, _model(req))  # the answer of an equal request, never another's
    n_live = sum(1 for c in calls if c[3] is None)
    assert stats.completed_requests + stats.failed_requests == n_live + 1  # exactly one outcome each (+ blocker)
    assert stats.cancelled_requests == len(calls) - n_live
    assert stats.queue_depth == 0
    # What the handler saw, exactly. All calls arrive before their first dispatch, so each identity is one
    # slot holding its first caller's request. Slots whose every caller left while queued are dropped; the
    # first batch takes the first max_size others; after it, only the slots a caller still waits for are
    # handed over. A merge across scopes or fields would make fewer slots, a lost one more or fewer.
    ids = [_identity(n, r, s, d) for n, (r, s, d, _) in enumerate(calls)]
    first_caller: dict[tuple, int] = {}
    leaves: dict[tuple, set] = {}
    for n, (i, (*_, leave)) in enumerate(zip(ids, calls, strict=True)):
        first_caller.setdefault(i, n)
        leaves.setdefault(i, set()).add(leave)
    kept = [i for i in first_caller if leaves[i] != {"queued"}]  # in order of the first caller
    first, rest = kept[:max_size], [i for i in kept[max_size:] if None in leaves[i]]
    expected = [["blocker"]] + ([[calls[first_caller[i]][0] for i in first]] if first else []) + \
        [[calls[first_caller[i]][0] for i in rest[k:k + max_size]] for k in range(0, len(rest), max_size)]
    assert handled == expected
    assert stats.handler_requests == 1 + len(first) + len(rest)


@settings(max_examples=100, deadline=None)
@given(calls=st.lists(st.tuples(_texts, st.sampled_from(["alice", "bob", "carol"])), min_size=1, max_size=30))
def test_one_window_sends_each_scope_text_pair_exactly_once(calls):
    handled: list = []

    async def handler(requests):
        handled.extend(requests)
        return [r["query"] + "|" + r["tenant"] for r in requests]

    async def main():
        batch = BatchProcessor(handler, window_ms=0, max_size=1000)
        # the tenant is also a field so the handler can show which scope each slot came from
        results = await asyncio.gather(*[batch.process({"query": t, "tenant": s}, scope=s) for t, s in calls])
        await batch.close()
        return results

    results = asyncio.run(main())
    assert Counter((CANON[r["query"]], r["tenant"]) for r in handled) == Counter(
        set((CANON[t], s) for t, s in calls))
    for (text, scope), result in zip(calls, results, strict=True):
        answered_text, answered_scope = result.rsplit("|", 1)
        assert answered_scope == scope
        assert CANON[answered_text] == CANON[text]


def test_handler_failure_never_loses_a_request():
    async def handler(requests):
        raise RuntimeError("down")

    async def main():
        batch = BatchProcessor(handler, window_ms=0, max_size=3)
        outcomes = await asyncio.gather(*[batch.process(f"q{i % 5}") for i in range(20)], return_exceptions=True)
        await batch.close()
        return outcomes, batch.get_stats()

    outcomes, stats = asyncio.run(main())
    assert len(outcomes) == 20
    assert all(type(o) is BatchProcessingError and type(o.original) is RuntimeError for o in outcomes)
    assert stats.failed_requests == 20 and stats.completed_requests == 0
